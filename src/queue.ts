/**
 * `Queue`: BullMQ's producer and admin API over a spool directory. Methods are async as in
 * BullMQ; the work underneath is synchronous filesystem calls (see src/spool/).
 */
import { EventEmitter } from 'node:events';
import { ConfigError, NotSupportedError, SpoolkitError, UsageError } from './errors.js';
import { Job } from './job.js';
import type { SchedulerHost } from './scheduler/host.js';
import { addJobs, type AddOutcome, type AddSpec } from './spool/add.js';
import { attachChildren, dependenciesOf, detachChildren, keyOfRef, settleAttached, siblingStore, splitRef, type AttachedChild } from './spool/deps.js';
import { validateJobOptions, withoutUnsetOptions } from './spool/job-options.js';
import { addWithOthers, runWaitingAdds } from './spool/add-batch.js';
import * as admin from './spool/admin.js';
import * as bulk from './spool/bulk.js';
import { countPerPriority } from './spool/counts.js';
import { countStatesAsync } from './spool/count-async.js';
import { rethrowFs } from './spool/fs.js';
import { STALE_HEARTBEAT_MS } from './spool/defaults.js';
import { ofKind, readHeartbeats, type WorkerHeartbeat } from './spool/heartbeat.js';
import { IdAllocator } from './spool/id-alloc.js';
import { readJob, visibleState } from './spool/lookup.js';
import { activeCount, readGlobalConcurrency, removeGlobalConcurrency, writeGlobalConcurrency } from './spool/global-concurrency.js';
import { assertRateLimitMs, RateLimiter, rateLimitProblem, readGlobalRateLimit, removeGlobalRateLimit, writeGlobalRateLimit, type GlobalRateLimit } from './spool/rate-limit.js';
import { readMetrics, type Metrics, type MetricType } from './spool/metrics.js';
import { inlineFromEnv, openQueueStore } from './spool/open.js';
import { prometheusText } from './prometheus.js';
import type { JobRecord } from './spool/record.js';
import type { QueueStore } from './spool/store.js';
import { appendLog, patchStored, readLogRows } from './spool/update.js';
import { lookupJobId, toJsonStrict } from './spool/validate.js';
import { assertInlineProcessor, runInline, runWaitingInline } from './inline.js';
import type { BulkJobOptions, JobJson, JobProgress, JobsOptions, JobState, JobType, ObliterateOpts, QueueOptions } from './types.js';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { numberLike, shown } from './arg-value.js';

const SCHEDULER_MODULE = './scheduler/index.js';
/** How long obliterate waits after pausing for every worker to have re-read the pause marker (they do every 50 ms). */
const PAUSE_SEEN_MS = 60;

/** Loads the scheduler module (owned separately; loaded lazily so the core works without it). */
async function scheduler(): Promise<Record<string, (...args: unknown[]) => Promise<unknown>>> {
  try {
    return (await import(SCHEDULER_MODULE)) as Record<string, (...args: unknown[]) => Promise<unknown>>;
  } catch (err) {
    throw new NotSupportedError('Job schedulers', `the scheduler module could not be loaded (${(err as Error).message})`);
  }
}

/** The id when it can name a job; else BullMQ's "Missing key" error (a missing job gets it later). */
function idOrMissing(jobId: unknown, command: string): string {
  const id = lookupJobId(jobId);
  if (id !== undefined) return id;
  throw new SpoolkitError('ERR_JOB_NOT_FOUND', `Missing key for job ${String(jobId)}. ${command}`, { details: { jobId } });
}

/** The states `clean` empties (BullMQ's, with 'wait' for 'waiting'). */
const CLEAN_TYPES = ['completed', 'wait', 'waiting', 'active', 'paused', 'prioritized', 'delayed', 'failed', 'waiting-children'] as const;
type CleanType = (typeof CLEAN_TYPES)[number];

/** `clean`'s arguments, checked: grace in ms, limit (0: no limit) and the state to empty. */
interface CleanArgs {
  graceMs: number;
  limit: number;
  type: CleanType;
}

/**
 * Checks `clean`'s arguments: a grace that is not a number made every job old enough (the
 * cutoff was NaN), so a typo such as clean('1h', ...) removed every job of the state. As in
 * BullMQ (`limit || Infinity`), a limit left out or null is no limit, and a string of digits is
 * its number.
 */
function checkCleanArgs(grace: unknown, limit: unknown, type: unknown): CleanArgs {
  const example = "e.g. clean(60_000, 1000, 'completed') removes up to 1000 jobs completed more than a minute ago.";
  const graceMs = numberLike(grace);
  if (Number.isNaN(graceMs)) throw new UsageError(`Queue.clean: grace must be a number of milliseconds, got ${shown(grace)}; ${example}`);
  const max = limit === undefined || limit === null ? 0 : numberLike(limit);
  if (!(Number.isInteger(max) || max === Infinity)) throw new UsageError(`Queue.clean: limit must be a whole number of jobs (0: no limit), got ${shown(limit)}; ${example}`);
  if (!(CLEAN_TYPES as readonly unknown[]).includes(type)) throw new UsageError(`Queue.clean: type must be one of ${CLEAN_TYPES.join(', ')}, got ${shown(type)}; ${example}`);
  return { graceMs, limit: max, type: type as CleanType };
}

/**
 * `retryJobs`' count and timestamp, checked (a string of digits is its number, as in BullMQ): a
 * timestamp that is not a number retried nothing, silently.
 */
function checkRetryJobsArgs(count: unknown, timestamp: unknown): { count: number | undefined; timestamp: number | undefined } {
  const n = count === undefined ? undefined : numberLike(count);
  if (n !== undefined && !Number.isInteger(n)) {
    throw new UsageError(`retryJobs count must be a whole number of jobs per batch, got ${shown(count)}.`);
  }
  const ts = timestamp === undefined ? undefined : numberLike(timestamp);
  if (ts !== undefined && !Number.isFinite(ts)) {
    throw new UsageError(`retryJobs timestamp must be a time in ms since the epoch (jobs finished before it are retried), such as Date.now(), got ${shown(timestamp)}.`);
  }
  return { count: n, timestamp: ts };
}

/**
 * A deduplication id given to a lookup, as the string its key is filed under: a number names the
 * id of its digits, as in BullMQ (whose key is built from it); anything else is refused (hashing
 * it threw a Node TypeError).
 */
function dedupIdArg(id: unknown, method: string): string {
  if (typeof id === 'string') return id;
  if (typeof id === 'number' && Number.isFinite(id)) return String(id);
  throw new UsageError(`Queue.${method}: the deduplication id must be a string (the deduplication.id given to add), got ${shown(id)}.`);
}

/** Checks addBulk's argument: an array of { name, data, opts? } objects (else a TypeError came from inside). */
function assertBulkJobs(jobs: unknown): void {
  const example = "e.g. addBulk([{ name: 'email', data: { to: 'a@example.com' } }])";
  if (!Array.isArray(jobs)) throw new SpoolkitError('ERR_INVALID_JOB', `addBulk takes an array of jobs, got ${jobs === null ? 'null' : typeof jobs}; ${example}.`);
  const i = jobs.findIndex((j) => typeof j !== 'object' || j === null);
  if (i >= 0) throw new SpoolkitError('ERR_INVALID_JOB', `addBulk: jobs[${i}] must be an object { name, data, opts? }, got ${shown(jobs[i])}; ${example}.`);
}

/**
 * Checks `defaultJobOptions` with a job's rules when the Queue is made: a bad one failed every
 * add() later, with a message about the job added rather than the Queue's defaults.
 */
function checkDefaultJobOptions(defaults: unknown): JobsOptions {
  if (defaults === undefined || defaults === null) return {};
  if (typeof defaults !== 'object' || Array.isArray(defaults)) throw new ConfigError(`Queue option defaultJobOptions must be an object of job options, e.g. { attempts: 3 }; got ${shown(defaults)}.`);
  try {
    validateJobOptions(withoutUnsetOptions(defaults as JobsOptions), '(defaults)');
  } catch (err) {
    if (!(err instanceof SpoolkitError) || err.code !== 'ERR_INVALID_JOB') throw err;
    throw new ConfigError(`Queue option defaultJobOptions: ${err.message} Fix the Queue's defaultJobOptions.`, { cause: err });
  }
  return defaults as JobsOptions;
}

/**
 * A job's options over the Queue's defaults. As in BullMQ (`{ ...jobsOpts, ...opts, jobId }`), a
 * jobId among the defaults is not used: every add named that one job, so all but the first were
 * duplicates of it.
 */
function overDefaults(defaults: JobsOptions, opts: JobsOptions | undefined): JobsOptions {
  const merged: JobsOptions = { ...defaults, ...opts };
  if (opts?.jobId === undefined) delete merged.jobId;
  return merged;
}

const ALL_TYPES: JobType[] = ['active', 'completed', 'delayed', 'failed', 'prioritized', 'waiting', 'waiting-children'];

/** The order jobs move through the states (a job's later state is further on), for listing several. */
const FLOW_ORDER = ['waiting-children', 'delayed', 'prioritized', 'waiting', 'active', 'completed', 'failed'];

function flowRank(type: string): number {
  const i = FLOW_ORDER.indexOf(type);
  return i < 0 ? FLOW_ORDER.length : i;
}

export class Queue<DataType = any, ResultType = any, NameType extends string = string> extends EventEmitter implements SchedulerHost {
  /** Queue name. */
  readonly name: string;
  readonly opts: QueueOptions;
  /** @internal */
  readonly store: QueueStore;
  private closing: Promise<void> | undefined;
  private readonly inline: boolean;
  private limiterState: RateLimiter | undefined;
  private readonly jobsOpts: JobsOptions;

  constructor(name: string, opts: QueueOptions = {}) {
    super();
    // null reads as no options, as in BullMQ (which spreads it).
    opts ??= {};
    this.name = name;
    this.opts = opts;
    this.inline = opts.inline ?? inlineFromEnv();
    this.jobsOpts = checkDefaultJobOptions(opts.defaultJobOptions);
    this.store = openQueueStore(name, opts, opts.logger);
  }

  /** SchedulerHost: the queue name. */
  get queueName(): string {
    return this.name;
  }

  /** SchedulerHost: absolute path of the queue's directory. */
  get queueDir(): string {
    return this.store.dir;
  }

  /** Absolute path of the spool root. */
  get spoolRoot(): string {
    return this.store.root;
  }

  /** Options merged under every job's own options. */
  get defaultJobOptions(): JobsOptions {
    return { ...this.jobsOpts };
  }

  /** SchedulerHost: current time in ms. */
  now(): number {
    return Date.now();
  }

  /** Resolves at once: the spool needs no connection (also after close(), as BullMQ's does). */
  async waitUntilReady(): Promise<void> {}

  /** BullMQ's queue prefix (`bull` unless `opts.prefix` says otherwise); the spool does not use it. */
  get prefix(): string {
    return this.opts.prefix ?? 'bull';
  }

  /** `<prefix>:<name>`, as BullMQ names a queue (for labels and logs; nothing is stored under it). */
  get qualifiedName(): string {
    return `${this.prefix}:${this.name}`;
  }

  /** `<prefix>:<name>:<type>`, BullMQ's key name for a part of the queue (for labels and logs). */
  toKey(type: string): string {
    return `${this.qualifiedName}:${type}`;
  }

  private assertOpen(): void {
    if (this.closing) throw new SpoolkitError('ERR_CLOSED', `Queue ${this.name} is closed; create a new Queue to use it again.`);
  }

  private wrap(rec: Parameters<typeof Job.fromRecord>[1]): Job<DataType, ResultType, NameType> {
    return Job.fromRecord<DataType, ResultType, NameType>(this, rec);
  }

  private async addMany(specs: AddSpec[], bulkCall: boolean): Promise<Job<DataType, ResultType, NameType>[]> {
    this.assertOpen();
    if (this.inline) assertInlineProcessor(this);
    // Jobs naming a parent are listed among its children first (flows, deps.ts).
    const attached = specs.some((s) => s.opts.parent !== undefined) ? this.attachToParents(specs) : undefined;
    let outcomes: AddOutcome[];
    try {
      // Durable single adds of one turn share their directory fsyncs (group commit, add-batch.ts).
      outcomes = specs.length === 1 && this.store.durable && !this.inline ? [await addWithOthers(this.store, specs[0]!)] : addJobs(this.store, specs);
    } catch (err) {
      if (attached && !(err instanceof SpoolkitError && err.details?.committed === true)) detachChildren(this.store, attached);
      throw err;
    }
    if (attached) settleAttached(this.store, attached, (i) => outcomes[i]!.added);
    const jobs = outcomes.map((o) => this.wrap(o.rec));
    // As BullMQ: every add() call emits the local `waiting`, a duplicate too; addBulk none.
    if (!bulkCall) this.emit('waiting', jobs[0]!);
    if (this.inline) {
      await runInline(jobs.filter((_, i) => outcomes[i]!.added).map((job) => ({ host: this, job })));
    }
    return jobs;
  }

  /** Attaches the jobs of an add that name a parent to it; a job without a custom id gets its automatic id now. */
  private attachToParents(specs: AddSpec[]): AttachedChild[] {
    for (const s of specs) validateJobOptions(withoutUnsetOptions(s.opts), s.name);
    return attachChildren(this.store, specs, (i) => {
      const s = specs[i]!;
      if (s.opts.jobId !== undefined) return s.opts.jobId;
      s.presetId = IdAllocator.for(this.store).take();
      return s.presetId;
    });
  }

  /** Adds a job. A duplicate `jobId` returns a job carrying the existing id (BullMQ). */
  async add(name: NameType, data: DataType, opts?: JobsOptions): Promise<Job<DataType, ResultType, NameType>> {
    const [job] = await this.addMany([{ name, data, opts: overDefaults(this.jobsOpts, opts) }], false);
    return job!;
  }

  /** Adds jobs, all or nothing. */
  async addBulk(jobs: { name: NameType; data: DataType; opts?: BulkJobOptions }[]): Promise<Job<DataType, ResultType, NameType>[]> {
    assertBulkJobs(jobs);
    return this.addMany(jobs.map((j) => ({ name: j.name, data: j.data, opts: overDefaults(this.jobsOpts, j.opts) })), true);
  }

  /** SchedulerHost: adds a job under a spoolkit-chosen id (':' allowed), create-if-absent. */
  async addReservedJob(name: string, data: unknown, opts: JobsOptions & { jobId: string }): Promise<{ added: boolean; job: Job }> {
    this.assertOpen();
    if (this.inline) assertInlineProcessor(this);
    const [o] = addJobs(this.store, [{ name, data, opts: { ...this.jobsOpts, ...opts }, reserved: true }]);
    if (!o!.added) {
      const found = readJob(this.store, opts.jobId);
      return { added: false, job: found ? Job.fromRecord(this, found.rec) : Job.fromRecord(this, o!.rec) };
    }
    const job = Job.fromRecord(this, o!.rec);
    this.emit('waiting', job);
    // Inline: a run due now runs now; a later run waits for its time (or job.promote()), as under
    // a worker: running it at once would run tomorrow's run today, and leave none after it.
    if (this.inline && !(job.delay > 0)) await runInline([{ host: this, job }]);
    return { added: true, job };
  }

  /** SchedulerHost: removes a run's job in one of `states` (not started), even while its scheduler stands. */
  async removeReservedJob(jobId: string, states: readonly string[], opts: { quiet?: boolean } = {}): Promise<boolean> {
    this.assertOpen();
    if (!states.includes(await this.getJobState(jobId))) return false;
    const n = admin.removeJob(this.store, jobId, { schedulerRun: true, quiet: opts.quiet });
    if (n > 0 && !opts.quiet) this.emit('removed', jobId);
    return n > 0;
  }

  /** The job with this id, or undefined. */
  async getJob(jobId: string): Promise<Job<DataType, ResultType, NameType> | undefined> {
    this.assertOpen();
    const id = lookupJobId(jobId);
    if (id === undefined) return undefined;
    const found = readJob(this.store, id);
    return found ? this.wrap(found.rec) : undefined;
  }

  /** The state of a job, or `unknown`. */
  async getJobState(jobId: string): Promise<JobState | 'unknown'> {
    this.assertOpen();
    const id = lookupJobId(jobId);
    if (id === undefined) return 'unknown';
    const found = readJob(this.store, id);
    return found ? visibleState(this.store, id, found) : 'unknown';
  }

  /**
   * Jobs of the given states (all when none are given). For each state, `start`..`end` of its
   * jobs, inclusive, as a Redis range (-1 is the last); `asc` true lists them in processing order
   * (oldest finished first for finished states), false (the default) in reverse.
   */
  async getJobs(types?: JobType[] | JobType, start = 0, end = -1, asc = false): Promise<Job<DataType, ResultType, NameType>[]> {
    this.assertOpen();
    const list = types === undefined || (Array.isArray(types) && types.length === 0) ? ALL_TYPES : Array.isArray(types) ? types : [types];
    // Always empty: pausing leaves jobs waiting (BullMQ v6).
    const wanted = [...new Set(list.map((t) => bulk.normalizeType(t)))].filter((t) => t !== 'paused');
    // BullMQ reads every state in one script. Here the states are listed one after another while
    // workers move jobs on: listed in the order jobs move through them, a job that moves on
    // between two listings is listed twice rather than missed, and it is answered once, with the
    // state listed last (the one it is in now).
    const byType = new Map<string, JobRecord[]>();
    const listedLast = new Map<string, string>();
    for (const type of [...wanted].sort((a, b) => flowRank(a) - flowRank(b))) {
      const recs = bulk.readListed(this.store, bulk.listState(this.store, type, start, end, asc));
      byType.set(type, recs);
      for (const rec of recs) listedLast.set(rec.id, type);
    }
    const out: Job<DataType, ResultType, NameType>[] = [];
    for (const type of wanted) {
      for (const rec of byType.get(type)!) {
        if (listedLast.get(rec.id) !== type) continue;
        listedLast.delete(rec.id);
        out.push(this.wrap(rec));
      }
    }
    return out;
  }

  /** Counts per state; with no arguments, every v6 state. */
  async getJobCounts(...types: JobType[]): Promise<{ [index: string]: number }> {
    this.assertOpen();
    const wanted = types.length ? types : ALL_TYPES;
    const keys = wanted.map((t) => bulk.normalizeType(t));
    const all = (await countStatesAsync(this.store, new Set(keys))) as unknown as Record<string, number>;
    const out: Record<string, number> = {};
    wanted.forEach((t, i) => {
      out[t === 'wait' ? t : keys[i]!] = all[keys[i]!] ?? 0;
    });
    return out;
  }

  /** Sum of the counts of the given states. */
  async getJobCountByTypes(...types: JobType[]): Promise<number> {
    const counts = await this.getJobCounts(...types);
    return Object.values(counts).reduce((a, b) => a + b, 0);
  }

  /** Jobs not started yet (waiting, prioritized, delayed, waiting for children), as BullMQ counts. */
  async count(): Promise<number> {
    return this.getJobCountByTypes('waiting', 'prioritized', 'delayed', 'waiting-children');
  }

  async getWaitingCount(): Promise<number> {
    return this.getJobCountByTypes('waiting');
  }
  async getActiveCount(): Promise<number> {
    return this.getJobCountByTypes('active');
  }
  /** Delayed jobs; with `timestamp` (ms), only those due at or before it. */
  async getDelayedCount(timestamp?: number): Promise<number> {
    if (timestamp === undefined) return this.getJobCountByTypes('delayed');
    this.assertOpen();
    if (!Number.isSafeInteger(timestamp)) throw new SpoolkitError('ERR_USAGE', `timestamp must be a safe integer in milliseconds, got ${String(timestamp)}.`);
    return bulk.countDelayedDue(this.store, timestamp);
  }

  /** Jobs waiting to run at each of the given priorities (0: jobs without a priority). */
  async getCountsPerPriority(priorities: number[]): Promise<{ [index: string]: number }> {
    this.assertOpen();
    return countPerPriority(this.store, priorities);
  }
  async getPrioritizedCount(): Promise<number> {
    return this.getJobCountByTypes('prioritized');
  }
  async getCompletedCount(): Promise<number> {
    return this.getJobCountByTypes('completed');
  }
  async getFailedCount(): Promise<number> {
    return this.getJobCountByTypes('failed');
  }
  async getWaitingChildrenCount(): Promise<number> {
    return this.getJobCountByTypes('waiting-children');
  }
  async getWaiting(start = 0, end = -1): Promise<Job<DataType, ResultType, NameType>[]> {
    return this.getJobs(['waiting'], start, end, true);
  }
  async getActive(start = 0, end = -1): Promise<Job<DataType, ResultType, NameType>[]> {
    return this.getJobs(['active'], start, end, true);
  }
  async getDelayed(start = 0, end = -1): Promise<Job<DataType, ResultType, NameType>[]> {
    return this.getJobs(['delayed'], start, end, true);
  }
  async getPrioritized(start = 0, end = -1): Promise<Job<DataType, ResultType, NameType>[]> {
    return this.getJobs(['prioritized'], start, end, true);
  }
  async getCompleted(start = 0, end = -1): Promise<Job<DataType, ResultType, NameType>[]> {
    return this.getJobs(['completed'], start, end, false);
  }
  async getFailed(start = 0, end = -1): Promise<Job<DataType, ResultType, NameType>[]> {
    return this.getJobs(['failed'], start, end, false);
  }
  async getWaitingChildren(start = 0, end = -1): Promise<Job<DataType, ResultType, NameType>[]> {
    return this.getJobs(['waiting-children'], start, end, true);
  }

  /** Pauses the queue for every worker sharing the spool: nobody claims while it is paused. */
  async pause(): Promise<void> {
    this.assertOpen();
    const marker = path.join(this.store.dir, 'paused');
    try {
      fs.writeFileSync(marker, `${Date.now()}\n`, { flag: 'wx', mode: this.store.modes.file });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') rethrowFs(err, this.store.dir);
    }
    this.store.events.append('paused', {});
    this.store.wakeLocal(); // this process's workers re-read the marker at once
    this.emit('paused');
  }

  /** Resumes a paused queue. */
  async resume(): Promise<void> {
    this.assertOpen();
    try {
      fs.unlinkSync(path.join(this.store.dir, 'paused'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') rethrowFs(err, this.store.dir);
    }
    this.store.events.append('resumed', {});
    this.store.wakeLocal();
    this.emit('resumed');
    // Inline: the jobs added while paused run now, as a worker would take them.
    await this.runReadyInline();
  }

  /** @internal Inline mode: runs the jobs waiting (a retry, a resume), in the order a worker takes them. */
  async runReadyInline(): Promise<void> {
    if (this.inline) await runWaitingInline(this);
  }

  /** True while the queue is paused. */
  async isPaused(): Promise<boolean> {
    this.assertOpen();
    return this.store.isPaused();
  }

  /** True when the queue has a global concurrency and that many jobs are active (a rate limit does not count). */
  async isMaxed(): Promise<boolean> {
    this.assertOpen();
    const cap = readGlobalConcurrency(this.store);
    return cap !== undefined && activeCount(this.store) >= cap;
  }

  /** Removes waiting and prioritized jobs, and delayed ones when `delayed` is true. */
  async drain(delayed = false): Promise<void> {
    this.assertOpen();
    bulk.drain(this.store, delayed);
  }

  /** Removes up to `limit` jobs of `type` (default completed) older than `grace` ms; returns their ids. */
  async clean(grace: number, limit: number, type: CleanType = 'completed'): Promise<string[]> {
    this.assertOpen();
    const checked = checkCleanArgs(grace, limit, type);
    const t = checked.type === 'wait' ? 'waiting' : checked.type;
    // 'paused' is an empty state in BullMQ v6: paused jobs stay waiting.
    const ids = t === 'paused' ? [] : bulk.clean(this.store, checked.graceMs, checked.limit, t);
    this.store.events.append('cleaned', { count: ids.length });
    this.emit('cleaned', ids, t === 'waiting' ? 'wait' : t);
    return ids;
  }

  /**
   * Removes the queue and everything in it. Pauses it first, as BullMQ does, and refuses while
   * jobs are active unless `force` (the queue then stays paused).
   */
  async obliterate(opts: ObliterateOpts = {}): Promise<void> {
    await this.pause();
    // Workers re-read the pause marker at least every 50 ms: once they all have, none claims
    // more, and the check for active jobs holds (a claim that still slips in is kept: bulk.ts).
    if (!opts.force) await sleep(PAUSE_SEEN_MS);
    bulk.obliterate(this.store, !!opts.force);
  }

  /** Removes a job; 0 when a worker holds it, else 1 (also for a job that does not exist, as in BullMQ). */
  async remove(jobId: string, { removeChildren = true }: { removeChildren?: boolean } = {}): Promise<number> {
    this.assertOpen();
    const id = lookupJobId(jobId);
    if (id === undefined) return 1;
    const n = admin.removeJob(this.store, id, { removeChildren });
    if (n > 0) this.emit('removed', id);
    else if (!admin.isLocked(this.store, id) && !readJob(this.store, id)) return 1;
    return n;
  }

  /** Moves failed (or completed) jobs finished before `timestamp` back to waiting. */
  async retryJobs(opts: { count?: number; state?: 'completed' | 'failed'; timestamp?: number } = {}): Promise<void> {
    this.assertOpen();
    const state = opts.state ?? 'failed';
    if (state !== 'completed' && state !== 'failed') {
      throw new SpoolkitError('ERR_USAGE', `retryJobs retries 'completed' or 'failed' jobs, got state ${JSON.stringify(state)}.`);
    }
    const { count, timestamp } = checkRetryJobsArgs(opts.count, opts.timestamp);
    bulk.retryJobs(this.store, state, count ?? 1000, timestamp ?? Date.now());
    await this.runReadyInline();
  }

  /** Promotes every delayed job to waiting. */
  async promoteJobs(opts: { count?: number } = {}): Promise<void> {
    this.assertOpen();
    const count = opts.count ?? 1000;
    if (!Number.isSafeInteger(count) || count < 1) throw new SpoolkitError('ERR_USAGE', `promoteJobs count must be a positive integer (jobs per batch), got ${String(opts.count)}.`);
    // Every delayed job, `count` at a time as BullMQ does, letting the event loop run between
    // batches; the walk holds one leaf's listing at a time, however big the set.
    const entries = this.store.delayed.entries(false);
    while (!bulk.promoteSome(this.store, entries, count).done) await new Promise((resolve) => setImmediate(resolve));
    await this.runReadyInline();
  }

  /** Log rows of a job. */
  async getJobLogs(jobId: string, start = 0, end = -1, asc = true): Promise<{ logs: string[]; count: number }> {
    this.assertOpen();
    const id = lookupJobId(jobId);
    const rows = id !== undefined ? readLogRows(this.store, id) : [];
    const ordered = asc ? rows : [...rows].reverse();
    return { logs: bulk.sliceRange(ordered, start, end), count: rows.length };
  }

  /** Appends a log row to a job; returns the number of rows (kept to the last `keepLogs` when > 0). */
  async addJobLog(jobId: string, logRow: string, keepLogs?: number): Promise<number> {
    this.assertOpen();
    return appendLog(this.store, idOrMissing(jobId, 'addLog'), logRow, keepLogs);
  }

  /** Sets a job's progress. */
  async updateJobProgress(jobId: string, progress: JobProgress): Promise<void> {
    this.assertOpen();
    jobId = idOrMissing(jobId, 'updateProgress');
    toJsonStrict(progress, 'progress');
    patchStored(this.store, jobId, 'updateProgress', { progress });
    this.store.events.append('progress', { jobId, data: progress });
    this.emit('progress', jobId, progress);
  }

  /** The id of the job holding a deduplication key, or null. */
  async getDeduplicationJobId(id: string): Promise<string | null> {
    this.assertOpen();
    return admin.deduplicationJobId(this.store, dedupIdArg(id, 'getDeduplicationJobId'));
  }

  /** Frees a deduplication key; 1 when it existed. */
  async removeDeduplicationKey(id: string): Promise<number> {
    this.assertOpen();
    return admin.removeDeduplicationKey(this.store, dedupIdArg(id, 'removeDeduplicationKey'));
  }

  /** BullMQ's older name of {@link getDeduplicationJobId}. */
  async getDebounceJobId(id: string): Promise<string | null> {
    return this.getDeduplicationJobId(id);
  }

  /** BullMQ's older name of {@link removeDeduplicationKey}. */
  async removeDebounceKey(id: string): Promise<number> {
    return this.removeDeduplicationKey(id);
  }

  /** Workers serving this queue, from their heartbeat files. */
  async getWorkers(): Promise<WorkerHeartbeat[]> {
    this.assertOpen();
    // A worker killed without closing leaves its heartbeat: listed only while it is fresh, as a
    // dead BullMQ worker's connection drops out of CLIENT LIST.
    return ofKind(readHeartbeats(this.store.root), 'worker').filter((w) => w.queues.includes(this.name) && w.ageMs < STALE_HEARTBEAT_MS);
  }

  /** Number of workers serving this queue. */
  async getWorkersCount(): Promise<number> {
    return (await this.getWorkers()).length;
  }

  /** Creates or updates a job scheduler (cron pattern or fixed interval). */
  async upsertJobScheduler(jobSchedulerId: NameType, repeatOpts: Record<string, unknown>, jobTemplate?: { name?: NameType; data?: DataType; opts?: JobsOptions }): Promise<Job<DataType, ResultType, NameType>> {
    return (await scheduler()).upsertJobScheduler!(this, jobSchedulerId, repeatOpts, jobTemplate) as Promise<Job<DataType, ResultType, NameType>>;
  }

  /** A job scheduler by id. */
  async getJobScheduler(id: string): Promise<any> {
    return (await scheduler()).getJobScheduler!(this, id);
  }

  /** Job schedulers, ordered by next run. */
  async getJobSchedulers(start?: number, end?: number, asc?: boolean): Promise<any[]> {
    return (await scheduler()).getJobSchedulers!(this, start, end, asc) as Promise<any[]>;
  }

  /** Number of job schedulers. */
  async getJobSchedulersCount(): Promise<number> {
    return (await scheduler()).getJobSchedulersCount!(this) as Promise<number>;
  }

  /** Removes a job scheduler; true when it existed. */
  async removeJobScheduler(jobSchedulerId: string): Promise<boolean> {
    return (await scheduler()).removeJobScheduler!(this, jobSchedulerId) as Promise<boolean>;
  }

  /**
   * Runs at most `concurrency` jobs of the queue at once, across every worker in any process
   * sharing the spool (each worker's own `concurrency` still bounds it). Returns 1 when the queue
   * had no global concurrency, else 0 (Redis's count of new fields).
   */
  async setGlobalConcurrency(concurrency: number): Promise<number> {
    this.assertOpen();
    if (typeof concurrency !== 'number' || !Number.isInteger(concurrency) || concurrency < 1) {
      throw new SpoolkitError('ERR_CONFIG', `setGlobalConcurrency: expected a whole number of jobs >= 1, got \`${String(concurrency)}\`. removeGlobalConcurrency() lifts the limit.`);
    }
    return writeGlobalConcurrency(this.store, concurrency) ? 1 : 0;
  }
  /** The queue's global concurrency, or null. */
  async getGlobalConcurrency(): Promise<number | null> {
    this.assertOpen();
    return readGlobalConcurrency(this.store) ?? null;
  }
  /** Removes the queue's global concurrency: 1 when there was one, else 0. */
  async removeGlobalConcurrency(): Promise<number> {
    this.assertOpen();
    return removeGlobalConcurrency(this.store) ? 1 : 0;
  }
  /**
   * Limits every worker of the queue, in any process, to `max` job starts per `duration` ms. A
   * worker's own `limiter.duration` still sets its windows (as in BullMQ). Returns 2 when the queue
   * had no global limit, else 0 (Redis's count of new fields).
   */
  async setGlobalRateLimit(max: number, duration: number): Promise<number> {
    this.assertOpen();
    const problem = rateLimitProblem(max, duration);
    if (problem) throw new SpoolkitError('ERR_CONFIG', `setGlobalRateLimit: ${problem}. Example: setGlobalRateLimit(10, 1000) starts at most 10 jobs a second.`);
    return writeGlobalRateLimit(this.store, { max, duration }) ? 2 : 0;
  }
  /** The queue's global rate limit, or null. */
  async getGlobalRateLimit(): Promise<GlobalRateLimit | null> {
    this.assertOpen();
    return readGlobalRateLimit(this.store) ?? null;
  }
  /** Removes the queue's global rate limit: 2 when there was one, else 0. */
  async removeGlobalRateLimit(): Promise<number> {
    this.assertOpen();
    return removeGlobalRateLimit(this.store) ? 2 : 0;
  }
  /** Lets no worker with a rate limit take a job for `expireTimeMs` (BullMQ's manual rate limit). */
  async rateLimit(expireTimeMs: number): Promise<void> {
    this.assertOpen();
    assertRateLimitMs(expireTimeMs, 'rateLimit');
    this.rateLimiter().limitFor(Math.ceil(expireTimeMs), Date.now());
  }
  /**
   * Milliseconds until the queue's rate limit lets jobs start again: with `maxJobs` (or a global
   * limit), 0 while the current window holds fewer starts; without either, the time left in the
   * current window, or -2 when there is none.
   */
  async getRateLimitTtl(maxJobs?: number): Promise<number> {
    this.assertOpen();
    const max = maxJobs || readGlobalRateLimit(this.store)?.max;
    return this.rateLimiter().ttl(max, Date.now());
  }
  private rateLimiter(): RateLimiter {
    return (this.limiterState ??= new RateLimiter(this.store));
  }
  /** Ends the current rate-limit window: 1 when one was live, else 0. */
  async removeRateLimitKey(): Promise<number> {
    this.assertOpen();
    return this.rateLimiter().remove(Date.now());
  }
  /**
   * The queue's throughput metrics (collected by Workers with the `metrics` option, in any process
   * on the spool): `meta.count` finishes in all, `data` the finishes of each whole minute, newest
   * first, `count` how many minutes `data` has before `start` and `end` (LRANGE indexes) cut it.
   */
  async getMetrics(type: MetricType, start = 0, end = -1): Promise<Metrics> {
    this.assertOpen();
    if (type !== 'completed' && type !== 'failed') {
      throw new UsageError(`Queue.getMetrics: the type must be 'completed' or 'failed', got \`${String(type)}\`.`);
    }
    return readMetrics(this.store, type, start, end);
  }
  /** Not supported: the event log is trimmed by size. */
  async trimEvents(_maxLength: number): Promise<number> {
    throw new NotSupportedError('Queue.trimEvents', 'the event log rotates by size on its own');
  }
  /**
   * The queue's job counts by state and its completed and failed totals (`getMetrics`), in the
   * Prometheus text format, with BullMQ's metric names; `globalVariables` become labels of every
   * sample.
   */
  async exportPrometheusMetrics(globalVariables?: Record<string, string>): Promise<string> {
    const counts = await this.getJobCounts();
    const [completed, failed] = await Promise.all([this.getMetrics('completed'), this.getMetrics('failed')]);
    return prometheusText([{ queue: this.name, counts, completedTotal: completed.meta.count, failedTotal: failed.meta.count }], globalVariables, 'Queue.exportPrometheusMetrics');
  }
  /** Not supported: Redis metadata. */
  async getMeta(): Promise<never> {
    throw new NotSupportedError('Queue.getMeta');
  }
  /** Not supported: Redis version. */
  async getVersion(): Promise<never> {
    throw new NotSupportedError('Queue.getVersion', 'SPOOL_FORMAT_VERSION names the spool format');
  }
  /** Not supported: QueueEvents are not connections to list; see getWorkers() for workers. */
  async getQueueEvents(): Promise<never> {
    throw new NotSupportedError('Queue.getQueueEvents');
  }
  /**
   * A page of a parent's children (BullMQ's getDependencies): `processed` ones as
   * `{ id: <child key>, v: <return value> }`, any other `type` the unprocessed ones as `{ id }`;
   * `jobs` the children's JSON forms (those that still exist), `total` the count of that kind.
   * `end` is inclusive, -1 the last.
   */
  async getDependencies(parentId: string, type: 'processed' | 'pending' | string, start = 0, end = -1): Promise<{ items: { id: string; v?: unknown }[]; jobs: JobJson[]; total: number }> {
    this.assertOpen();
    const id = lookupJobId(parentId);
    const deps = id !== undefined ? dependenciesOf(this.store, id) : { processed: [], unprocessed: [], failed: [], ignored: [] };
    const all = type === 'processed' ? deps.processed.map(([ref, v]) => ({ ref, v })) : deps.unprocessed.map((ref) => ({ ref }));
    const page = bulk.sliceRange(all, start, end);
    const items = page.map((e) => ({ id: keyOfRef(e.ref), ...('v' in e ? { v: e.v } : {}) }));
    const jobs: JobJson[] = [];
    for (const e of page) {
      const { queue, id } = splitRef(e.ref);
      const found = readJob(siblingStore(this.store, queue), id);
      if (found) jobs.push(Job.fromRecord({ name: queue, store: siblingStore(this.store, queue) }, found.rec).asJSON());
    }
    return { items, jobs, total: all.length };
  }
  /** Not supported: orphaned job keys are a Redis matter; the stalled check tidies the spool. */
  async removeOrphanedJobs(): Promise<never> {
    throw new NotSupportedError('Queue.removeOrphanedJobs');
  }

  /** Closes the queue, as BullMQ's `disconnect()` closes its connection. */
  async disconnect(): Promise<void> {
    return this.close();
  }

  /**
   * Closes the queue: writes pending events and returns unused automatic ids, both best effort (on
   * a full disk the events are dropped and the ids skipped; no job is affected).
   */
  async close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        runWaitingAdds(this.store);
        this.store.events.flushQuietly();
        IdAllocator.for(this.store).release();
      })();
    }
    return this.closing;
  }
}
