/**
 * `Worker`: BullMQ's consumer API over a spool directory.
 *
 * The loop: claim as many jobs as there are free slots (never more, so no lease ticks for a job
 * waiting in memory), hand them to a fastq pool, and sleep until a slot frees, a file-change event
 * arrives on the queue's event directory (another process added work), a due delayed job or the
 * stalled check is due, or the poll interval passes (file-change events can be lost on some
 * mounts; polling is the floor). Leases are renewed every `lockRenewTime`; a lost lease fires the
 * job's AbortSignal. A heartbeat file describes the worker to `spoolkit health` and `ps`.
 */
import { EventEmitter } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import fastq from 'fastq';
import { ConfigError, RateLimitError, SpoolkitError, UnrecoverableError, UsageError } from './errors.js';
import type { Job } from './job.js';
import { executeRun, finishManualRun, startRun, type ProcessingContext, type RunOutcome, type RunningJob } from './processing.js';
import { addManualRun, findManualRun, removeManualRun, type ManualRun } from './manual-runs.js';
import { registerInlineWorker, runWaitingInline, unregisterInlineWorker } from './inline.js';
import { CLAIM_OWNER, Claimer, closeClaim, type Claim, type CorruptFile } from './spool/claim.js';
import { DEFAULT_RESCAN_MS } from './scheduler/defaults.js';
import { hasSchedulers } from './scheduler/presence.js';
import { processorFilePath } from './sandbox/processor-path.js';
import {
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_LOCK_DURATION_MS,
  DEFAULT_MAX_STALLED_COUNT,
  DEFAULT_POLL_INTERVAL_MS,
  DEFAULT_STALLED_INTERVAL_MS,
  MAX_TIMER_MS,
} from './spool/defaults.js';
import { isDrained } from './spool/counts.js';
import { PROCESS_TAG } from './spool/keys.js';
import { abandoned, readHeartbeats, removeHeartbeat, writeHeartbeat, type WorkerHeartbeat } from './spool/heartbeat.js';
import { renewLease } from './spool/lease.js';
import { keepProblem } from './spool/job-options.js';
import { inlineFromEnv, openQueueStore } from './spool/open.js';
import { promoteDue } from './spool/promote.js';
import { pruneIdRanges } from './spool/id-index.js';
import { LIVENESS_TAG, PID_NAMESPACE, livenessTagOf, processOfTagGone, taggedProcessGone } from './spool/process-gone.js';
import { reclaimStalled } from './spool/reclaim.js';
import { DirWatch } from './spool/dir-watch.js';
import { requeue, unclaim } from './spool/finish.js';
import { assertRateLimitMs, RateLimiter, rateLimitProblem, readGlobalRateLimit, type GlobalRateLimit } from './spool/rate-limit.js';
import { readGlobalConcurrency, withClaimRoom } from './spool/global-concurrency.js';
import { frontRoute } from './spool/routing.js';
import { MAX_METRICS_DATA_POINTS, MetricsRecorder } from './spool/metrics.js';
import type { QueueStore } from './spool/store.js';
import { IN_PROCESS_RETENTION_BUDGET, runRetention } from './spool/retention.js';
import { countOnThread, runRetentionOnThread } from './spool/retention-thread.js';
import { isDue, readPublishedCounts, WORKER_CHECK_MS } from './spool/published-counts.js';
import { emptyTrash, hasParked } from './spool/trash.js';
import { removeObliterateLeftovers } from './spool/obliterate-leftovers.js';
import type { Processor, WorkerOptions } from './types.js';
import { numberLike } from './arg-value.js';

const SCHEDULER_MODULE = './scheduler/index.js';
/**
 * Jobs finished since the last retention pass from which the next pass runs on the retention
 * thread. Low: at 200 jobs/s a pass here cost about 6 ms of the loop once a second, while the
 * jobs arriving meanwhile waited.
 */
const RETENTION_THREAD_MIN_JOBS = 40;
/** How soon a worker under a global concurrency tries again when another process holds the claim lock. */
const CLAIM_LOCK_RETRY_MS = 2;
/** How often a Worker reports metrics counts it could not write (a full disk fails every finish). */
const METRICS_ERROR_EVERY_MS = 60_000;
/** How often an idle Worker looks for what an obliterate killed midway left (obliterate-leftovers.ts). */
const LEFTOVER_LOOK_MS = 60_000;
/**
 * An add logs its jobs' events just before the renames that make them visible: a worker woken by
 * the log may look too early. An empty look after such a wake is repeated after these delays.
 */
const LOG_WAKE_RECHECKS_MS = [2, 20, 100];
/** The least time between heartbeat writes made early because the worker went idle. */
const IDLE_HEARTBEAT_MIN_GAP_MS = 250;

let workerCounter = 0;

/** Resolved worker settings. */
interface Settings {
  concurrency: number;
  lockDurationMs: number;
  lockRenewMs: number;
  stalledIntervalMs: number;
  maxStalledCount: number;
  heartbeatIntervalMs: number;
  pollIntervalMs: number;
  /** The Worker's own `limiter` (a global rate limit's `max` overrides its `max`). */
  limiter: { max: number; durationMs: number } | undefined;
  maximumRateLimitDelayMs: number;
  /** `metrics.maxDataPoints`: finishes are counted per minute when set. */
  metricsMaxDataPoints: number | undefined;
  /** How long a blocking getNextJob waits for a job (`drainDelay`, in seconds). */
  drainDelayMs: number;
  /** `maxStartedAttempts`, as a number (unset or null: no limit). */
  maxStartedAttempts: number | undefined;
}

/**
 * BullMQ's DEFAULT for `maximumRateLimitDelay`: the longest a rate-limited worker sleeps before
 * looking again (so it still promotes delayed jobs and notices a removed limit).
 */
const DEFAULT_MAXIMUM_RATE_LIMIT_DELAY_MS = 30_000;

/** Checks and resolves the `limiter` option. */
function resolveLimiter(v: WorkerOptions['limiter']): Settings['limiter'] {
  if (v === undefined) return undefined;
  const problem = typeof v === 'object' && v !== null ? rateLimitProblem(v.max, v.duration) : 'it must be an object';
  if (problem) throw new ConfigError(`Worker option \`limiter\`: ${problem}. Fix the Worker's options: { limiter: { max: 10, duration: 1000 } } starts at most 10 jobs a second across every worker of the queue.`);
  return { max: v.max, durationMs: Math.floor(v.duration) };
}

/** Checks the `metrics` option: as in BullMQ, metrics are collected only when `maxDataPoints` is set. */
function resolveMetrics(v: WorkerOptions['metrics']): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'object' && v !== null ? v.maxDataPoints : v;
  if (n === undefined || n === 0) return undefined;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_METRICS_DATA_POINTS) {
    throw new ConfigError(
      `Worker option \`metrics\`: \`maxDataPoints\` must be a whole number of minutes from 1 to ${MAX_METRICS_DATA_POINTS}, got \`${String(n)}\`. Fix the Worker's options: { metrics: { maxDataPoints: MetricsTime.ONE_WEEK } } keeps a week of per-minute counts.`,
    );
  }
  return n;
}

function positiveInt(v: unknown, name: string, dflt: number, min = 1): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new ConfigError(`Expected \`${name}\` to be a number >= ${min}, got \`${String(v)}\`.`);
  return v;
}

/** As {@link positiveInt}, for an option that sets a timer: at most {@link MAX_TIMER_MS}. */
function timerMs(v: unknown, name: string, dflt: number, min = 1): number {
  const ms = positiveInt(v, name, dflt, min);
  if (ms > MAX_TIMER_MS) throw new ConfigError(`Expected \`${name}\` to be at most ${MAX_TIMER_MS} ms (about 24.8 days: a longer Node timer fires at once), got \`${String(v)}\`.`);
  return ms;
}

/** Checks a Worker's `removeOnComplete` / `removeOnFail` with a job's rules. */
function checkWorkerKeep(v: unknown, name: 'removeOnComplete' | 'removeOnFail'): void {
  const problem = keepProblem(v, name);
  if (problem) throw new ConfigError(`Worker option ${problem} Fix the Worker's options: { count: n } keeps the newest n, { age: s } those younger than s seconds, { count: -1 } or false keeps all.`);
}

/**
 * `maxStartedAttempts`, checked: a job is failed once it has started more times than this, so -1
 * would fail every job at its first start (BullMQ refuses a negative one). As in BullMQ, null is
 * no limit and a string of digits is its number ('5' from an environment variable).
 */
function maxStartedAttemptsOf(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = numberLike(v);
  if (n >= 0) return n;
  throw new ConfigError(`Expected \`maxStartedAttempts\` to be a number >= 0, got \`${String(v)}\`. Fix the Worker's options: { maxStartedAttempts: 5 } fails a job started more than 5 times; leave it out (or 0) for no limit.`);
}

/**
 * Checks `settings`: its `backoffStrategy`, when given, is the function a custom backoff type
 * calls at each retry. Null is none, as in BullMQ (`opts.settings && ...`).
 */
function checkWorkerSettings(v: unknown): void {
  const example = "Fix the Worker's options: { settings: { backoffStrategy: (attemptsMade, type, err, job) => delayMs } }.";
  if (v === undefined || v === null) return;
  if (typeof v !== 'object') throw new ConfigError(`Worker option \`settings\` must be an object, got \`${String(v)}\`. ${example}`);
  const strategy = (v as { backoffStrategy?: unknown }).backoffStrategy;
  if (strategy !== undefined && typeof strategy !== 'function') {
    throw new ConfigError(`Worker option \`settings.backoffStrategy\` must be a function, got ${typeof strategy}; a retry of a job with a custom backoff type would fail. ${example}`);
  }
}

/** `drainDelay` (seconds) in ms: a blocking getNextJob waits that long, so it must fit a Node timer. */
function drainDelayMs(v: unknown): number {
  const ms = positiveInt(v, 'drainDelay', 5, 0) * 1000;
  if (ms > MAX_TIMER_MS) throw new ConfigError(`Expected \`drainDelay\` to be at most ${Math.floor(MAX_TIMER_MS / 1000)} seconds (a longer Node timer fires at once), got \`${String(v)}\`.`);
  return ms;
}

/**
 * A lease must be renewed before it expires: with lockRenewTime at or past lockDuration every
 * running job looked stalled to the other workers, ran again there and failed as stalled.
 * BullMQ accepts it and does the same.
 */
function checkLockRenewal(renewMs: number, durationMs: number, skipRenewal: boolean): void {
  if (skipRenewal || renewMs < durationMs) return;
  throw new ConfigError(`Expected \`lockRenewTime\` (${renewMs} ms) to be below \`lockDuration\` (${durationMs} ms): a lease renewed after it expires lets another worker run the job again. Leave lockRenewTime out (it defaults to half of lockDuration) or lower it.`);
}

/**
 * The options with the values BullMQ reads as "not given" left out: `removeOnComplete` and
 * `removeOnFail` given as null (falsy there, so the defaults apply), and `lockRenewTime` given as
 * null or 0 (`lockRenewTime || lockDuration / 2`). A copy; the caller's object is not changed.
 */
function withoutUnsetValues(opts: WorkerOptions): WorkerOptions {
  const out: Record<string, unknown> = { ...opts };
  if (out.removeOnComplete === null) delete out.removeOnComplete;
  if (out.removeOnFail === null) delete out.removeOnFail;
  if (out.lockRenewTime === null || out.lockRenewTime === 0) delete out.lockRenewTime;
  return out as WorkerOptions;
}

function resolveSettings(opts: WorkerOptions): Settings {
  checkWorkerKeep(opts.removeOnComplete, 'removeOnComplete');
  checkWorkerKeep(opts.removeOnFail, 'removeOnFail');
  checkWorkerSettings(opts.settings);
  const maxStartedAttempts = maxStartedAttemptsOf(opts.maxStartedAttempts);
  const lockDurationMs = timerMs(opts.lockDuration, 'lockDuration', DEFAULT_LOCK_DURATION_MS);
  const lockRenewMs = timerMs(opts.lockRenewTime, 'lockRenewTime', Math.max(1, Math.floor(lockDurationMs / 2)));
  if (opts.lockRenewTime !== undefined) checkLockRenewal(lockRenewMs, lockDurationMs, opts.skipLockRenewal === true);
  return {
    concurrency: Math.floor(positiveInt(opts.concurrency, 'concurrency', 1)),
    lockDurationMs,
    lockRenewMs,
    stalledIntervalMs: timerMs(opts.stalledInterval, 'stalledInterval', DEFAULT_STALLED_INTERVAL_MS),
    maxStalledCount: positiveInt(opts.maxStalledCount, 'maxStalledCount', DEFAULT_MAX_STALLED_COUNT, 0),
    heartbeatIntervalMs: timerMs(opts.heartbeatIntervalMs, 'heartbeatIntervalMs', DEFAULT_HEARTBEAT_INTERVAL_MS),
    pollIntervalMs: timerMs(opts.pollIntervalMs, 'pollIntervalMs', DEFAULT_POLL_INTERVAL_MS),
    limiter: resolveLimiter(opts.limiter),
    maximumRateLimitDelayMs: timerMs(opts.maximumRateLimitDelay, 'maximumRateLimitDelay', DEFAULT_MAXIMUM_RATE_LIMIT_DELAY_MS),
    metricsMaxDataPoints: resolveMetrics(opts.metrics),
    drainDelayMs: drainDelayMs(opts.drainDelay),
    maxStartedAttempts,
  };
}

/** Per-second ring of completions and failures for the last minute. */
class MinuteCounter {
  /** Per slot (second % 60): the second it counts, then completions and failures in it. Updated in place (once per job). */
  private readonly secs = new Float64Array(60);
  private readonly counts = [new Uint32Array(60), new Uint32Array(60)] as const;
  add(kind: 0 | 1, nowMs = Date.now()): void {
    const sec = Math.floor(nowMs / 1000);
    const i = sec % 60;
    if (this.secs[i] !== sec) {
      this.secs[i] = sec;
      this.counts[0][i] = 0;
      this.counts[1][i] = 0;
    }
    this.counts[kind][i]!++;
  }
  sums(nowMs = Date.now()): { completed: number; failed: number } {
    const sec = Math.floor(nowMs / 1000);
    let completed = 0;
    let failed = 0;
    for (let i = 0; i < 60; i++) {
      if (sec - this.secs[i]! < 60) {
        completed += this.counts[0][i]!;
        failed += this.counts[1][i]!;
      }
    }
    return { completed, failed };
  }
}

export class Worker<DataType = any, ResultType = any, NameType extends string = string> extends EventEmitter {
  /** Queue name. */
  readonly name: string;
  readonly opts: WorkerOptions;
  /** Unique id of this worker (its heartbeat file name). */
  readonly id: string;
  /** @internal */
  readonly store: QueueStore;
  private readonly settings: Settings;
  private processorFn: Processor | undefined;
  private readonly processorFile: string | URL | undefined;
  private sandbox: { close(): Promise<void> } | undefined;
  /** Pids of the sandbox's child processes, when the processor runs in them. */
  private sandboxPids: (() => (number | undefined)[]) | undefined;
  /** Stops the sandbox children that run this Worker's jobs (its own sandbox's, or the runtime's). */
  private closeSandboxes: (() => Promise<void>) | undefined;
  /** A forced close putting the running jobs back. */
  private releasing: Promise<void> | undefined;
  private readonly claimer: Claimer;
  private readonly inflight = new Map<string, RunningJob>();
  private readonly pool: fastq.queueAsPromised<RunningJob, void>;
  private readonly ctx: ProcessingContext;
  private readonly manualCtx: ProcessingContext;
  /** Counts finishes per minute (the `metrics` option). */
  private metricsRecorder: MetricsRecorder | undefined;
  /** Jobs fetched with getNextJob and not ended yet. */
  private readonly manualRuns = new Set<ManualRun>();
  /** The last getNextJob found nothing: the next one with `block` waits (BullMQ's `drained`). */
  private manualDrained = false;
  /** Blocking getNextJob calls waiting now: only then does a wake-up tell them. */
  private fetchesWaiting = 0;
  private stalledTimerStarted = false;
  private heartbeatStarted = false;
  private watching = false;
  private readonly startedAt = Date.now();
  private readonly recent = new MinuteCounter();
  private readonly inline: boolean;
  private running: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private stopping = false;
  private pausedLocal = false;
  /** A waiting pause() saw the running jobs end: the loop counts as stopped (isRunning). */
  private pauseSettled = false;
  /** `concurrency` as given (jobs run at its whole part). */
  private concurrencyAsGiven: number;
  private wakeUp: (() => void) | undefined;
  private wakePending = false;
  /** Looks still to repeat after the last wake by the event log (LOG_WAKE_RECHECKS_MS), and when the next one is due (0: none). */
  private logWakeRechecks: number[] = [];
  private logRecheckAt = 0;
  private watch: DirWatch | undefined;
  private timers: NodeJS.Timeout[] = [];
  private processed = 0;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** When the heartbeat file was last written (ms). */
  private lastHeartbeatAt = 0;
  private failedCount = 0;
  private nextStalledCheck = 0;
  private nextDelayedCheck = 0;
  private nextSchedulerRun = 0;
  private nextRetention = 0;
  private trashEmptying: Promise<void> | undefined;
  private nextLeftoverLook = 0;
  /** This Worker's pass on the retention thread, while it runs, and how to stop it (on close). */
  private threadPass: { done: Promise<void>; abort: AbortController } | undefined;
  /** A count of the queue this Worker asked the helper thread for, while it runs. */
  private countPass: Promise<void> | undefined;
  private nextCountCheck = 0;
  /** Jobs this Worker had finished (completed or failed) at its last retention pass. */
  private finishedAtRetention = 0;
  /** The last retention pass stopped at its budget: the next one runs on the retention thread. */
  private retentionBacklog = false;
  private drainedSent = true;
  private schedulerHost: { close(): Promise<void> } | undefined;
  private slotWakeScheduled = false;
  private pausedCheckedAt = 0;
  private pausedCached = false;
  /** The queue's global rate limit, re-read with the pause marker. */
  private globalLimitCached: GlobalRateLimit | undefined;
  /** The queue's global concurrency, re-read with the pause marker. */
  private globalConcurrencyCached: number | undefined;
  /** The shared rate limiter, once a limit applies to this worker (or it set one). */
  private limiterState: RateLimiter | undefined;
  /** Until when (ms) this worker takes no job: its queue's rate limit is reached. */
  private limitUntil = 0;
  private delayedDirty = true;
  private lastDelayedCheck = 0;
  private readonly onLocalWake = (): void => this.wake(true);
  /** Room freed under a global concurrency by another worker of this process: claim again, nothing more to re-read. */
  private readonly onLocalRoom = (): void => this.wake();

  constructor(name: string, processor?: string | URL | null | Processor<DataType, ResultType, NameType>, opts: WorkerOptions = {}) {
    super();
    // null reads as no options, as in BullMQ (which spreads it).
    opts = withoutUnsetValues(opts ?? {});
    this.name = name;
    this.settings = resolveSettings(opts);
    this.inline = opts.inline ?? inlineFromEnv();
    // BullMQ's defaults, filled in as its Worker does (runRetryDelay is reported only; drainDelay
    // bounds a blocking getNextJob).
    this.opts = {
      drainDelay: 5,
      concurrency: 1,
      lockDuration: DEFAULT_LOCK_DURATION_MS,
      maxStalledCount: DEFAULT_MAX_STALLED_COUNT,
      stalledInterval: DEFAULT_STALLED_INTERVAL_MS,
      autorun: true,
      runRetryDelay: 15_000,
      ...opts,
      lockRenewTime: opts.lockRenewTime ?? this.settings.lockRenewMs,
    };
    this.concurrencyAsGiven = opts.concurrency ?? 1;
    this.store = openQueueStore(name, opts, opts.logger);
    this.id = `${os.hostname()}-${process.pid}-${PROCESS_TAG}${(workerCounter++).toString(36)}`;
    if (typeof processor === 'function') this.processorFn = processor as Processor;
    else if (typeof processor === 'string' || processor instanceof URL) this.processorFile = processorFilePath(processor);
    this.claimer = new Claimer(this.store, this.id, this.settings.lockDurationMs);
    this.pool = fastq.promise<unknown, RunningJob, void>(this, (run) => this.process(run), this.settings.concurrency);
    const ctx: ProcessingContext = {
      host: this,
      store: this.store,
      // A file processor is loaded by run(); inline mode never runs the loop, so it may load here.
      processor: this.processorFn
        ? (job, token, signal) => this.processorFn!(job, token, signal)
        : async (job, token, signal) => {
            if (!this.processorFn) await this.ensureProcessor();
            return this.processorFn!(job, token, signal);
          },
      emit: (event, ...args) => {
        this.emit(event, ...args);
      },
    };
    if (opts.name !== undefined) ctx.processedBy = opts.name;
    if (opts.removeOnComplete !== undefined) ctx.removeOnComplete = opts.removeOnComplete;
    if (opts.removeOnFail !== undefined) ctx.removeOnFail = opts.removeOnFail;
    if (opts.settings?.backoffStrategy) ctx.backoffStrategy = opts.settings.backoffStrategy;
    if (this.settings.maxStartedAttempts !== undefined) ctx.maxStartedAttempts = this.settings.maxStartedAttempts;
    if (this.settings.metricsMaxDataPoints !== undefined) {
      const recorder = new MetricsRecorder(this.store, this.settings.metricsMaxDataPoints);
      this.metricsRecorder = recorder;
      let reportedAt = -Infinity;
      let unreported = 0;
      ctx.recordMetric = (type, nowMs) => {
        try {
          recorder.record(type, nowMs);
        } catch (err) {
          // A count that cannot be written costs the metrics one finish, never the job. Reported
          // once a minute, not once per finish (a full disk would flood `error`).
          if (nowMs - reportedAt < METRICS_ERROR_EVERY_MS) {
            unreported++;
            return;
          }
          reportedAt = nowMs;
          if (unreported > 0 && err instanceof Error) err.message += ` (${unreported} more metrics count(s) could not be written since the last report)`;
          unreported = 0;
          this.emitError(err);
        }
      };
    }
    // As BullMQ: after a RateLimitError, wait out what is left of the queue's rate-limit window.
    ctx.onRateLimited = () => {
      const nowMs = Date.now();
      const ttl = this.limiter().ttl(undefined, nowMs);
      if (ttl > 0) this.limitUntil = nowMs + Math.min(ttl, this.settings.maximumRateLimitDelayMs);
    };
    this.ctx = ctx;
    // Jobs fetched by hand are ended by their caller: nothing is emitted on the Worker for them.
    this.manualCtx = { ...ctx, emit: () => undefined };
    if (this.inline) {
      registerInlineWorker(this.name, this.store.root, this as unknown as Worker);
      // Ready at once (there is no loop to start), told on the next turn as a running worker tells it.
      setImmediate(() => {
        if (!this.closing) this.emit('ready');
      });
      return;
    }
    // As BullMQ: a Worker without a processor (manual fetching with getNextJob) does not run.
    if (opts.autorun !== false && this.hasProcessor()) {
      this.run().catch((err: unknown) => this.emitError(err));
    }
  }

  /** @internal False while paused or closing: inline adds then leave their jobs waiting, as this worker would take none. */
  get takesInlineJobs(): boolean {
    return !this.pausedLocal && !this.closing;
  }

  /**
   * @internal Runs a job inline mode claimed for this worker as one of its own, so `cancelJob`,
   * `cancelAllJobs` and `close` reach it (close waits for it; with force, puts it back).
   */
  async runInlineJob(run: RunningJob): Promise<RunOutcome> {
    this.inflight.set(run.claim.id, run);
    try {
      return await executeRun(this.ctx, run);
    } finally {
      if (this.inflight.get(run.claim.id) === run) this.inflight.delete(run.claim.id);
      this.emit('_slot');
    }
  }

  /** @internal Processing context (inline mode uses it). */
  get processingContext(): ProcessingContext {
    return this.ctx;
  }

  /** @internal Loads a file processor (sandbox) if needed. */
  async ensureProcessor(): Promise<void> {
    if (this.processorFn) return;
    if (!this.processorFile) throw new SpoolkitError('ERR_CONFIG', `Worker for queue ${this.name} has no processor; pass a function or a processor file path.`);
    const spec = './sandbox/index.js';
    const mod = (await import(spec)) as {
      createSandboxedProcessor(
        file: string | URL,
        o: { useWorkerThreads?: boolean; onChildrenChange?: () => void },
      ): Processor & { close(): Promise<void>; stats(): { pids: (number | undefined)[] } };
    };
    const threads = this.opts.useWorkerThreads === true;
    const sandboxed = mod.createSandboxedProcessor(this.processorFile, {
      ...(this.opts.useWorkerThreads === undefined ? {} : { useWorkerThreads: this.opts.useWorkerThreads }),
      // Child processes are named in the heartbeat at once (threads end with this process).
      ...(threads ? {} : { onChildrenChange: () => this.childrenChanged() }),
    });
    if (!threads) this.sandboxPids = () => sandboxed.stats().pids;
    this.closeSandboxes = () => sandboxed.close();
    this.sandbox = sandboxed;
    this.processorFn = sandboxed;
  }

  /**
   * @internal Takes sandboxes made outside this Worker (the worker runtime's) as its own: their
   * child processes are named in its heartbeat, and a forced close puts a job back only once
   * `close` has stopped them. Returns what to call when a child starts or ends.
   */
  reportSandboxChildren(pids: () => (number | undefined)[], close: () => Promise<void>): () => void {
    this.sandboxPids = pids;
    this.closeSandboxes = close;
    return () => this.childrenChanged();
  }

  /** Jobs processed in parallel. */
  get concurrency(): number {
    return this.concurrencyAsGiven;
  }

  set concurrency(n: number) {
    const c = Math.floor(positiveInt(n, 'concurrency', 1));
    this.concurrencyAsGiven = n;
    this.settings.concurrency = c;
    this.pool.concurrency = c;
    this.wake();
  }

  /** Resolves once the worker can take jobs. */
  async waitUntilReady(): Promise<void> {
    // The spool needs no connection; the store was opened in the constructor.
  }

  /** True while the loop runs (as in BullMQ, not once a waiting pause() has let the running jobs end). */
  isRunning(): boolean {
    return this.running !== undefined && !this.stopping && !(this.pausedLocal && this.pauseSettled);
  }

  /** True while paused locally. */
  isPaused(): boolean {
    return this.pausedLocal;
  }

  /** Starts processing. Resolves when the worker closes. */
  async run(): Promise<void> {
    if (this.inline) throw new SpoolkitError('ERR_CONFIG', `Worker for queue ${this.name} is in inline mode: jobs run inside queue.add(); do not call run().`);
    // Closed: nothing to run (BullMQ's run() resolves too).
    if (this.closing) return;
    if (this.running) throw new SpoolkitError('ERR_CONFIG', `Worker for queue ${this.name} is already running.`);
    if (!this.hasProcessor()) throw new ConfigError(`No process function is defined: Worker for queue ${this.name} has no processor. Pass one to new Worker(name, processor), or fetch jobs by hand with getNextJob(token).`);
    this.running = this.loop();
    return this.running;
  }

  private hasProcessor(): boolean {
    return this.processorFn !== undefined || this.processorFile !== undefined;
  }

  /** Stops taking new jobs (this worker only). Waits for active jobs unless `doNotWaitActive`. */
  async pause(doNotWaitActive?: boolean): Promise<void> {
    if (this.pausedLocal) return;
    this.pausedLocal = true;
    if (!doNotWaitActive) {
      await this.whenIdle();
      if (this.pausedLocal) this.pauseSettled = true;
    }
    this.emit('paused');
  }

  /** Resumes after `pause()`; starts a worker that was never run, as BullMQ's resume() does. */
  async resume(): Promise<void> {
    const start = !this.running && !this.closing && !this.inline && this.hasProcessor();
    if (!this.pausedLocal && !start) return;
    this.pausedLocal = false;
    this.pauseSettled = false;
    this.emit('resumed');
    if (start) this.run().catch((err: unknown) => this.emitError(err));
    else this.wake();
    // Inline: the jobs added while paused run now, as this worker would take them.
    await this.runReadyInline();
  }

  /**
   * @internal Inline mode: runs the jobs waiting, as this worker would take them. Called by a call
   * that readied some through a job this worker gave (`job.retry()` in a `failed` listener,
   * `job.promote()`), whose host is the worker, not a Queue.
   */
  async runReadyInline(): Promise<void> {
    if (this.inline) await runWaitingInline(this);
  }

  /** Aborts the signal of one running job. True when it was running here. */
  cancelJob(jobId: string, reason?: string): boolean {
    const run = this.inflight.get(jobId);
    if (!run) return false;
    run.controller.abort(reason ?? 'cancelled');
    return true;
  }

  /** Aborts the signals of every running job. */
  cancelAllJobs(reason?: string): void {
    for (const run of this.inflight.values()) run.controller.abort(reason ?? 'cancelled');
  }

  /**
   * Manual fetching (BullMQ's): takes the next job for the caller, who ends it with
   * `job.moveToCompleted(value, token)` or `job.moveToFailed(err, token)`. The lease lasts
   * `lockDuration` and is not renewed on its own: call `job.extendLock(token, ms)` for longer work,
   * and let some worker run the stalled check (`startStalledCheckTimer()` on a Worker without a
   * processor). With `block` (the default), a call after one that found nothing waits up to
   * `drainDelay` seconds for a job, as BullMQ's does; undefined when there is none.
   */
  async getNextJob(token: string, opts: { block?: boolean } = {}): Promise<Job<DataType, ResultType, NameType> | undefined> {
    if (typeof token !== 'string' || token === '') throw new UsageError('Worker.getNextJob: pass a non-empty token; the same token ends the job (job.moveToCompleted(value, token)).');
    if (this.inline) throw new SpoolkitError('ERR_CONFIG', `Worker for queue ${this.name} is in inline mode: jobs run inside queue.add(); there is nothing to fetch.`);
    if (this.pausedLocal || this.closing) return undefined;
    if (!(this.manualDrained && opts.block !== false)) return this.takeManual(token);
    const until = Date.now() + this.settings.drainDelayMs;
    // Woken by news of the queue (file-change events, adds in this process), as the run loop is.
    this.startWatching();
    for (;;) {
      const job = await this.takeManual(token);
      const left = until - Date.now();
      if (job || left <= 0 || this.closing || this.pausedLocal) return job;
      this.fetchesWaiting++;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(t);
          this.off('_news', done);
          resolve();
        };
        const t = setTimeout(done, Math.min(left, this.settings.pollIntervalMs));
        this.once('_news', done);
      }).finally(() => this.fetchesWaiting--);
    }
  }

  /** One try of getNextJob: claims a job as the run loop would, under the same limits. */
  private async takeManual(token: string): Promise<Job<DataType, ResultType, NameType> | undefined> {
    for (let tries = 0; tries < 16 && !this.closing; tries++) {
      const nowMs = Date.now();
      // Each call looks afresh, as BullMQ's moveToActive does: the pause marker and settings are
      // read again, and, at most every 10 ms, the sets are listed again and due delayed jobs promoted.
      this.pausedCheckedAt = 0;
      if (nowMs - this.lastDelayedCheck >= 10) {
        this.delayedDirty = false;
        this.lastDelayedCheck = nowMs;
        this.claimer.markDirty();
        this.promote(nowMs);
      }
      let claim: Claim | undefined;
      if (!this.queuePaused(nowMs) && nowMs >= this.limitUntil) {
        this.limitUntil = 0;
        const corrupt: CorruptFile[] = [];
        const cap = this.globalConcurrencyCached;
        const got = cap === undefined ? this.claimUpTo(1, corrupt, nowMs) : this.claimUnderCap(cap, 1, corrupt, nowMs);
        this.reportCorrupt(corrupt);
        if (got !== 'maxed') claim = got[0];
      }
      this.manualDrained = claim === undefined;
      if (!claim) return undefined;
      const run = startRun(this.manualCtx, claim);
      const m: ManualRun = {
        run,
        token,
        finish: (outcome) => {
          this.manualRuns.delete(m);
          return finishManualRun(this.manualCtx, run, outcome);
        },
        drop: () => {
          this.manualRuns.delete(m);
          removeManualRun(this.store, m);
          run.job._active = undefined;
        },
      };
      run.job.token = token;
      run.job._active!.token = token;
      this.store.events.append('active', { jobId: claim.id, prev: 'waiting' });
      const max = this.ctx.maxStartedAttempts;
      const failNow = claim.rec.deferredFailure ?? (max && claim.rec.attemptsStarted > max ? 'job started more than allowable limit' : undefined);
      if (failNow !== undefined) {
        // As BullMQ's moveToActive: such a job fails at once, and the next one is fetched.
        await finishManualRun(this.manualCtx, run, { error: new UnrecoverableError(failNow) });
        continue;
      }
      addManualRun(this.store, m);
      this.manualRuns.add(m);
      // Listed in the heartbeat (getWorkers shows a fetching Worker, and if its process dies its
      // jobs are recovered at once, not when their leases run out): written within a second.
      if (this.heartbeatStarted) this.heartbeatSoon();
      else this.startHeartbeat();
      return run.job as unknown as Job<DataType, ResultType, NameType>;
    }
    return undefined;
  }


  /** The error a processor throws after `rateLimit(ms)`: its job goes back to the front of the queue, the attempt not counted. */
  static RateLimitError(): RateLimitError {
    return new RateLimitError();
  }

  /**
   * Takes no job on the queue, in any process, for `expireTimeMs` (as BullMQ, only workers with a
   * `limiter` or under a global rate limit obey it; this one also waits if its processor then
   * throws `Worker.RateLimitError()`).
   */
  async rateLimit(expireTimeMs: number): Promise<void> {
    assertRateLimitMs(expireTimeMs, 'Worker.rateLimit');
    this.limiter().limitFor(Math.ceil(expireTimeMs), Date.now());
  }

  /** The queue's shared rate limiter. */
  private limiter(): RateLimiter {
    return (this.limiterState ??= new RateLimiter(this.store));
  }

  /**
   * Runs the stalled check every `stalledInterval` ms, as `run()` does: for a Worker without a
   * processor that fetches jobs by hand, so leases that expire send their jobs back.
   */
  async startStalledCheckTimer(): Promise<void> {
    if (this.opts.skipStalledCheck || this.closing || this.stalledTimerStarted) return;
    this.stalledTimerStarted = true;
    this.stalledCheck(Date.now());
    this.timers.push(setInterval(() => this.stalledCheck(Date.now()), this.settings.stalledIntervalMs));
  }

  /**
   * Renews the leases of jobs this Worker holds, named by id and token (a fetched job's token, or
   * the one a processor was given); returns the ids whose lease could not be renewed. Leases keep
   * their length, whatever `duration` says.
   */
  async extendJobLocks(jobIds: string[], tokens: string[], _duration: number): Promise<string[]> {
    const failed: string[] = [];
    jobIds.forEach((id, i) => {
      const token = tokens[i];
      const manual = findManualRun(this.store, id);
      let run: RunningJob | undefined;
      if (manual && this.manualRuns.has(manual) && manual.token === token) run = manual.run;
      else if (this.inflight.get(id)?.claim.token === token) run = this.inflight.get(id);
      if (!run || run.lost || !renewLease(run.claim)) failed.push(id);
    });
    return failed;
  }

  /**
   * Stops the worker. Without `force`, waits for running jobs to finish. With `force`, aborts their
   * signals and puts them back at the front of the queue at once (the attempt is not counted), so
   * another worker can run them without waiting for the lease to expire. `close(true)` after a
   * graceful `close()` has started escalates it the same way.
   */
  async close(force = false): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        this.emit('closing', 'closing queue');
        this.stopping = true;
        this.wake();
        if (force) this.releasing = this.releaseAll();
        else {
          this.renewLeases(); // marks runs whose lease is already gone, so close does not wait for them
          await this.whenIdle();
        }
        await this.running?.catch(() => undefined);
        // Whatever the loop started before it saw `stopping` is waited for too.
        if (!force) await this.whenIdle();
        await this.releasing;
        await this.trashEmptying;
        // A long pass on the thread stops before its next removal; what it leaves waits for the next pass.
        this.threadPass?.abort.abort();
        await this.threadPass?.done;
        this.teardown();
        await this.schedulerHost?.close();
        if (this.sandbox) await this.sandbox.close().catch((err: unknown) => this.emitError(err));
        if (this.inline) unregisterInlineWorker(this.name, this.store.root, this as unknown as Worker);
        this.store.events.flush();
        this.emit('closed');
      })();
    } else if (force) {
      // A graceful close already waits for running jobs: forcing now hands them back at once.
      this.releasing ??= this.releaseAll();
      this.wake();
    }
    return this.closing;
  }

  private async releaseAll(): Promise<void> {
    const released: RunningJob[] = [];
    for (const run of this.inflight.values()) {
      // A finished run only waits for its directory fsync (durable mode), and a run that moved its
      // job back to a set holds nothing: neither has anything to put back.
      if (run.lost || run.claim.finished || run.claim.moved) continue;
      run.lost = true;
      run.claim.released = true;
      run.controller.abort(new SpoolkitError('ERR_CLOSED', `Worker for queue ${this.name} closed with force; job ${run.claim.id} was put back in the queue.`));
      released.push(run);
    }
    // A sandboxed processor sees the abort in its child and may take up to the sandbox's
    // killGraceMs to stop: its job goes back once the children are gone, never running twice at once.
    // Meanwhile their leases are kept, or another worker's stalled check would take a job back
    // while its child still runs it (a lockDuration shorter than the grace).
    if (released.length > 0 && this.closeSandboxes) {
      const keep = setInterval(() => {
        for (const run of released) {
          try {
            renewLease(run.claim);
          } catch (err) {
            this.emitError(err);
          }
        }
      }, this.settings.lockRenewMs);
      try {
        await this.closeSandboxes().catch((err: unknown) => this.emitError(err));
      } finally {
        clearInterval(keep);
      }
    }
    for (const run of released) {
      try {
        // Nothing about this start was persisted (claims write nothing), so the job goes back as it was.
        if (requeue(this.store, run.claim, {}, frontRoute(this.store))) {
          this.store.events.appendNow('waiting', { jobId: run.claim.id, prev: 'active' });
        }
      } catch (err) {
        this.emitError(err);
      }
    }
  }

  /** Waits until no job with a live lease runs here (a job whose lease was lost was aborted already). */
  private async whenIdle(): Promise<void> {
    const busy = (): boolean => [...this.inflight.values()].some((r) => !r.lost);
    while (busy()) {
      await new Promise<void>((r) => {
        // One listener per wait, removed whichever comes first (a long close() must not pile them up).
        const done = (): void => {
          clearTimeout(t);
          this.off('_slot', done);
          r();
        };
        const t = setTimeout(done, 250);
        this.once('_slot', done);
      });
    }
  }

  private emitError(err: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', err instanceof Error ? err : new Error(String(err)));
    else this.store.logger.error('worker:error', { queue: this.name, workerId: this.id, err });
  }

  /** Wakes the loop (a slot freed, work arrived, or settings changed). */
  private wake(external = false): void {
    if (external) {
      this.delayedDirty = true;
      this.pausedCheckedAt = 0;
      this.claimer.markDirty();
    }
    this.wakePending = true;
    // A getNextJob waiting for a job (none, on the run loop's path).
    if (this.fetchesWaiting > 0) this.emit('_news');
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  private sleep(ms: number): Promise<void> {
    if (this.wakePending || this.stopping) {
      this.wakePending = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.wakeUp = undefined;
        resolve();
      }, Math.max(0, ms));
      this.wakeUp = () => {
        clearTimeout(t);
        this.wakePending = false;
        resolve();
      };
    });
  }

  private reportCorrupt(corrupt: CorruptFile[]): void {
    for (const c of corrupt) this.emitError(new SpoolkitError('ERR_SPOOL_CORRUPT', `Job ${c.id} was quarantined: ${c.reason}`, { details: { jobId: c.id } }));
  }

  private startWatching(): void {
    if (this.watching) return;
    this.watching = true;
    // Jobs added by this process wake us directly; other processes' appends to the event log
    // wake us through fs.watch.
    this.store.local.on('wake', this.onLocalWake);
    this.store.local.on('room', this.onLocalRoom);
    // This process's own appends (job events of the jobs it runs) change the log too; they carry
    // no news, and treating them as news would re-read the sets after every job.
    const watch = new DirWatch(path.join(this.store.dir, 'events'), (file) => {
      if (this.store.events.isOwnTail(file)) return;
      this.logWakeRechecks = [...LOG_WAKE_RECHECKS_MS];
      this.wake(true);
    });
    watch.check();
    this.watch = watch;
    // Re-armed on each poll when the log's directory was made anew (the queue obliterated).
    const rearm = setInterval(() => watch.check(), this.settings.pollIntervalMs);
    rearm.unref();
    this.timers.push(rearm);
  }

  /**
   * Rewrites the heartbeat within a second after jobs finish, so `status` and `health` show fresh
   * counts between the regular heartbeats (at most one extra write per second, however busy).
   */
  private heartbeatSoon(): void {
    if (this.heartbeatTimer || this.stopping) return;
    this.heartbeatTimer = setTimeout(() => {
      this.heartbeatTimer = undefined;
      if (!this.stopping) this.heartbeat();
    }, 1000);
    this.heartbeatTimer.unref();
  }

  /**
   * When the worker runs out of jobs, writes the pending heartbeat of `heartbeatSoon` at once, so
   * a `status` right after a burst shows its counts instead of the ones from before it. At most
   * one such early write every 250 ms, so a trickle of single jobs does not write once per job.
   */
  private heartbeatOnIdle(nowMs: number): void {
    if (!this.heartbeatTimer || nowMs - this.lastHeartbeatAt < IDLE_HEARTBEAT_MIN_GAP_MS) return;
    clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.heartbeat();
  }

  /**
   * The sandbox's child processes, by pid and liveness tag, for the heartbeat. Where /proc cannot
   * tell a child's tag (a pid namespace without a /proc of its own), the child is named with an
   * empty tag, which no checker ever judges gone: its jobs then wait for their leases rather than
   * run again beside it.
   */
  private sandboxChildren(pids: (number | undefined)[]): { pid: number; tag: string }[] {
    const out: { pid: number; tag: string }[] = [];
    for (const pid of pids) {
      if (pid === undefined) continue;
      out.push({ pid, tag: livenessTagOf(pid) ?? '' });
    }
    return out;
  }

  /** A sandbox child started or ended: the heartbeat names the children before a job reaches a new one. */
  private childrenChanged(): void {
    // Only between the loop's start and teardown (which removes the heartbeat file).
    if (this.timers.length > 0) this.heartbeat();
  }

  /** Writes the heartbeat now and every `heartbeatIntervalMs` (once per Worker: run() or a first fetch). */
  private startHeartbeat(): void {
    if (this.heartbeatStarted) return;
    this.heartbeatStarted = true;
    this.heartbeat();
    this.timers.push(setInterval(() => this.heartbeat(), this.settings.heartbeatIntervalMs));
  }

  private heartbeat(): void {
    this.lastHeartbeatAt = Date.now();
    try {
      writeHeartbeat(
        this.store.root,
        {
          workerId: this.id,
          kind: 'worker',
          hostname: os.hostname(),
          pid: process.pid,
          processTag: LIVENESS_TAG,
          pidNamespace: PID_NAMESPACE,
          queues: [this.name],
          startedAt: this.startedAt,
          heartbeatAt: Date.now(),
          concurrency: this.settings.concurrency,
          running: this.inflight.size + this.manualRuns.size,
          processed: this.processed,
          failed: this.failedCount,
          meta: this.opts.heartbeatMeta ?? {},
          recent: { [this.name]: this.recent.sums() },
          // Jobs fetched by hand too: a fetcher that dies has them recovered at once, as a runner's.
          activeJobs: [...this.inflight.keys(), ...[...this.manualRuns].map((m) => m.run.claim.id)],
          activeClaims: [...this.inflight.values(), ...[...this.manualRuns].map((m) => m.run)].map((r) => path.basename(r.claim.path)),
          claimOwner: CLAIM_OWNER,
          ...(this.sandboxPids ? { children: this.sandboxChildren(this.sandboxPids()) } : {}),
        },
        this.store.modes,
      );
    } catch (err) {
      this.emitError(err);
    }
  }

  private renewLeases(): void {
    const lost: RunningJob[] = [];
    const renewed: string[] = [];
    for (const run of this.inflight.values()) {
      if (run.lost || run.claim.finished || run.claim.moved) continue;
      let ok = false;
      try {
        ok = renewLease(run.claim);
      } catch (err) {
        this.emitError(err);
      }
      if (ok) renewed.push(run.claim.id);
      else lost.push(run);
    }
    if (renewed.length) this.emit('locksRenewed', { count: renewed.length, jobIds: renewed });
    this.leasesLost(lost);
  }

  /** Runs whose lease is gone: marked lost (their outcome is not written), their processors aborted, and reported. */
  private leasesLost(runs: RunningJob[]): void {
    if (runs.length === 0) return;
    for (const run of runs) {
      run.lost = true;
      run.claim.released = true;
      run.controller.abort(new SpoolkitError('ERR_LEASE_LOST', `The lease on job ${run.claim.id} was lost (it stalled past lockDuration or was removed); its result will be discarded.`));
    }
    const ids = runs.map((r) => r.claim.id);
    this.emit('lockRenewalFailed', ids);
    for (const id of ids) this.emitError(new SpoolkitError('ERR_LEASE_LOST', `could not renew lock for job ${id}`));
  }

  private teardown(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.watch?.close();
    this.watch = undefined;
    this.store.local.off('wake', this.onLocalWake);
    this.store.local.off('room', this.onLocalRoom);
    removeHeartbeat(this.store.root, this.id);
    this.watching = false;
    // Fetched jobs not ended yet stay active until their leases run out and the stalled check
    // sends them back, as in BullMQ; they can no longer be ended through this closed Worker.
    for (const m of this.manualRuns) {
      closeClaim(m.run.claim);
      removeManualRun(this.store, m);
    }
    this.manualRuns.clear();
    try {
      this.metricsRecorder?.close();
    } catch (err) {
      this.emitError(err);
    }
  }

  private stalledCheck(nowMs: number): void {
    this.nextStalledCheck = nowMs + this.settings.stalledIntervalMs;
    if (this.store.formatVersion >= 2 && !this.store.readOnly) {
      try {
        pruneIdRanges(this.store.dir);
      } catch (err) {
        this.emitError(err);
      }
    }
    if (this.opts.skipStalledCheck) return;
    try {
      const dead = this.deadOwnerJobs(nowMs);
      const res = reclaimStalled(this.store, {
        nowMs,
        lockDurationMs: this.settings.lockDurationMs,
        maxStalledCount: this.settings.maxStalledCount,
        skip: new Set([...this.inflight.values()].map((r) => path.basename(r.claim.path))),
        deadOwners: dead.claims,
        deadClaimOwners: dead.owners,
      });
      for (const id of res.stalled) this.emit('stalled', id, 'active');
      if (res.stalled.length) this.wake();
      // Only now that their jobs are back: a heartbeat is how a gone Worker's claims are found.
      for (const workerId of dead.heartbeats) removeHeartbeat(this.store.root, workerId);
    } catch (err) {
      this.emitError(err);
    }
  }

  /**
   * Claims held by workers of this host and pid namespace whose process is gone, including an
   * earlier process whose pid this one now has, recovered at once: the active files their last
   * heartbeats name, and every claim of their claim owner (claims made after that heartbeat).
   * Also the heartbeat files to remove once those claims are back: every gone Worker of this
   * queue whose owner is gone (with claims or without), every gone scheduler loop, and every
   * heartbeat abandoned for a day, wherever it was written; else a Worker or loop that was
   * killed would be listed (as stale) forever.
   */
  private deadOwnerJobs(nowMs: number): { claims: Set<string>; owners: Set<string>; heartbeats: string[] } {
    const claims = new Set<string>();
    const heartbeats: string[] = [];
    const host = os.hostname();
    // Its sandbox children must be gone too: one may still be running a job it was given.
    const gone = (hb: WorkerHeartbeat): boolean =>
      hb.hostname === host && taggedProcessGone(hb.hostname, hb.pidNamespace, hb.pid, hb.processTag) && (hb.children ?? []).every((c) => processOfTagGone(c.pid, c.tag));
    const all = readHeartbeats(this.store.root, nowMs);
    // An owner is every Worker of one process (or thread): dead only when all of them are.
    const owners = new Set<string>();
    const alive = new Set<string>();
    for (const hb of all) if (hb.claimOwner) (gone(hb) ? owners : alive).add(hb.claimOwner);
    for (const o of alive) owners.delete(o);
    for (const hb of all) {
      if (abandoned(hb) || (hb.kind === 'scheduler' && gone(hb))) heartbeats.push(hb.workerId);
      if (hb.kind === 'scheduler' || !hb.queues.includes(this.name) || !gone(hb)) continue;
      if (hb.claimOwner && !owners.has(hb.claimOwner)) continue;
      for (const name of hb.activeClaims ?? []) claims.add(name);
      if (!abandoned(hb)) heartbeats.push(hb.workerId);
    }
    return { claims, owners, heartbeats };
  }

  private promote(nowMs: number): void {
    try {
      const res = promoteDue(this.store, nowMs);
      // Looked at again by the poll interval at the latest: a job re-filed sooner by another
      // process is found even when no file-change event tells of it.
      this.nextDelayedCheck = Math.min(res.nextDueMs ?? Infinity, nowMs + this.settings.pollIntervalMs);
      if (res.promoted.length) this.claimer.reset();
      for (const name of res.quarantined) this.emitError(new SpoolkitError('ERR_SPOOL_CORRUPT', `A file in delayed/ names no set to promote it into; it was moved to corrupt/${name}.`));
    } catch (err) {
      this.emitError(err);
      this.nextDelayedCheck = nowMs + this.settings.pollIntervalMs;
    }
  }

  private async runSchedulers(nowMs: number): Promise<void> {
    this.nextSchedulerRun = nowMs + this.settings.stalledIntervalMs;
    if (this.opts.runSchedulers === false) return;
    // Queues without schedulers (most) cost one stat per pass, not a scheduler pass; a scheduler
    // added later is found as soon as a pass would have found it.
    if (!hasSchedulers(this.store.dir)) {
      this.nextSchedulerRun = Math.min(this.nextSchedulerRun, nowMs + DEFAULT_RESCAN_MS);
      return;
    }
    try {
      // Loaded on first use: apps that never schedule do not pay for the cron parser.
      const mod = (await import(SCHEDULER_MODULE)) as {
        runSchedulerPass(host: unknown): Promise<{ nextDueMs: number | null; problems: { schedulerId: string; error: unknown }[] }>;
      };
      if (!this.schedulerHost) {
        const { Queue } = await import('./queue.js');
        this.schedulerHost = new Queue(this.name, { ...this.opts, inline: false });
      }
      const res = await mod.runSchedulerPass(this.schedulerHost);
      // A broken scheduler definition must be visible, not silently skipped.
      for (const problem of res.problems) this.emitError(problem.error);
      if (res.nextDueMs !== null) this.nextSchedulerRun = Math.min(this.nextSchedulerRun, Math.max(Date.now(), res.nextDueMs));
    } catch (err) {
      this.emitError(err);
    }
  }

  private async loop(): Promise<void> {
    await this.ensureProcessor();
    const s = this.settings;
    this.startHeartbeat();
    if (!this.opts.skipLockRenewal) this.timers.push(setInterval(() => this.renewLeases(), s.lockRenewMs));
    this.startWatching();
    this.stalledCheck(Date.now());
    await this.runSchedulers(Date.now());
    this.emit('ready');
    let lastYield = Date.now();
    while (!this.stopping) {
      let nowMs = Date.now();
      if (nowMs - lastYield > 20) {
        await new Promise((r) => setImmediate(r));
        lastYield = nowMs = Date.now();
      }
      if (this.logRecheckAt !== 0 && nowMs >= this.logRecheckAt) {
        this.logRecheckAt = 0;
        this.claimer.markDirty();
      }
      if (nowMs >= this.nextStalledCheck) this.stalledCheck(nowMs);
      if (nowMs >= this.nextSchedulerRun) await this.runSchedulers(nowMs);
      if (nowMs >= this.nextRetention) this.retention(nowMs);
      // close() may have been called during the awaits above: start nothing more.
      if (this.stopping) break;
      const free = this.settings.concurrency - this.inflight.size;
      if (free > 0 && !this.pausedLocal) {
        // A wake-up may mean someone added a delayed job due sooner than we knew: re-check, at most every 10 ms.
        if (nowMs >= this.nextDelayedCheck || (this.delayedDirty && nowMs - this.lastDelayedCheck >= 10)) {
          this.delayedDirty = false;
          this.lastDelayedCheck = nowMs;
          this.promote(nowMs);
        }
        let claims: Claim[] = [];
        const corrupt: CorruptFile[] = [];
        let limited = false;
        try {
          if (!this.queuePaused(nowMs)) {
            // Over a rate limit (this worker's or the queue's, or a RateLimitError's), until it ends.
            if (nowMs < this.limitUntil) limited = true;
            else {
              this.limitUntil = 0;
              const cap = this.globalConcurrencyCached;
              const got = cap === undefined ? this.claimUpTo(free, corrupt, nowMs) : this.claimUnderCap(cap, free, corrupt, nowMs);
              // At the global concurrency, jobs are active elsewhere: not drained; a finish wakes us.
              if (got === 'maxed') limited = true;
              else {
                claims = got;
                limited = this.limitUntil !== 0;
              }
            }
          }
        } catch (err) {
          this.emitError(err);
        }
        this.reportCorrupt(corrupt);
        for (const claim of claims) {
          // A run of this job still here lost its lease: the job was taken back (its lease ran
          // out before a renewal noticed) and is claimed again now. That run is told at once.
          const older = this.inflight.get(claim.id);
          if (older && !older.lost && !older.claim.finished && !older.claim.moved) this.leasesLost([older]);
          const run = startRun(this.ctx, claim);
          this.inflight.set(claim.id, run);
          this.drainedSent = false;
          void this.pool.push(run);
        }
        if (claims.length > 0) {
          this.logWakeRechecks = [];
          this.logRecheckAt = 0;
          continue;
        }
        if (this.logRecheckAt === 0 && this.logWakeRechecks.length > 0) this.logRecheckAt = nowMs + this.logWakeRechecks.shift()!;
        // Over the rate limit, jobs are still waiting: not drained.
        if (this.inflight.size === 0 && !this.drainedSent && !limited) {
          this.drainedSent = true;
          this.heartbeatOnIdle(nowMs);
          // The log's `drained` means what BullMQ's does: no job left waiting, active or delayed
          // anywhere (a paused queue's jobs still wait). This worker's own `drained` only says it
          // found nothing more to do.
          if (isDrained(this.store)) this.store.events.append('drained', {});
          this.emit('drained');
          if (hasParked(this.store)) this.emptyTrashWhileIdle();
        }
      }
      let until = Math.min(this.nextStalledCheck, this.nextSchedulerRun, Date.now() + s.pollIntervalMs);
      // Promotion waits for a free slot (freeing one wakes the loop): until then its due time must
      // not make this a busy loop. A wake-up it skipped as too soon after the last check is taken
      // 10 ms after that check, not a poll interval later.
      if (s.concurrency - this.inflight.size > 0 && !this.pausedLocal) {
        until = Math.min(until, this.nextDelayedCheck);
        if (this.delayedDirty) until = Math.min(until, this.lastDelayedCheck + 10);
        // Back when the rate limit ends, not a poll interval later.
        if (this.limitUntil !== 0) until = Math.min(until, this.limitUntil);
        if (this.logRecheckAt !== 0) until = Math.min(until, this.logRecheckAt);
      }
      await this.sleep(until - Date.now());
      lastYield = Date.now();
    }
  }

  /** The queue's pause marker (and global rate limit), re-read after a wake-up and at least every 50 ms. */
  private queuePaused(nowMs: number): boolean {
    if (nowMs - this.pausedCheckedAt >= 50) {
      this.pausedCached = this.store.isPaused();
      this.globalLimitCached = readGlobalRateLimit(this.store);
      this.globalConcurrencyCached = readGlobalConcurrency(this.store);
      this.pausedCheckedAt = nowMs;
    }
    return this.pausedCached;
  }

  /**
   * The rate limit this worker obeys, as BullMQ: a global limit's `max` before the worker's own,
   * the worker's own `duration` before the global one; none without a `max`.
   */
  private rateLimitInForce(): { max: number; durationMs: number } | undefined {
    const own = this.settings.limiter;
    const global = this.globalLimitCached;
    if (!own && !global) return undefined;
    const max = global?.max ?? own!.max;
    const durationMs = own?.durationMs ?? Math.floor(global!.duration);
    return { max, durationMs };
  }

  /** Claims up to `n` jobs, under the rate limit in force if any. */
  private claimUpTo(n: number, corrupt: CorruptFile[], nowMs: number): Claim[] {
    const limit = this.rateLimitInForce();
    return limit ? this.claimLimited(n, limit, corrupt, nowMs) : this.claimer.claim(n, corrupt);
  }

  /**
   * Claims under the queue's global concurrency: while holding its claim lock, no more jobs than
   * the room left in `active/`. 'maxed' when there is none; when another process holds the lock,
   * nothing, and the loop comes back in a couple of milliseconds.
   */
  private claimUnderCap(cap: number, free: number, corrupt: CorruptFile[], nowMs: number): Claim[] | 'maxed' {
    const got = withClaimRoom(this.store, cap, (room): Claim[] | 'maxed' => (room === 0 ? 'maxed' : this.claimUpTo(Math.min(free, room), corrupt, nowMs)));
    if (got !== undefined) return got;
    this.limitUntil = nowMs + CLAIM_LOCK_RETRY_MS;
    return [];
  }

  /**
   * Claims under a rate limit: no more jobs than the window may still start, and a start is
   * counted (a slot in the shared window) for each claimed job before it runs. A job for which no
   * slot is left goes back where it was, and the worker waits for the window's end (at most
   * `maximumRateLimitDelay`). A job claimed only to be failed for its deferred failure is not
   * counted, as in BullMQ.
   */
  private claimLimited(free: number, limit: { max: number; durationMs: number }, corrupt: CorruptFile[], nowMs: number): Claim[] {
    const limiter = this.limiter();
    const room = limiter.peek(limit.max, nowMs);
    if (room.free === 0) {
      this.limitUntil = nowMs + Math.min(room.waitMs, this.settings.maximumRateLimitDelayMs);
      return [];
    }
    const claims = this.claimer.claim(Math.min(free, room.free), corrupt);
    const out: Claim[] = [];
    const back: Claim[] = [];
    for (const claim of claims) {
      if (claim.rec.deferredFailure || back.length > 0) {
        (claim.rec.deferredFailure ? out : back).push(claim);
        continue;
      }
      const got = limiter.take(limit.max, limit.durationMs, nowMs);
      if ('slot' in got) out.push(claim);
      else {
        back.push(claim);
        this.limitUntil = nowMs + Math.min(got.waitMs, this.settings.maximumRateLimitDelayMs);
      }
    }
    if (back.length > 0) {
      // Later claims first, so each name is free again before an earlier one goes back to the front.
      for (const claim of back.reverse()) {
        if (!unclaim(this.store, claim)) this.emitError(new SpoolkitError('ERR_SPOOL_UNWRITABLE', `Job ${claim.id} was claimed over the rate limit and could not be put back; the stalled check returns it once its lease expires.`, { details: { jobId: claim.id } }));
      }
      this.claimer.reset();
    }
    return out;
  }

  /**
   * A retention pass, at most once a second. A pass runs here within a small budget
   * (IN_PROCESS_RETENTION_BUDGET), so it holds up the claim loop and lease renewals for a few
   * milliseconds at most. After a busy second, or when the last pass left work behind, it runs on
   * the retention thread instead (retention-thread.ts), without a budget; a small pass costs less
   * here than the round trip.
   */
  private retention(nowMs: number): void {
    this.nextRetention = nowMs + 1000;
    const finished = this.processed + this.failedCount;
    const busy = finished - this.finishedAtRetention >= RETENTION_THREAD_MIN_JOBS || this.retentionBacklog;
    this.finishedAtRetention = finished;
    const defaults = { removeOnComplete: this.opts.removeOnComplete, removeOnFail: this.opts.removeOnFail };
    if (this.threadPass) {
      // The previous pass is still running there: this one would only find the lock taken.
    } else if (busy) {
      // Started from a promise, so nothing thrown on the way can escape into the claim loop.
      const abort = new AbortController();
      const done = Promise.resolve()
        .then(() => runRetentionOnThread(this.store, nowMs, defaults, abort.signal))
        .then(
          (result) => {
            this.retentionBacklog = result.more;
          },
          (err: unknown) => this.emitError(err),
        )
        .finally(() => {
          this.threadPass = undefined;
        });
      this.threadPass = { done, abort };
    } else {
      try {
        this.retentionBacklog = runRetention(this.store, nowMs, defaults, IN_PROCESS_RETENTION_BUDGET).more;
      } catch (err) {
        this.emitError(err);
      }
    }
    if (this.inflight.size === 0) this.emptyTrashWhileIdle();
    this.refreshPublishedCounts(nowMs);
  }

  /**
   * Keeps the counts published for health checks fresh once a reader has found the queue big
   * (published-counts.ts): `counts.json` is read every few seconds, and a due count runs on the
   * helper thread, so the claim loop never stats a big backlog's leaves. Not awaited by close():
   * the count only reads, and its file is written whole or not at all.
   */
  private refreshPublishedCounts(nowMs: number): void {
    if (nowMs < this.nextCountCheck || this.countPass) return;
    this.nextCountCheck = nowMs + WORKER_CHECK_MS;
    const published = readPublishedCounts(this.store);
    if (!published || !isDue(published, nowMs)) return;
    this.countPass = Promise.resolve()
      .then(() => countOnThread(this.store))
      .then(
        () => undefined,
        (err: unknown) => this.emitError(err),
      )
      .finally(() => {
        this.countPass = undefined;
      });
  }

  /**
   * Deletes removed job files parked in `trash/` (trash.ts), and once a minute what an obliterate
   * killed midway left in the spool (obliterate-leftovers.ts), off the main thread, until a job is
   * claimed.
   */
  private emptyTrashWhileIdle(): void {
    if (this.trashEmptying || this.stopping) return;
    const stop = (): boolean => this.stopping || this.inflight.size > 0;
    const nowMs = Date.now();
    const lookForLeftovers = nowMs >= this.nextLeftoverLook;
    if (lookForLeftovers) this.nextLeftoverLook = nowMs + LEFTOVER_LOOK_MS;
    this.trashEmptying = emptyTrash(this.store, stop)
      .then(async () => {
        if (lookForLeftovers && !stop()) await removeObliterateLeftovers(this.store.root, nowMs, stop);
      })
      .then(() => undefined, (err: unknown) => this.emitError(err))
      .finally(() => {
        this.trashEmptying = undefined;
      });
  }

  private async process(run: RunningJob): Promise<void> {
    try {
      const outcome = await executeRun(this.ctx, run);
      if (outcome === 'completed') {
        this.processed++;
        this.recent.add(0);
      } else if (outcome === 'failed') {
        this.failedCount++;
        this.recent.add(1);
      } else if (outcome === 'retried') {
        this.failedCount++;
      }
    } catch (err) {
      this.emitError(err);
    } finally {
      // A job this run moved back to a set (moveToWait) may already run again here under the same
      // id: only this run's own entry goes.
      if (this.inflight.get(run.claim.id) === run) this.inflight.delete(run.claim.id);
      this.heartbeatSoon();
      // Under a global concurrency, this finish may make room for the queue's other workers here.
      if (this.globalConcurrencyCached !== undefined) this.store.local.emit('room');
      this.emit('_slot');
      // Wake on the next turn, so slots freed in the same turn are refilled by one claim round.
      if (!this.slotWakeScheduled) {
        this.slotWakeScheduled = true;
        setImmediate(() => {
          this.slotWakeScheduled = false;
          this.wake();
        });
      }
    }
  }

  /** @internal Jobs running in this worker. */
  get activeJobs(): Job[] {
    return [...this.inflight.values()].map((r) => r.job);
  }
}
