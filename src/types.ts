/**
 * Public option and value types. Names and shapes follow BullMQ v6 so an application can switch
 * between spoolkit and BullMQ by changing its import; spoolkit-only options carry units in their
 * names (`heartbeatIntervalMs`) and are ignored by BullMQ.
 */
import type { Job } from './job.js';
import type { Logger } from './log.js';

/** Every state a job can be in (BullMQ v6: there is no `paused` state). */
export type JobState = 'completed' | 'failed' | 'active' | 'delayed' | 'prioritized' | 'waiting' | 'waiting-children';

/** A state, or one of the aliases the getters accept (`wait` = `waiting`; `repeat` is not supported). */
export type JobType = JobState | 'repeat' | 'wait' | 'paused';

/** Job progress: anything JSON can carry. */
export type JobProgress = string | boolean | number | object;

/** Retention of finished jobs: keep at most `count` of them, and/or none older than `age` seconds. */
export interface KeepJobs {
  /** Maximum age in seconds of a finished job before it is removed. */
  age?: number;
  /** Maximum number of finished jobs to keep. */
  count?: number;
  /** Maximum number of jobs removed per retention pass. */
  limit?: number;
}

/** Retry delay settings (BullMQ `BackoffOptions`). */
export interface BackoffOptions {
  /** `fixed`, `exponential`, or the name of a custom strategy handled by `settings.backoffStrategy`. */
  type: 'fixed' | 'exponential' | (string & {});
  /** Base delay in ms. */
  delay?: number;
  /** 0..1: the share of the delay that is randomised. */
  jitter?: number;
}

/** Deduplication by an application-chosen id (BullMQ `DeduplicationOptions`). */
export interface DeduplicationOptions {
  /** The deduplication key. */
  id: string;
  /** Milliseconds the key stays taken; without it (or 0 or less) the key lives until the job completes or fails. */
  ttl?: number;
  /** Not supported (debounce mode): throws. */
  extend?: boolean;
  /** Not supported (debounce mode): throws. */
  replace?: boolean;
  /** Not supported: throws. */
  keepLastIfActive?: boolean;
  /** A duplicate add re-files a delayed holder to be due after the duplicate's own `delay`. */
  reschedule?: boolean;
}

/** Options of one job (BullMQ `JobsOptions`). */
export interface JobsOptions {
  /** Creation time in ms; defaults to now. */
  timestamp?: number;
  /** 0 (no priority, runs first) or 1..2^21-1 (lower runs first). */
  priority?: number;
  /** Milliseconds to wait before the job may run. */
  delay?: number;
  /** Total number of tries. Default 1. */
  attempts?: number;
  /** Delay between tries: a number means fixed ms. */
  backoff?: number | BackoffOptions;
  /** Run this job before the other waiting jobs (last in, first out). */
  lifo?: boolean;
  /** `true` removes the job when it completes; a number or `KeepJobs` bounds the completed set. */
  removeOnComplete?: boolean | number | KeepJobs;
  /** `true` removes the job when it fails for good; a number or `KeepJobs` bounds the failed set. */
  removeOnFail?: boolean | number | KeepJobs;
  /** Maximum number of log rows kept for the job. */
  keepLogs?: number;
  /** Maximum number of stack traces kept in `job.stacktrace`. */
  stackTraceLimit?: number;
  /** Maximum size in bytes of the job's JSON data. */
  sizeLimit?: number;
  /** Custom id: a duplicate is ignored while a job with this id exists in any state. */
  jobId?: string;
  /** Deduplication key (simple, or throttle with `ttl`). */
  deduplication?: DeduplicationOptions;
  /** Set by job schedulers. */
  repeatJobKey?: string;
  /** Flows: the parent job (its id, and its queue as `<prefix>:<name>` or the bare name); the parent waits for this job. */
  parent?: { id: string; queue: string };
  /** Accepted for BullMQ compatibility; no effect. */
  telemetry?: { metadata?: string; omitContext?: boolean };
  /** Not supported (v5 repeat): throws with a migration hint. */
  repeat?: unknown;
  /** Flows: this job failing for good fails its parent (`child <key> failed`). */
  failParentOnFailure?: boolean;
  /** Flows: this job failing for good starts its parent at once. */
  continueParentOnFailure?: boolean;
  /** Flows: this job failing for good is recorded (getIgnoredChildrenFailures) and no longer awaited. */
  ignoreDependencyOnFailure?: boolean;
  /** Flows: this job failing for good is no longer awaited, and not recorded. */
  removeDependencyOnFailure?: boolean;
  /** Set by job schedulers. */
  prevMillis?: number;
}

/** Options for `addBulk` entries. */
export type BulkJobOptions = JobsOptions;

/**
 * When a state change becomes durable. `fast` (the default) survives any process crash, including
 * SIGKILL, but not a power loss or kernel crash; `durable` fsyncs each new file and its directory
 * before the change is visible, so an acknowledged `add` survives a power loss.
 */
export type Durability = 'fast' | 'durable';

/** Options every spoolkit class shares. */
export interface SpoolOptions {
  /** The spool directory or `file://` URL. Default `SPOOLKIT_SPOOL`, then `./.spool`. */
  spool?: string | URL;
  /** Accepted and ignored, so the same options object works with BullMQ. */
  connection?: unknown;
  /** Accepted and ignored (BullMQ's Redis key prefix). */
  prefix?: string;
  /** Durability mode; default `SPOOLKIT_DURABILITY`, then `fast`. */
  durability?: Durability;
  /**
   * Permission bits removed from every file and directory spoolkit creates. Default 0o002: files
   * 0o664, directories 0o775, so web and worker users in one group share the spool. World-write is
   * always removed. A value above 0o777, or one that removes the owner's bits, is a ConfigError.
   */
  umask?: number;
  /** Logger for internal warnings; silent by default. */
  logger?: Logger;
}

/** Options of a `Queue` (BullMQ `QueueOptions` plus spool options). */
export interface QueueOptions extends SpoolOptions {
  /** Options merged under each job's own options. */
  defaultJobOptions?: JobsOptions;
  /** Accepted for compatibility; the event log is trimmed by size instead. */
  streams?: { events: { maxLen: number } };
  /** Accepted and ignored. */
  skipMetasUpdate?: boolean;
  /** Accepted and ignored. */
  settings?: Record<string, unknown>;
  /** Accepted and ignored. */
  telemetry?: unknown;
  /**
   * Inline mode for application tests: `add` runs the job at once in this process with the
   * processor registered for the queue (see `registerInlineProcessor` or an inline `Worker`).
   * Default: `SPOOLKIT_INLINE=1`.
   */
  inline?: boolean;
}

/** Options of a `QueueEvents`. */
export interface QueueEventsOptions extends SpoolOptions {
  /** Start tailing at once. Default true. */
  autorun?: boolean;
  /** Replay events after this id; default `$` (only new events). `0` replays all kept events. */
  lastEventId?: string;
  /** Poll interval in ms when file-change events are lost (BullMQ's name). Default 100. */
  blockingTimeout?: number;
}

/**
 * A strategy for custom backoff types: returns the delay in ms, 0 to retry now, -1 to fail now.
 * `job` is the spoolkit Job being retried; it is typed loosely so strategies written against
 * BullMQ's `MinimalJob` type fit unchanged.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type BackoffStrategy = (attemptsMade: number, type?: string, err?: Error, job?: any) => Promise<number> | number;

/** Options of a `Worker` (BullMQ `WorkerOptions` plus spool options). */
/** The Worker's `metrics` option (BullMQ's `MetricsOptions`). */
export interface MetricsOptions {
  /** Minutes of per-minute counts kept (`MetricsTime`); nothing is counted without it. */
  maxDataPoints?: number;
}

export interface WorkerOptions extends SpoolOptions {
  /** Stored as `job.processedBy`. */
  name?: string;
  /** Start processing at once. Default true. */
  autorun?: boolean;
  /** Jobs processed in parallel by this worker. Default 1. */
  concurrency?: number;
  /** Lease length in ms: a job whose lease is not renewed for this long is stalled. Default 30000. */
  lockDuration?: number;
  /** How often leases are renewed, in ms. Default lockDuration / 2. */
  lockRenewTime?: number;
  /** How often expired leases are looked for, in ms. Default 30000. */
  stalledInterval?: number;
  /** Times a job may stall before it fails. Default 1. */
  maxStalledCount?: number;
  /** Do not look for stalled jobs. Default false. */
  skipStalledCheck?: boolean;
  /** Do not renew leases. Default false. */
  skipLockRenewal?: boolean;
  /**
   * Seconds a blocking `getNextJob` waits for a job once a call has found none (default 5). The
   * run loop's idle wait is `pollIntervalMs`, cut short by file-change events.
   */
  drainDelay?: number;
  /** Worker default for jobs without their own `removeOnComplete` (any form a job takes; `{ count: -1 }` keeps all). */
  removeOnComplete?: boolean | number | KeepJobs;
  /** Worker default for jobs without their own `removeOnFail` (any form a job takes; `{ count: -1 }` keeps all). */
  removeOnFail?: boolean | number | KeepJobs;
  /** Custom backoff strategies. */
  settings?: { backoffStrategy?: BackoffStrategy };
  /** For file processors: run them in worker threads instead of child processes. */
  useWorkerThreads?: boolean;
  /** Fail a job once it has been started this many times. */
  maxStartedAttempts?: number;
  /**
   * At most `max` job starts per `duration` ms, counted across every worker of the queue in any
   * process sharing the spool (a global rate limit's `max` overrides this `max`).
   */
  limiter?: { max: number; duration: number };
  /**
   * Counts this worker's finished jobs per minute for `Queue.getMetrics` (completed jobs, and jobs
   * that failed for good), shared with every worker of the queue that counts. As in BullMQ,
   * nothing is counted unless `maxDataPoints` (minutes kept, e.g. `MetricsTime.ONE_WEEK`) is set.
   */
  metrics?: MetricsOptions;
  /** Accepted and ignored. */
  telemetry?: unknown;
  /** Accepted and ignored. */
  runRetryDelay?: number;
  /** Longest a rate-limited worker waits before looking again, in ms. Default 30000. */
  maximumRateLimitDelay?: number;
  /** How often the heartbeat file is rewritten, in ms. Default 5000. */
  heartbeatIntervalMs?: number;
  /** Extra fields stored in the heartbeat file under `meta` (e.g. `{ role: 'worker' }`). */
  heartbeatMeta?: Record<string, unknown>;
  /** Run job schedulers from this worker. Default true. */
  runSchedulers?: boolean;
  /** Idle poll interval in ms, the floor when file-change events are lost. Default 1000. */
  pollIntervalMs?: number;
  /** Register this worker's processor for inline mode instead of polling. Default `SPOOLKIT_INLINE=1`. */
  inline?: boolean;
}

/** A job processor: `(job, token, signal)`; the signal fires when the lease is lost or the job is cancelled. */
export type Processor<DataType = any, ResultType = any, NameType extends string = string> = (
  job: Job<DataType, ResultType, NameType>,
  token?: string,
  signal?: AbortSignal,
) => Promise<ResultType>;

/** The serialised form of a job (BullMQ `JobJson`): data, stacktrace and returnvalue are JSON strings. */
export interface JobJson {
  id: string;
  name: string;
  data: string;
  opts: JobsOptions;
  progress: JobProgress;
  attemptsMade: number;
  attemptsStarted: number;
  finishedOn?: number;
  processedOn?: number;
  timestamp: number;
  delay?: number;
  priority?: number;
  failedReason: string;
  stacktrace?: string;
  returnvalue: string;
  parent?: { id: string; queueKey: string };
  parentKey?: string;
  repeatJobKey?: string;
  deduplicationId?: string;
  deferredFailure?: string;
  processedBy?: string;
  stalledCounter: number;
}

/** Options of `queue.obliterate`. */
export interface ObliterateOpts {
  /** Remove the queue even while jobs are active. */
  force?: boolean;
  /** Accepted; spoolkit removes everything in one pass. */
  count?: number;
}
