/**
 * `spoolkit worker` as a process: loads the processors module, runs its queues, and stops on
 * SIGTERM, SIGINT or SIGHUP with a drain. When recycling or watch is asked for, this process
 * becomes a supervisor instead and runs the worker in a child (see `supervisor.ts`).
 *
 * Started with an IPC channel (by a supervisor, or by the entrypoint's `all` role), the worker
 * drains when that channel closes: its parent is gone, killed perhaps, and nothing would stop it.
 *
 * Exit codes: 0 after a drain (running jobs finished, or handed back at the shutdown timeout);
 * 1 when a second signal forced the stop; 2 for configuration errors (thrown as ConfigError).
 */
import { dirname } from 'node:path';
import { loggerOptions, resolveProcessorsPath } from '../config.js';
import { ConfigError } from '../errors.js';
import { PARENT_LINK_ENV, SIGNAL_ECHO_MS } from './signal-echo.js';
import { createLogger, type Logger } from '../log.js';
import { loadProcessorPlans, type QueuePlan } from './processor-map.js';
import { onParentGone, runSupervisor, STOP_SIGNALS, SUPERVISED_ENV, type RecycleMessage } from './supervisor.js';
import { startWorkerRuntime, type WorkerRuntime, type WorkerRuntimeOptions } from './worker-runtime.js';

/** Resolved options of `spoolkit worker`. */
export interface WorkerCommandOptions {
  /** The processors module flag, if given (else SPOOLKIT_PROCESSORS or package.json). */
  processors: string | undefined;
  /** Absolute spool root. */
  spool: string;
  /** Only these queues of the map (all when undefined). */
  queues: string[] | undefined;
  /** Concurrency for queues that do not set their own. */
  concurrency: number;
  /** Time running jobs get to finish after SIGTERM. */
  shutdownTimeoutMs: number;
  /** Time limit for jobs of queues without their own `timeoutMs`; 0 for none. */
  jobTimeoutMs: number;
  /** After a time limit, how long before the job fails anyway (and a sandbox child is killed). */
  killGraceMs: number;
  /** Recycle the worker process after this many jobs (0 = never). */
  maxJobs: number;
  /** Recycle the worker process above this resident memory (0 = never). */
  maxMemoryMb: number;
  /** Reload when processor files change. */
  watch: boolean;
  /** Log job data and results. */
  logPayloads: boolean;
  /** Role written to heartbeats. */
  role: string;
  /** Run file processors in worker threads instead of child processes. */
  useWorkerThreads: boolean;
  /** Extra core Worker options (lease and poll timings). */
  workerOptions: Record<string, unknown>;
  /** argv that starts this same command as a separate process (for supervision). */
  selfArgv: readonly string[];
}

/** How often the resident memory is compared with `maxMemoryMb`. */
const MEMORY_CHECK_MS = 1000;


/** Runs `spoolkit worker`; resolves the exit code. */
export async function runWorkerCommand(opts: WorkerCommandOptions, env: NodeJS.ProcessEnv = process.env, createWorker?: WorkerRuntimeOptions['createWorker']): Promise<number> {
  const logger = createLogger({ ...loggerOptions(env), fields: { pid: process.pid } });
  const processorsPath = resolveProcessorsPath(opts.processors, env);
  const supervised = env[SUPERVISED_ENV] === '1';
  if (!supervised && (opts.maxJobs > 0 || opts.maxMemoryMb > 0 || opts.watch)) {
    return runSupervisor({ childArgv: opts.selfArgv, env, logger: logger.child({ supervisor: true }), watchDir: opts.watch ? dirname(processorsPath) : undefined, spoolDir: opts.spool });
  }
  // A parent that forwards signals (the supervisor, the entrypoint's all role) may deliver a copy
  // of one this process also got straight; alone, a second signal is always meant.
  const forwarded = supervised || env[PARENT_LINK_ENV] === '1';
  return runWorkerProcess(opts, processorsPath, logger, { supervised, forwarded }, createWorker);
}

async function runWorkerProcess(
  opts: WorkerCommandOptions,
  processorsPath: string,
  logger: Logger,
  { supervised, forwarded }: { supervised: boolean; forwarded: boolean },
  createWorker?: WorkerRuntimeOptions['createWorker'],
): Promise<number> {
  let recycleRequested = false;
  let runtime: WorkerRuntime | undefined;
  let stop: (code: number) => void = () => undefined;
  const stopped = new Promise<number>((resolve) => {
    stop = resolve;
  });

  const recycle = (reason: RecycleMessage['reason']): void => {
    if (recycleRequested || !runtime) return;
    recycleRequested = true;
    const message: RecycleMessage = { t: 'recycle', reason, processed: runtime.processed(), rssMb: Math.round(process.memoryUsage.rss() / 1048576) };
    process.send?.(message);
    logger.info('worker:recycle-requested', { reason, processed: message.processed, rssMb: message.rssMb });
    void runtime.drain(opts.shutdownTimeoutMs).then(() => stop(0));
  };

  let signals = 0;
  let firstSignal: { signal: NodeJS.Signals; at: number } | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (forwarded && signals === 1 && firstSignal?.signal === signal && Date.now() - firstSignal.at < SIGNAL_ECHO_MS) {
      logger.info('worker:signal', { signal, action: `none: taken for the first ${signal} again (a copy forwarded by the parent process, or sent twice); another one after ${SIGNAL_ECHO_MS} ms forces` });
      return;
    }
    if (signals === 0) firstSignal = { signal, at: Date.now() };
    signals++;
    const rt = runtime;
    if (!rt) {
      // Still starting: once loaded, the command stops before starting its workers, or drains
      // (forces, after a second signal) the ones it was starting, which may have claimed jobs.
      logger.info('worker:signal', { signal, action: 'stop before start' });
      return;
    }
    if (signals === 1) {
      logger.info('worker:signal', { signal, action: 'drain', shutdownTimeoutMs: opts.shutdownTimeoutMs });
      void rt.drain(opts.shutdownTimeoutMs).then(() => stop(0));
    } else {
      logger.warn('worker:signal', { signal, action: 'force', running: rt.running() });
      void rt.forceClose().then(() => stop(1));
    }
  };

  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  // A child whose parent (supervisor or entrypoint) vanished drains instead of running on alone.
  // (One already stopping just goes on: the parent's end is no second signal.)
  const detachParent = onParentGone(forwarded, () => {
    logger.warn('worker:parent-gone', { draining: signals === 0 });
    if (signals === 0) onSignal('SIGTERM');
  });

  let plans: QueuePlan[];
  try {
    plans = await loadPlans(opts, processorsPath);
  } catch (err) {
    detach();
    throw err;
  }

  if (signals > 0) {
    await Promise.all(plans.flatMap((p) => p.sandboxes.map((sb) => sb.close())));
    stop(0);
    return finish();
  }

  const runtimeOptions: WorkerRuntimeOptions = {
    plans,
    spool: opts.spool,
    defaultConcurrency: opts.concurrency,
    defaultTimeoutMs: opts.jobTimeoutMs,
    timeoutGraceMs: opts.killGraceMs + 1000,
    role: opts.role,
    logger,
    logPayloads: opts.logPayloads,
    workerOptions: opts.workerOptions,
    onJobFinished: () => {
      if (supervised && opts.maxJobs > 0 && runtime && runtime.processed() >= opts.maxJobs) recycle('max-jobs');
    },
    ...(createWorker ? { createWorker } : {}),
  };
  let started: WorkerRuntime;
  try {
    started = await startWorkerRuntime(runtimeOptions);
  } catch (err) {
    // The runtime closed what it had started; without the signal handlers the process can exit.
    detach();
    throw err;
  }
  runtime = started;
  // Signals that came while the workers were starting (they may have claimed jobs already): one
  // drains them, two force them, as once started.
  if (signals === 1) void started.drain(opts.shutdownTimeoutMs).then(() => stop(0));
  else if (signals > 1) void started.forceClose().then(() => stop(1));

  const memoryTimer =
    supervised && opts.maxMemoryMb > 0
      ? setInterval(() => {
          if (process.memoryUsage.rss() > opts.maxMemoryMb * 1048576) recycle('max-memory');
        }, MEMORY_CHECK_MS)
      : undefined;
  memoryTimer?.unref();

  try {
    return await finish();
  } finally {
    if (memoryTimer) clearInterval(memoryTimer);
  }

  async function finish(): Promise<number> {
    try {
      const code = await stopped;
      logger.info('worker:stopped', { code, processed: runtime?.processed() ?? 0 });
      return code;
    } finally {
      detach();
    }
  }

  function detach(): void {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
    detachParent();
  }
}

async function loadPlans(opts: WorkerCommandOptions, processorsPath: string): Promise<QueuePlan[]> {
  const plans = await loadProcessorPlans(processorsPath, { useWorkerThreads: opts.useWorkerThreads, killGraceMs: opts.killGraceMs });
  if (!opts.queues) return plans;
  const known = plans.map((p) => p.queueName);
  const missing = opts.queues.filter((q) => !known.includes(q));
  if (missing.length > 0) {
    await Promise.all(plans.flatMap((p) => p.sandboxes.map((sb) => sb.close())));
    throw new ConfigError(`--queues names ${missing.map((q) => `"${q}"`).join(', ')}, not in ${processorsPath}; it has ${known.map((q) => `"${q}"`).join(', ')}.`);
  }
  return plans.filter((p) => opts.queues?.includes(p.queueName));
}
