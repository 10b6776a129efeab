/**
 * Checks job options at `add`, with BullMQ's rules and messages where BullMQ has them, and
 * refuses the BullMQ features spoolkit does not implement instead of ignoring them.
 */
import { normalizeBackoff } from '../backoff.js';
import { NotSupportedError, SpoolkitError } from '../errors.js';
import type { JobsOptions, KeepJobs } from '../types.js';
import { assertQueueName, lookupJobId } from './validate.js';
import { shown } from '../arg-value.js';

/** Highest priority number BullMQ accepts (2^21 - 1). */
export const MAX_PRIORITY = 2 ** 21 - 1;

function bad(message: string): SpoolkitError {
  return new SpoolkitError('ERR_INVALID_JOB', message);
}

/** A `removeOnComplete` / `removeOnFail` setting, of a job or a Worker. */
export type KeepSetting = boolean | number | KeepJobs;

/**
 * What is wrong with a `removeOnComplete` / `removeOnFail` value (`field` names it); undefined
 * when it is usable. As in BullMQ, a negative count (-1, or `{ count: -1 }`) keeps every job.
 */
export function keepProblem(v: unknown, field: string): string | undefined {
  if (v === undefined || typeof v === 'boolean') return undefined;
  if (typeof v === 'number') {
    return Number.isInteger(v) ? undefined : `${field} must be true, false, a whole count (-1 keeps all) or { age, count }, got ${v}.`;
  }
  if (typeof v === 'object' && v !== null) {
    const k = v as KeepJobs;
    if (k.count !== undefined && !(typeof k.count === 'number' && Number.isInteger(k.count))) return `${field}.count must be a whole number of jobs (-1 keeps all), got ${String(k.count)}.`;
    for (const f of ['age', 'limit'] as const) {
      if (k[f] !== undefined && (typeof k[f] !== 'number' || !(k[f]! >= 0))) return `${field}.${f} must be a number >= 0 (age is in seconds).`;
    }
    return undefined;
  }
  return `${field} must be true, false, a count or { age, count }.`;
}

function checkKeep(v: unknown, field: string): void {
  const problem = keepProblem(v, field);
  if (problem) throw bad(problem);
}

/** Checks a priority (`where` names the job or call in the message). */
export function checkPriority(p: unknown, where: string): number {
  if (typeof p !== 'number' || !Number.isInteger(p)) throw bad(`Priority should not be float (${where}, priority ${String(p)}); use an integer.`);
  if (p < 0 || p > MAX_PRIORITY) throw bad(`Priority should be between 0 and ${MAX_PRIORITY} (${where}, priority ${p}).`);
  return p;
}

/** Checks a delay in ms. */
export function checkDelayMs(d: unknown, where: string): number {
  if (typeof d !== 'number' || !Number.isFinite(d) || d < 0) throw bad(`delay must be a number of ms >= 0 (${where}, delay ${String(d)}).`);
  return d;
}

/** Checks a time in ms since the epoch (`field` is the option's or argument's name). */
export function checkTimestampMs(t: unknown, field: string, where: string): number {
  if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) {
    throw bad(`${field} must be a time in ms since the epoch, a finite number >= 0 such as Date.now() (${where}, got ${shown(t)}).`);
  }
  return t;
}

/** Options that BullMQ reads as not set when they are null (it adds the job with their defaults, and stores nothing for them). */
const NULL_MEANS_UNSET = ['priority', 'delay', 'attempts', 'backoff', 'timestamp', 'keepLogs', 'removeOnComplete', 'removeOnFail', 'deduplication', 'jobId'] as const;

/**
 * The options without those given as "not set": a null among NULL_MEANS_UNSET, and `jobId: ''`
 * (BullMQ gives such a job an automatic id). Applied before validation, so they are not stored.
 */
export function withoutUnsetOptions(opts: JobsOptions): JobsOptions {
  let out: JobsOptions | undefined;
  for (const key of NULL_MEANS_UNSET) {
    if ((opts[key] as unknown) === null || (key === 'jobId' && opts.jobId === '')) {
      out ??= { ...opts };
      delete out[key];
    }
  }
  return out ?? opts;
}

/**
 * The options as stored with the job, as BullMQ's Job makes them: a numeric `backoff` becomes
 * `{ type: 'fixed', delay }`, and `repeatJobKey` leaves `opts` (it is a field of the job).
 */
export function storedJobOptions(opts: JobsOptions): JobsOptions {
  if (typeof opts.backoff !== 'number' && opts.repeatJobKey === undefined) return opts;
  const { repeatJobKey: _repeatJobKey, ...stored } = opts;
  if (typeof stored.backoff === 'number') stored.backoff = normalizeBackoff(stored.backoff)!;
  return stored;
}

/** What a child's final failure does to its parent; at most one may be set (BullMQ's order). */
export const FAILURE_OPTIONS = ['removeDependencyOnFailure', 'failParentOnFailure', 'continueParentOnFailure', 'ignoreDependencyOnFailure'] as const;

/**
 * Checks a `backoff` option. A delay that is not a finite number (Infinity, NaN, '5000') is
 * refused: the retry would come at once, with no backoff at all. A negative one retries at once,
 * as in BullMQ.
 */
function checkBackoff(b: unknown, job: string): void {
  if (typeof b === 'number') {
    if (!(b >= 0 && Number.isFinite(b))) throw bad(`backoff must be a delay in ms, a finite number >= 0, or { type, delay } (${job}, backoff ${String(b)}).`);
    return;
  }
  if (typeof b !== 'object' || b === null || typeof (b as { type?: unknown }).type !== 'string') {
    throw bad(`backoff must be a delay in ms or { type: 'fixed' | 'exponential' | <custom>, delay, jitter }.`);
  }
  const { delay, jitter } = b as { delay?: unknown; jitter?: unknown };
  // null is no delay, as left out (BullMQ's fixed strategy returns it, so the retry comes at once).
  if (delay !== undefined && delay !== null && !(typeof delay === 'number' && Number.isFinite(delay))) {
    throw bad(`backoff.delay must be a finite number of ms, such as 1000 (${job}, got ${shown(delay)}).`);
  }
  if (jitter !== undefined && !((jitter as number) >= 0 && (jitter as number) <= 1)) throw bad(`Jitter should be between 0 and 1 (backoff.jitter ${String(jitter)}).`);
}

/** Throws when `opts` holds an invalid or unsupported option. */
export function validateJobOptions(opts: JobsOptions, name: string): void {
  if (Object.prototype.hasOwnProperty.call(opts, 'debounce')) throw bad('Debounce option has been removed. Use deduplication option instead');
  if (opts.repeat !== undefined) {
    throw new NotSupportedError('The repeat option of add()', 'BullMQ v6 removed it too; use queue.upsertJobScheduler(id, { every | pattern }, { name, data })');
  }
  const job = `job ${JSON.stringify(name)}`;
  const p = opts.parent as unknown;
  if (p !== undefined) {
    if (typeof p !== 'object' || p === null || typeof (p as { id?: unknown }).id !== 'string' || typeof (p as { queue?: unknown }).queue !== 'string' || (p as { id: string }).id === '') {
      throw bad(`parent must be { id: string, queue: string } (the parent job's id and its queue, e.g. parentJob.queueQualifiedName), ${job}.`);
    }
    const parentId = (p as { id: string }).id;
    if (lookupJobId(parentId) === undefined) throw bad(`parent.id ${JSON.stringify(parentId)} cannot be a job id (no path separators, '..' or control characters), ${job}.`);
    // The queue part of a qualified name (`bull:emails` -> `emails`), as deps.ts reads it.
    const parentQueue = (p as { queue: string }).queue;
    try {
      assertQueueName(parentQueue.slice(parentQueue.lastIndexOf(':') + 1));
    } catch (err) {
      throw bad(`parent.queue ${JSON.stringify(parentQueue)} names no queue (${(err as Error).message}), ${job}.`);
    }
    if (opts.deduplication) throw bad('Deduplication and parent options cannot be used together');
  }
  // BullMQ's order and message.
  const exclusive = FAILURE_OPTIONS.filter((f) => opts[f]);
  if (exclusive.length > 1) throw bad(`The following options cannot be used together: ${exclusive.join(', ')}`);
  if (opts.priority !== undefined) checkPriority(opts.priority, job);
  if (opts.delay !== undefined) checkDelayMs(opts.delay, job);
  if (opts.timestamp !== undefined) checkTimestampMs(opts.timestamp, 'timestamp', job);
  if (opts.attempts !== undefined && (typeof opts.attempts !== 'number' || !Number.isInteger(opts.attempts) || opts.attempts < 0)) {
    throw bad(`attempts must be an integer >= 0 (job ${JSON.stringify(name)}).`);
  }
  if (opts.backoff !== undefined) checkBackoff(opts.backoff, job);
  checkKeep(opts.removeOnComplete, 'removeOnComplete');
  checkKeep(opts.removeOnFail, 'removeOnFail');
  if (opts.sizeLimit !== undefined && !(typeof opts.sizeLimit === 'number' && opts.sizeLimit >= 0)) throw bad(`sizeLimit must be a number of bytes >= 0 (0: no limit).`);
  if (opts.keepLogs !== undefined && !(typeof opts.keepLogs === 'number' && opts.keepLogs >= 0)) throw bad(`keepLogs must be a number >= 0.`);
  const d = opts.deduplication;
  if (d !== undefined) {
    if (typeof d !== 'object' || d === null || typeof d.id !== 'string' || d.id === '') throw bad(`deduplication must be { id: string, ttl?: ms }.`);
    for (const flag of ['extend', 'replace', 'reschedule', 'keepLastIfActive'] as const) {
      if (d[flag] !== undefined && typeof d[flag] !== 'boolean') throw bad(`deduplication.${flag} must be true or false.`);
    }
    // As in BullMQ, a ttl of 0 or less is simple mode (the key lives until the job finishes).
    if (d.ttl !== undefined && !(typeof d.ttl === 'number' && Number.isFinite(d.ttl))) throw bad(`deduplication.ttl must be a number of ms (0 or less: no ttl).`);
  }
}
