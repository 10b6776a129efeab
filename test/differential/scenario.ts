/**
 * The differential test's scenario language. A scenario is plain data: a queue set-up, a list of
 * steps (adds, worker start, pause, waits, snapshots), and a processor behaviour table keyed by job
 * name. The runner plays it against spoolkit and against real BullMQ and compares what an
 * application could observe. Jobs are named by labels, never by ids, so results compare across
 * backends whose id schemes differ.
 */

/** What the processor does on one invocation of a job. Fields apply in this order. */
export interface Behaviour {
  /** Values passed to `job.updateProgress`, one call each. */
  progress?: unknown[];
  /** Rows passed to `job.log`. */
  log?: string[];
  /** New data passed to `job.updateData`. */
  updateData?: unknown;
  /** Calls `job.moveToDelayed(now + ms, token)` and throws `DelayedError`. */
  moveToDelayedMs?: number;
  /** Waits this long (bounded: at most 2000 ms) before anything else, keeping the job active. */
  sleepMs?: number;
  /** Calls `worker.rateLimit(ms)` and throws `Worker.RateLimitError()`. */
  rateLimitMs?: number;
  /**
   * Resolves with what the job's children became (flows): `values` (getChildrenValues),
   * `ignored` (getIgnoredChildrenFailures), `unprocessed` and `failed` (getDependencies), children
   * named by label.
   */
  reportChildren?: true;
  /** Throws `UnrecoverableError` with this message. */
  unrecoverable?: string;
  /** Throws `Error` with this message. */
  throw?: string;
  /** Resolves with this value (default: undefined). */
  return?: unknown;
}

/**
 * Behaviour table: for each job name, the behaviour of the 1st, 2nd, ... invocation of a job with
 * that name (counted per job). The last entry repeats for later invocations.
 */
export type BehaviourTable = Record<string, Behaviour[]>;

/** Named custom backoff strategies available to `worker.backoffStrategy`. */
export type StrategyName = 'linear10' | 'failAfterFirst' | 'requeueNow';

export interface WorkerSpec {
  concurrency?: number;
  removeOnComplete?: { count?: number; age?: number };
  removeOnFail?: { count?: number; age?: number };
  /** A custom strategy for backoff types other than fixed/exponential. */
  backoffStrategy?: StrategyName;
  limiter?: { max: number; duration: number };
  /** BullMQ's `metrics` option: finishes are counted per minute. */
  metrics?: { maxDataPoints: number };
}

/** One add. `label` names the job in results; a duplicate add may reuse another job's label. */
export interface AddSpec {
  label: string;
  name: string;
  data?: unknown;
  opts?: Record<string, unknown>;
}

/** A job of a flow (all in the scenario's queue) and its children. */
export interface FlowSpec extends AddSpec {
  children?: FlowSpec[];
}

export type Step =
  | { add: AddSpec }
  /** `FlowProducer.add` of a tree in the scenario's queue; every node is labelled. */
  | { flow: FlowSpec }
  | { addBulk: AddSpec[] }
  | { startWorker: WorkerSpec }
  | { closeWorker: true }
  | { pause: true }
  | { resume: true }
  /** Waits until nothing is waiting, prioritized, delayed or active, then for events to go quiet. */
  | { settle: true }
  /** Waits a fixed time (bounded: at most 2000 ms). */
  | { sleepMs: number }
  /** Waits (bounded) until the labelled job is active. */
  | { waitActive: string }
  /** `queue.setGlobalConcurrency(n)`. */
  | { globalConcurrency: number }
  /** Records `exportPrometheusMetrics(labels)`, line by line, under `as`. */
  | { prometheus: { as: string; labels?: Record<string, string> } }
  /** Records counts and every job's state under this name. */
  | { snapshot: string }
  /** Records `getJobs(types, start, end, asc)` as labels under `as`. */
  | { list: { as: string; types: string[]; start?: number; end?: number; asc?: boolean } }
  /** `queue.drain(delayed)`. */
  | { drain: { delayed?: boolean } }
  /** `queue.clean(graceMs, limit, type)`; the removed jobs' labels (sorted) are recorded under `as`. */
  | { clean: { as: string; graceMs: number; limit: number; type: string } }
  | { retry: string }
  | { remove: string }
  | { promote: string };

/**
 * A documented, deliberate difference between spoolkit and BullMQ at one path of the normalized
 * result. The runner checks both sides hold exactly the stated values, then compares the rest.
 */
export interface Divergence {
  /** Dot path into the normalized result, e.g. `jobs.a.attemptsMade` or `events.a`. */
  path: string;
  bullmq: unknown;
  spoolkit: unknown;
  /** The docs section that documents the difference, e.g. `docs/bullmq-differences.md#events`. */
  doc: string;
}

/**
 * A difference found by this test that is not (yet) a documented spoolkit divergence: it has been
 * reported to the owner of the code. It is checked as exactly as a divergence, and the test logs
 * it on every run, so it cannot go unnoticed; once fixed, the check fails until the entry is removed.
 */
export interface KnownDifference {
  path: string;
  bullmq: unknown;
  spoolkit: unknown;
  /** What differs and where it was reported. */
  note: string;
}

export interface Scenario {
  /** File-name-like id: golden results are stored under this name. */
  id: string;
  /** What the scenario proves, and which BullMQ semantics it covers. */
  description: string;
  queue?: { defaultJobOptions?: Record<string, unknown> };
  behaviour: BehaviourTable;
  steps: Step[];
  /** Documented, deliberate divergences (see `Divergence`). */
  divergences?: Divergence[];
  /** Undocumented differences reported for a fix (see `KnownDifference`). */
  knownDifferences?: KnownDifference[];
}

/** Helper that keeps scenario files typed. */
export function scenario(s: Scenario): Scenario {
  return s;
}
