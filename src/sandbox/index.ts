/**
 * Sandboxed processors: a processor given as a file runs in a child process (or a worker thread),
 * so a job that blocks its event loop cannot starve the lease heartbeats of the other jobs, and a
 * job that will not stop can be killed without taking the worker down.
 *
 * Children are pooled and reused; each runs one job at a time. While a job runs, its child may
 * call `job.updateProgress`, `job.log`, `job.updateData`, `job.moveToDelayed` and
 * `job.moveToWait`; each call is carried out on the real job in the host and its result returned.
 * The host waits for those calls before it reports the job's outcome.
 *
 * Abort: when the job's signal fires (time limit, lost lease, forced close), the child's signal
 * fires too. A child that has not finished `killGraceMs` later is killed and replaced, and the
 * job fails with a reason saying so; it then retries or fails per its `attempts`, like any
 * failure.
 *
 * Recycling: a child is retired after `maxJobsPerChild` jobs, or when its resident memory after a
 * job exceeds `maxMemoryMb`; the next job starts a fresh child. Nothing is dropped: a child is
 * only retired between jobs, and it is asked to exit (killed only `killGraceMs` later), so what it
 * wrote to stdout and stderr is not lost.
 */
import { ConfigError } from '../errors.js';
import { MAX_TIMER_MS } from '../spool/defaults.js';
import { launchChild, type ChildHandle } from './child-handle.js';
import { processorFilePath } from './processor-path.js';
import { deserializeError, serializeError } from '../serialized-error.js';
import { PROXIED_METHODS, type ChildMessage, type JobSnapshot, type ProxiedMethod } from './protocol.js';

export { PROXIED_METHODS } from './protocol.js';

/** The parts of a job a sandboxed processor reaches through the proxy. */
export interface SandboxHostJob {
  readonly id?: string | undefined;
  readonly name: string;
  data: unknown;
  updateProgress(value: unknown): Promise<unknown>;
  log(row: string): Promise<unknown>;
  updateData(data: unknown): Promise<unknown>;
  moveToDelayed(timestamp: number, token?: string): Promise<unknown>;
  moveToWait?(token?: string): Promise<unknown>;
}

/** Options for {@link createSandboxedProcessor}. */
export interface SandboxOptions {
  /** Run in worker threads instead of child processes. Default false (child processes). */
  useWorkerThreads?: boolean;
  /** After the job's signal aborts, how long the child may take to finish before it is killed. Default 5000. */
  killGraceMs?: number;
  /** Retire a child after this many jobs (0 = never). Default 0. */
  maxJobsPerChild?: number;
  /** Retire a child whose resident memory exceeds this after a job (0 = never). Default 0. */
  maxMemoryMb?: number;
  /** Stop a child that has been idle this long (0 = keep). Default 60000. */
  idleTimeoutMs?: number;
  /** Extra Node flags for child processes (ignored for worker threads). */
  execArgv?: string[];
  /** Environment for child processes; defaults to this process's environment. */
  env?: NodeJS.ProcessEnv;
  /**
   * Called when a child has started (before it is given a job) and when one has ended. A Worker
   * names its children in its heartbeat: a child outlives its process when that is killed (it
   * leaves once it notices, after the code it runs yields), and its jobs must not run elsewhere
   * meanwhile.
   */
  onChildrenChange?: () => void;
}

/** A processor that runs a file in a sandbox, plus `close()` to stop its children. */
export interface SandboxedProcessor {
  (job: SandboxHostJob, token?: string, signal?: AbortSignal): Promise<unknown>;
  /**
   * Stops every child. A job still running is aborted first: its processor's signal fires, and its
   * child is killed `killGraceMs` later (or `options.killGraceMs`, when shorter: a shutdown
   * bounded by a platform's grace period) if the job has not ended by then. Resolves once every
   * child has exited.
   */
  close(options?: { killGraceMs?: number }): Promise<void>;
  /** Live counts, for logs and tests. */
  stats(): SandboxStats;
}

/** Counters of one sandboxed processor. */
export interface SandboxStats {
  /** Children alive now. */
  children: number;
  /** Children started since creation. */
  started: number;
  /** Children killed because they did not stop after abort. */
  killed: number;
  /** Children retired by `maxJobsPerChild` or `maxMemoryMb`. */
  recycled: number;
  /** Process ids of live children (this process's pid for threads). */
  pids: (number | undefined)[];
}

interface PooledChild {
  handle: ChildHandle;
  jobsRun: number;
  busy: boolean;
  idleTimer: NodeJS.Timeout | undefined;
  /** Set while a job runs: settles it when the child exits under it. */
  onExitDuringRun: ((code: number | null, signal: string | null) => void) | undefined;
  /** Set while a job runs: handles its messages. */
  onRunMessage: ((message: ChildMessage) => void) | undefined;
  initError: Error | undefined;
  /** Resolves once the child has exited. */
  gone: Promise<void>;
  /** Set while a job runs: aborts it (its processor's signal fires; the child is killed `killGraceMs` later if still running). */
  abortRun: ((reason: unknown, graceMs?: number) => void) | undefined;
}

const JOB_FIELDS = [
  'id', 'name', 'data', 'opts', 'progress', 'delay', 'timestamp', 'attemptsMade', 'attemptsStarted',
  'stalledCounter', 'priority', 'processedOn', 'finishedOn', 'failedReason', 'stacktrace', 'returnvalue',
  'queueName', 'parentKey', 'repeatJobKey', 'token', 'processedBy', 'deduplicationId',
] as const;

/** Copies the job's plain fields, leaving out anything that cannot cross a boundary. */
export function snapshotJob(job: SandboxHostJob): JobSnapshot {
  const source = job as unknown as Record<string, unknown>;
  const out: JobSnapshot = {};
  for (const key of JOB_FIELDS) {
    const value = source[key];
    if (value !== undefined && typeof value !== 'function') out[key] = value;
  }
  try {
    return structuredClone(out);
  } catch {
    return JSON.parse(JSON.stringify(out)) as JobSnapshot;
  }
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new ConfigError(`Sandbox option ${name} must be a number >= 0, got ${String(value)}`);
  if (value > MAX_TIMER_MS) throw new ConfigError(`Sandbox option ${name} must be at most ${MAX_TIMER_MS} ms (the longest Node timer, about 24.8 days), got ${String(value)}`);
  return value;
}

/**
 * Returns a processor that runs `file`'s default export (or `module.exports`) in a pooled child
 * process or worker thread. See the module comment for abort, kill and recycling rules.
 */
export function createSandboxedProcessor(file: string | URL, opts: SandboxOptions = {}): SandboxedProcessor {
  const path = processorFilePath(file);
  const useWorkerThreads = opts.useWorkerThreads ?? false;
  const killGraceMs = nonNegative('killGraceMs', opts.killGraceMs, 5000);
  const maxJobsPerChild = nonNegative('maxJobsPerChild', opts.maxJobsPerChild, 0);
  const maxMemoryBytes = nonNegative('maxMemoryMb', opts.maxMemoryMb, 0) * 1024 * 1024;
  const idleTimeoutMs = nonNegative('idleTimeoutMs', opts.idleTimeoutMs, 60_000);
  const idle: PooledChild[] = [];
  const all = new Set<PooledChild>();
  /** Children asked to exit and not gone yet: close() waits for them too. */
  const leaving = new Set<PooledChild>();
  const counters = { started: 0, killed: 0, recycled: 0 };
  let closed = false;
  let nextRunId = 1;

  /**
   * Takes a child out of the pool. A healthy one between jobs is asked to exit, so what it wrote
   * is flushed (a thread's output travels through its host), and killed only if it is still there
   * `killGraceMs` later; one that must not run on (aborted, crashed) is killed at once.
   */
  const retire = (child: PooledChild, how: 'stop' | 'kill'): void => {
    if (child.idleTimer) clearTimeout(child.idleTimer);
    const i = idle.indexOf(child);
    if (i >= 0) idle.splice(i, 1);
    all.delete(child);
    if (how === 'kill') {
      child.handle.kill();
      return;
    }
    child.handle.send({ t: 'stop' });
    leaving.add(child);
    const killer = setTimeout(() => child.handle.kill(), killGraceMs);
    void child.gone.then(() => {
      clearTimeout(killer);
      leaving.delete(child);
    });
  };

  const spawnChild = (): PooledChild => {
    const handle = launchChild({ file: path, useWorkerThreads, execArgv: opts.execArgv ?? [], env: opts.env });
    counters.started++;
    const child: PooledChild = { handle, jobsRun: 0, busy: false, idleTimer: undefined, onExitDuringRun: undefined, onRunMessage: undefined, initError: undefined, abortRun: undefined, gone: new Promise((done) => handle.onExit(() => done())) };
    all.add(child);
    opts.onChildrenChange?.();
    handle.onMessage((message) => {
      if (message.t === 'init-error') {
        child.initError = deserializeError(message.error);
        // The run (if any) learns it through its own message handler below.
      }
      child.onRunMessage?.(message);
    });
    handle.onExit((code, signal) => {
      all.delete(child);
      const i = idle.indexOf(child);
      if (i >= 0) idle.splice(i, 1);
      if (child.idleTimer) clearTimeout(child.idleTimer);
      child.onExitDuringRun?.(code, signal);
      opts.onChildrenChange?.();
    });
    return child;
  };

  const acquire = (): PooledChild => {
    while (idle.length > 0) {
      const child = idle.pop() as PooledChild;
      if (child.idleTimer) clearTimeout(child.idleTimer);
      child.idleTimer = undefined;
      if (!child.handle.exited) return child;
    }
    return spawnChild();
  };

  const release = (child: PooledChild, rssBytes: number | undefined): void => {
    child.busy = false;
    child.onRunMessage = undefined;
    child.onExitDuringRun = undefined;
    if (child.handle.exited) return;
    const tooMany = maxJobsPerChild > 0 && child.jobsRun >= maxJobsPerChild;
    const tooBig = maxMemoryBytes > 0 && rssBytes !== undefined && rssBytes > maxMemoryBytes && !useWorkerThreads;
    if (closed || tooMany || tooBig || child.initError) {
      if (!closed && !child.initError) counters.recycled++;
      retire(child, 'stop');
      return;
    }
    if (idleTimeoutMs > 0) {
      child.idleTimer = setTimeout(() => retire(child, 'stop'), idleTimeoutMs);
      child.idleTimer.unref();
    }
    idle.push(child);
  };

  const run = (job: SandboxHostJob, token?: string, signal?: AbortSignal): Promise<unknown> => {
    if (closed) return Promise.reject(new Error(`The sandboxed processor for ${path} is closed`));
    const child = acquire();
    child.busy = true;
    child.jobsRun++;
    const runId = nextRunId++;
    const pendingCalls = new Set<Promise<unknown>>();

    return new Promise<unknown>((resolve, reject) => {
      let settled = false;
      let killTimer: NodeJS.Timeout | undefined;
      let killAt = Infinity;
      let firstCause: unknown;
      let abortedAt = 0;
      const abortRun = (cause: unknown, graceMs = killGraceMs): void => {
        const now = Date.now();
        if (killTimer === undefined) {
          child.handle.send({ t: 'abort', runId, reason: serializeError(cause ?? new Error('aborted')) });
          firstCause = cause;
          abortedAt = now;
        }
        // A later, shorter grace (a close during shutdown after the job's own abort) wins.
        const at = now + graceMs;
        if (at >= killAt) return;
        killAt = at;
        if (killTimer) clearTimeout(killTimer);
        killTimer = setTimeout(() => {
          counters.killed++;
          const reason = firstCause instanceof Error ? firstCause.message : 'aborted';
          finish(() => reject(new Error(`The sandboxed processor ${path} did not stop within ${killAt - abortedAt} ms after its job was aborted (${reason}); its child was killed`, { cause: firstCause })), undefined, true);
        }, graceMs);
      };
      const onAbort = (): void => abortRun(signal?.reason);
      child.abortRun = abortRun;
      const finish = (settle: () => void, rssBytes: number | undefined, kill = false): void => {
        if (settled) return;
        settled = true;
        if (killTimer) clearTimeout(killTimer);
        signal?.removeEventListener('abort', onAbort);
        child.abortRun = undefined;
        if (kill) {
          retire(child, 'kill');
          child.busy = false;
          child.onRunMessage = undefined;
          child.onExitDuringRun = undefined;
        } else {
          release(child, rssBytes);
        }
        // Proxied calls the processor did not await still finish before the outcome is reported,
        // and a killed child is dead before it is: a retry must not run next to it.
        void Promise.allSettled([...pendingCalls, ...(kill ? [child.gone] : [])]).then(settle);
      };

      child.onExitDuringRun = (code, sig) => {
        const uncaught = child.handle.lastError ? `: ${child.handle.lastError.message}` : '';
        const how = (sig ? `signal ${sig}` : `code ${String(code)}`) + uncaught;
        finish(() => reject(child.initError ?? new Error(`The sandboxed processor ${path} exited while running job ${String(job.id)} (${how})`)), undefined, true);
      };
      child.onRunMessage = (message) => {
        switch (message.t) {
          case 'ready':
            return;
          case 'init-error':
            finish(() => reject(child.initError ?? deserializeError(message.error)), undefined, true);
            return;
          case 'call': {
            if (message.runId !== runId) return;
            const p = invoke(job, message.method, message.args);
            pendingCalls.add(p);
            p.then(
              (value) => child.handle.send({ t: 'reply', callId: message.callId, ok: true, value: cloneable(value) }),
              (err: unknown) => child.handle.send({ t: 'reply', callId: message.callId, ok: false, error: serializeError(err) }),
            ).finally(() => pendingCalls.delete(p));
            return;
          }
          case 'done':
            if (message.runId !== runId) return;
            if (message.ok) finish(() => resolve(message.value), message.rssBytes);
            else {
              const error = deserializeError(message.error);
              // A child that crashed is exiting: it must not take another job.
              finish(() => reject(error), message.rssBytes, message.fatal === true);
            }
            return;
          default: {
            const never: never = message;
            void never;
          }
        }
      };

      if (child.initError) {
        finish(() => reject(child.initError), undefined, true);
        return;
      }
      if (signal?.aborted) {
        finish(() => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted before start')), undefined);
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      child.handle.send({ t: 'run', runId, job: snapshotJob(job), token });
    });
  };

  const processor = run as SandboxedProcessor;
  processor.close = async (options = {}) => {
    closed = true;
    const closedError = new Error(`The sandboxed processor for ${path} was closed`);
    const graceMs = Math.min(killGraceMs, nonNegative('killGraceMs', options.killGraceMs, killGraceMs));
    for (const child of [...all]) {
      // A running job is aborted first, so its processor can stop (and end what it started);
      // its child ends when the job does, or is killed graceMs later.
      if (child.abortRun) child.abortRun(closedError, graceMs);
      else retire(child, 'stop');
    }
    await Promise.all([...all, ...leaving].map((child) => child.gone));
  };
  processor.stats = () => ({ children: all.size, started: counters.started, killed: counters.killed, recycled: counters.recycled, pids: [...all].map((c) => c.handle.pid) });
  return processor;
}

async function invoke(job: SandboxHostJob, method: ProxiedMethod, args: unknown[]): Promise<unknown> {
  if (!PROXIED_METHODS.includes(method)) throw new Error(`job.${String(method)} is not available in a sandboxed processor`);
  const fn = (job as unknown as Record<string, unknown>)[method];
  if (typeof fn !== 'function') throw new Error(`job.${method} is not supported by this job`);
  return (fn as (...a: unknown[]) => unknown).apply(job, args);
}

function cloneable(value: unknown): unknown {
  if (value === undefined || value === null || typeof value !== 'object') return typeof value === 'function' ? undefined : value;
  try {
    return structuredClone(value);
  } catch {
    return undefined;
  }
}
