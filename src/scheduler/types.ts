import type { JobsOptions } from '../types.js';

/**
 * How a job scheduler repeats, as BullMQ v6 spells it (`Omit<RepeatOptions, 'key'>` on
 * `upsertJobScheduler`). Exactly one of `every` and `pattern` is required.
 */
export interface RepeatOptions {
  /** A cron pattern with 5 fields, or 6 with seconds first (`'*\/10 * * * * *'`), or an alias like `@hourly`. */
  pattern?: string;
  /** A fixed interval in milliseconds (integer, at least 1). The first run is at once unless `startDate` or `offset` says otherwise. */
  every?: number;
  /** IANA time zone for `pattern` (for example `'Europe/Berlin'`); UTC when absent. */
  tz?: string;
  /** Enqueue at most this many runs in total. */
  limit?: number;
  /** No run before this instant. */
  startDate?: Date | string | number;
  /** No run after this instant; must be in the future when the scheduler is upserted. */
  endDate?: Date | string | number;
  /** For `pattern`: the first run happens at once, then the pattern takes over. (`every` always starts at once.) */
  immediately?: boolean;
  /** For `every`: shifts the grid of runs by this many milliseconds within each interval. */
  offset?: number;
  /** Accepted for BullMQ compatibility; spoolkit keeps its own run counter. Ignored. */
  count?: number;
  /** Accepted for BullMQ compatibility (internal to BullMQ). Ignored. */
  prevMillis?: number;
  /** Legacy repeatable-job key; not allowed on `upsertJobScheduler`. */
  key?: string;
}

/**
 * Options for the jobs a scheduler creates: every job option except the ones the scheduler owns
 * (`jobId`, `repeat`, `delay`, `deduplication`), as BullMQ's `JobSchedulerTemplateOptions`.
 */
export type JobSchedulerTemplateOptions = Omit<JobsOptions, 'jobId' | 'repeat' | 'delay' | 'deduplication'>;

/** The template passed to `upsertJobScheduler`. */
export interface JobSchedulerTemplate {
  /** Job name; defaults to the scheduler id. */
  name?: string;
  /** Job data; defaults to `{}`. Must be JSON-serializable. */
  data?: unknown;
  opts?: JobSchedulerTemplateOptions;
}

/** The data and options part of a scheduler's template, as `getJobScheduler` reports it. */
export interface JobSchedulerTemplateJson<D = unknown> {
  data?: D;
  opts?: JobSchedulerTemplateOptions;
}

/**
 * A scheduler as `getJobScheduler`/`getJobSchedulers` report it: BullMQ's `JobSchedulerJson`,
 * plus two spoolkit fields about missed runs.
 */
export interface JobSchedulerJson<D = unknown> {
  /** The scheduler id. */
  key: string;
  /** The name of the jobs it creates. */
  name: string;
  id?: string | null;
  /** How many runs have been enqueued so far. */
  iterationCount?: number;
  limit?: number;
  startDate?: number;
  endDate?: number;
  tz?: string;
  pattern?: string;
  every?: number;
  /** The time (ms since the epoch) of the most recently enqueued run: the pending one while it is in the future. */
  next?: number;
  /** For `every`: the grid offset within each interval; 0 for a `pattern` (as BullMQ lists it). */
  offset?: number;
  template?: JobSchedulerTemplateJson<D>;
  /** spoolkit: runs skipped because they fell due while no scheduler pass ran (see docs/scheduler.md). */
  skippedCount?: number;
  /** spoolkit: true once `limit` or `endDate` means no further run will be enqueued. */
  done?: boolean;
}

/** The schedule part of a stored scheduler, normalized (dates as ms since the epoch). */
export interface ScheduleSpec {
  pattern?: string;
  every?: number;
  tz?: string;
  limit?: number;
  startDate?: number;
  endDate?: number;
  immediately?: boolean;
  /** The offset the user asked for (`every` only). */
  offset?: number;
}

/** A scheduler definition as stored in `<queueDir>/schedulers/<id>/scheduler.json`. */
export interface StoredScheduler {
  format: 1;
  id: string;
  /** Name of the jobs it creates. */
  name: string;
  /** Raised whenever the definition changes; tick markers carry the generation that made them. */
  generation: number;
  createdAt: number;
  updatedAt: number;
  spec: ScheduleSpec;
  /** For `every`: runs happen at `anchorMs + k * every`. */
  anchorMs?: number;
  /** For `pattern` without `tz`: the upserting process's local zone, used by every replica. */
  zone?: string;
  /** The first run of this generation, fixed at upsert so every replica agrees on it; null when there is none. */
  firstTickMs: number | null;
  template: { data: unknown; opts: JobSchedulerTemplateOptions };
  /** Canonical JSON of what the caller passed; an upsert with the same fingerprint changes nothing. */
  fingerprint: string;
}

/** A per-run marker, `<queueDir>/schedulers/<id>/ticks/<millis>.json`. */
export interface TickMarker {
  schedulerId: string;
  generation: number;
  millis: number;
  jobId: string;
  /** 1 for the first run of a generation. */
  iteration: number;
  /** Runs skipped just before this one (they fell due while nothing ran). */
  skipped: number;
  /** Runs skipped by this generation up to and including this one. */
  skippedTotal: number;
  /** `claimed` while its job is being added; `enqueued` once the job exists; `withdrawn` while a redefinition takes the run back. */
  phase: 'claimed' | 'enqueued' | 'withdrawn';
  claimedAt: number;
  /**
   * The process that claimed the run (absent in markers of older versions): a pass on the same
   * host and pid namespace that finds it gone finishes a `claimed` marker at once instead of
   * after the grace.
   */
  claimer?: ClaimerIdentity;
}

/** A process as heartbeats and lock files name it: host, pid namespace, pid and liveness tag. */
export interface ClaimerIdentity {
  hostname: string;
  pidNamespace: string;
  pid: number;
  tag: string;
}
