/**
 * The worker runtime: one core `Worker` per queue of the processors map, all in this process,
 * with JSON-line logs of what happens to jobs and a drain that stops intake and waits.
 *
 * Drain (SIGTERM, recycling, reload): every Worker is paused, so it stops claiming at once, and
 * its running jobs may finish for up to `shutdownTimeoutMs`. Jobs still running then are handed
 * back: the Workers are closed with force, which aborts the jobs' signals and puts them back at
 * the front of their queue without counting the attempt, so another worker runs them at once.
 * Nothing is dropped either way.
 */
import { hostname } from 'node:os';
import { ConfigError, SpoolkitError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Worker } from '../worker.js';
import type { QueuePlan, RuntimeJob } from './processor-map.js';
import { withTimeLimit } from './time-limit.js';

/** Options for {@link startWorkerRuntime}. */
export interface WorkerRuntimeOptions {
  plans: QueuePlan[];
  /** Absolute spool root. */
  spool: string;
  /** Concurrency for queues that do not set their own. */
  defaultConcurrency: number;
  /** Time limit for jobs of queues that do not set their own; 0 for none. */
  defaultTimeoutMs: number;
  /**
   * After a time limit aborts a job of an in-process processor, how long before it fails even if
   * the processor has not returned. (A sandboxed job fails once its sandbox has killed its child.)
   */
  timeoutGraceMs: number;
  /** Written to each heartbeat as `meta.role`. */
  role: string;
  logger: Logger;
  /** Log job data and return values (off by default: payloads may hold personal data). */
  logPayloads: boolean;
  /** Extra options for every Worker (lease and poll timings). */
  workerOptions: Record<string, unknown>;
  /** Called after each job completes or fails. */
  onJobFinished?: () => void;
  /** Builds a Worker; defaults to the core Worker (tests may pass their own). */
  createWorker?: (queueName: string, processor: (job: RuntimeJob, token?: string, signal?: AbortSignal) => Promise<unknown>, opts: Record<string, unknown>) => Worker;
}

/** What a drain did. */
export interface DrainResult {
  /** True when running jobs were still going at the deadline and were handed back. */
  timedOut: boolean;
  /** Jobs running at the deadline (handed back). */
  handedBack: number;
}

/** A running set of Workers. */
export interface WorkerRuntime {
  readonly workers: readonly Worker[];
  /** Jobs completed or failed so far. */
  processed(): number;
  /** Jobs running now. */
  running(): number;
  /** Stops intake, waits up to `timeoutMs` for running jobs, then hands back the rest. */
  drain(timeoutMs: number): Promise<DrainResult>;
  /** Hands back running jobs at once (a second signal). */
  forceClose(): Promise<void>;
}

/** Starts one Worker per plan. */
export async function startWorkerRuntime(opts: WorkerRuntimeOptions): Promise<WorkerRuntime> {
  const create = opts.createWorker ?? (await defaultWorkerFactory());
  const log = opts.logger;
  let processed = 0;
  // Counted around the processor call itself, so jobs that end without a completed or failed
  // event (moved to delayed, handed back) are not left counted as running.
  let running = 0;
  const workers: Worker[] = [];

  for (const plan of opts.plans) {
    const timeoutMs = plan.timeoutMs ?? opts.defaultTimeoutMs;
    const qlog = log.child({ queue: plan.queueName });
    const processor = withTimeLimit(plan.processor, {
      timeoutMs,
      graceMs: (job) => (plan.runsInSandbox(job.name) ? Infinity : opts.timeoutGraceMs),
      onOverrun: (job) => qlog.warn('job:timeout-ignored', { jobId: job.id, job: job.name, timeoutMs, msg: 'the processor ignored its abort signal and may still be running in this process; give it as a file path (without sandbox: false) so it runs in a sandbox that can be killed' }),
    });
    const counted = (job: RuntimeJob, token?: string, signal?: AbortSignal): Promise<unknown> => {
      running++;
      return processor(job, token, signal).finally(() => {
        running--;
      });
    };
    let worker: Worker;
    try {
      worker = create(plan.queueName, counted, {
        ...opts.workerOptions,
        ...plan.workerOptions,
        spool: opts.spool,
        concurrency: plan.concurrency ?? opts.defaultConcurrency,
        heartbeatMeta: { role: opts.role, ...(plan.jobNames.length > 0 ? { jobNames: plan.jobNames } : {}) },
      });
    } catch (err) {
      await undoStart(workers, opts.plans);
      throw withQueueName(err, plan.queueName);
    }
    if (plan.sandboxes.length > 0) nameSandboxChildren(worker, plan);
    attachLogs(worker, qlog, opts.logPayloads, () => {
      processed++;
      opts.onJobFinished?.();
    });
    workers.push(worker);
  }
  log.info('worker:started', {
    pid: process.pid,
    hostname: hostname(),
    role: opts.role,
    spool: opts.spool,
    queues: opts.plans.map((p) => ({ queue: p.queueName, concurrency: p.concurrency ?? opts.defaultConcurrency, timeoutMs: p.timeoutMs ?? opts.defaultTimeoutMs, jobs: p.jobNames, catchAll: p.hasCatchAll, sandboxes: p.sandboxes.length })),
  });

  const closeSandboxes = async (): Promise<void> => {
    await Promise.all(opts.plans.flatMap((p) => p.sandboxes.map((s) => s.close(HANDBACK_CLOSE))));
  };

  let draining: Promise<DrainResult> | undefined;
  let forced: Promise<void> | undefined;
  let announceForce: () => void = () => undefined;
  const forceRequested = new Promise<'forced'>((resolve) => {
    announceForce = () => resolve('forced');
  });
  const forceClose = (): Promise<void> => {
    announceForce();
    forced ??= (async () => {
      await Promise.allSettled(workers.map((w) => w.close(true)));
      await closeSandboxes();
    })();
    return forced;
  };

  return {
    workers,
    processed: () => processed,
    running: () => running,
    drain(timeoutMs) {
      draining ??= (async () => {
        log.info('worker:draining', { running, shutdownTimeoutMs: timeoutMs });
        // Pausing stops claiming at once and resolves when the worker's running jobs are done.
        // (close() is not used for this: once a graceful close has begun it cannot be forced.)
        const graceful = Promise.allSettled(workers.map((w) => w.pause())).then(() => 'done' as const);
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), timeoutMs);
        });
        const outcome = await Promise.race([graceful, deadline, forceRequested]);
        clearTimeout(timer);
        const handedBack = outcome === 'done' ? 0 : running;
        if (outcome !== 'done') {
          log.warn('worker:handing-back', { running, reason: outcome === 'timeout' ? `still running after ${timeoutMs} ms` : 'forced' });
          await forceClose();
        } else {
          await Promise.allSettled(workers.map((w) => w.close()));
          await closeSandboxes();
        }
        log.info('worker:drained', { processed, handedBack });
        return { timedOut: outcome !== 'done', handedBack };
      })();
      return draining;
    },
    forceClose,
  };
}

/**
 * How long a sandboxed job still running when its Worker hands it back (the shutdown timeout, a
 * second signal) may take to stop after its abort before its child is killed: at most a second,
 * whatever the queue's `killGraceMs` (which bounds time limits), so the process exits within the
 * margin a platform leaves after the shutdown timeout (compose's stop_grace_period is 5 s longer,
 * a plain `docker stop` waits 10 s for the default 8 s).
 */
export const HANDBACK_KILL_GRACE_MS = 1000;
const HANDBACK_CLOSE = { killGraceMs: HANDBACK_KILL_GRACE_MS } as const;

/**
 * Has the Worker treat the plan's sandboxes as its own: it names their child processes in its
 * heartbeat, and a forced close hands a job back only once they have stopped.
 */
function nameSandboxChildren(worker: Worker, plan: QueuePlan): void {
  // A Worker from a test's createWorker may lack the method.
  const w = worker as Partial<Pick<Worker, 'reportSandboxChildren'>>;
  if (typeof w.reportSandboxChildren !== 'function') return;
  const close = async (): Promise<void> => {
    await Promise.all(plan.sandboxes.map((s) => s.close(HANDBACK_CLOSE)));
  };
  plan.sandboxChildren.onChange(w.reportSandboxChildren.call(worker, () => plan.sandboxChildren.pids(), close));
}

type JobLike = { id?: string | undefined; name?: string; data?: unknown; attemptsMade?: number; attemptsStarted?: number; opts?: { attempts?: number }; processedOn?: number; finishedOn?: number; failedReason?: string; returnvalue?: unknown };

function attachLogs(worker: Worker, log: Logger, logPayloads: boolean, onFinished: () => void): void {
  const emitter = worker as unknown as { on(event: string, fn: (...args: unknown[]) => void): unknown };
  emitter.on('active', (...args) => {
    const job = args[0] as JobLike;
    log.info('job:claimed', { jobId: job.id, job: job.name, attempt: (job.attemptsMade ?? 0) + 1, ...(logPayloads ? { data: job.data } : {}) });
  });
  emitter.on('completed', (...args) => {
    const job = args[0] as JobLike;
    onFinished();
    const durationMs = job.processedOn !== undefined && job.finishedOn !== undefined ? job.finishedOn - job.processedOn : undefined;
    log.info('job:completed', { jobId: job.id, job: job.name, durationMs, ...(logPayloads ? { result: args[1] } : {}) });
  });
  emitter.on('failed', (...args) => {
    const job = args[0] as JobLike | undefined;
    const err = args[1] as Error | undefined;
    if (job) onFinished();
    const attempts = job?.opts?.attempts ?? 1;
    const attemptsMade = job?.attemptsMade ?? 0;
    log.warn('job:failed', {
      jobId: job?.id,
      job: job?.name,
      attemptsMade,
      attempts,
      willRetry: job?.finishedOn === undefined && attemptsMade < attempts,
      reason: err?.message ?? job?.failedReason,
      err,
      ...(logPayloads ? { data: job?.data } : {}),
    });
  });
  emitter.on('stalled', (...args) => {
    log.warn('lease:reclaimed', { jobId: args[0], previous: args[1] });
  });
  emitter.on('error', (...args) => {
    log.error('worker:error', { err: args[0] });
  });
}

/**
 * A Worker could not be made: the ones already made are closed (their running jobs finish) and
 * every sandbox is stopped, so the process can exit with the error. They were left running: the
 * process went on taking jobs after it reported the error, and no signal stopped it.
 */
async function undoStart(workers: readonly Worker[], plans: readonly QueuePlan[]): Promise<void> {
  await Promise.allSettled(workers.map((w) => w.close()));
  await Promise.allSettled(plans.flatMap((p) => p.sandboxes.map((s) => s.close())));
}

/** A config error of one queue's Worker options, with the queue named (the message named only the option). */
function withQueueName(err: unknown, queueName: string): unknown {
  if (!(err instanceof SpoolkitError) || err.code !== 'ERR_CONFIG') return err;
  return new ConfigError(`Queue "${queueName}" of the processors module: ${err.message}`, { cause: err });
}

async function defaultWorkerFactory(): Promise<NonNullable<WorkerRuntimeOptions['createWorker']>> {
  const { Worker: CoreWorker } = await import('../worker.js');
  return (queueName, processor, opts) => new CoreWorker(queueName, processor as never, opts as never);
}
