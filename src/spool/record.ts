/**
 * The job record: one JSON file per job, moved between state directories by rename. Files are
 * untrusted input (another tool or a crash may have written them), so they are read through
 * `parseJobRecord`, which checks every field's type.
 */
import { SpoolkitError } from '../errors.js';
import type { JobProgress, JobsOptions } from '../types.js';

/** Version of the record layout, stored as `v`. */
export const RECORD_VERSION = 1;

/** A job as stored on disk. */
export interface JobRecord {
  v: number;
  id: string;
  name: string;
  data: unknown;
  opts: JobsOptions;
  timestamp: number;
  delay: number;
  priority: number;
  attemptsMade: number;
  attemptsStarted: number;
  stalledCounter: number;
  progress: JobProgress;
  returnvalue: unknown;
  failedReason?: string;
  stacktrace: string[];
  processedOn?: number;
  finishedOn?: number;
  processedBy?: string;
  /** Set by the stalled checker past `maxStalledCount`: the next claimer fails the job with this reason. */
  deferredFailure?: string;
  deduplicationId?: string;
  repeatJobKey?: string;
  /**
   * Generation: raised every time the job is written back into a queue set from active (retry,
   * stall). A lease holder remembers the generation it claimed, so a rewrite of the active file by
   * another process (progress, data) keeps the lease while a later claim of the same id does not.
   */
  gen: number;
}

function corrupt(path: string, why: string): SpoolkitError {
  return new SpoolkitError('ERR_SPOOL_CORRUPT', `Job file ${path} is corrupt: ${why}. It was quarantined; inspect it or delete it.`, { details: { path } });
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Parses and checks a job file. Throws an ERR_SPOOL_CORRUPT error naming the file and the problem. */
export function parseJobRecord(text: string, path: string): JobRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw corrupt(path, `not valid JSON (${(err as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw corrupt(path, 'not a JSON object');
  const r = raw as Record<string, unknown>;
  if (typeof r.id !== 'string' || r.id.length === 0) throw corrupt(path, 'missing id');
  if (typeof r.name !== 'string') throw corrupt(path, 'missing name');
  if (!isNum(r.timestamp)) throw corrupt(path, 'missing timestamp');
  if (r.opts !== undefined && (typeof r.opts !== 'object' || r.opts === null)) throw corrupt(path, 'opts is not an object');
  if (typeof r.v === 'number' && r.v > RECORD_VERSION) throw corrupt(path, `record version ${r.v} is newer than this spoolkit understands (${RECORD_VERSION}); upgrade spoolkit`);
  for (const k of ['delay', 'priority', 'attemptsMade', 'attemptsStarted', 'stalledCounter', 'gen', 'processedOn', 'finishedOn'] as const) {
    if (r[k] !== undefined && r[k] !== null && !isNum(r[k])) throw corrupt(path, `${k} is not a number`);
  }
  if (r.stacktrace !== undefined && r.stacktrace !== null && !Array.isArray(r.stacktrace)) throw corrupt(path, 'stacktrace is not an array');
  const rec: JobRecord = {
    v: RECORD_VERSION,
    id: r.id,
    name: r.name,
    data: r.data ?? null,
    opts: (r.opts as JobsOptions | undefined) ?? {},
    timestamp: r.timestamp,
    delay: (r.delay as number | undefined) ?? 0,
    priority: (r.priority as number | undefined) ?? 0,
    attemptsMade: (r.attemptsMade as number | undefined) ?? 0,
    attemptsStarted: (r.attemptsStarted as number | undefined) ?? 0,
    stalledCounter: (r.stalledCounter as number | undefined) ?? 0,
    progress: (r.progress as JobProgress | undefined) ?? 0,
    returnvalue: r.returnvalue ?? null,
    stacktrace: ((r.stacktrace as unknown[] | undefined) ?? []).map(String),
    gen: (r.gen as number | undefined) ?? 0,
  };
  if (typeof r.failedReason === 'string') rec.failedReason = r.failedReason;
  if (isNum(r.processedOn)) rec.processedOn = r.processedOn;
  if (isNum(r.finishedOn)) rec.finishedOn = r.finishedOn;
  if (typeof r.processedBy === 'string') rec.processedBy = r.processedBy;
  if (typeof r.deferredFailure === 'string') rec.deferredFailure = r.deferredFailure;
  if (typeof r.deduplicationId === 'string') rec.deduplicationId = r.deduplicationId;
  if (typeof r.repeatJobKey === 'string') rec.repeatJobKey = r.repeatJobKey;
  return rec;
}

/** Serialises a record; `data` is pre-serialised JSON when given (saves a second stringify on add). */
export function serializeRecord(rec: JobRecord, dataJson?: string): string {
  if (dataJson === undefined) return JSON.stringify(rec);
  const { data: _data, ...rest } = rec;
  const head = JSON.stringify(rest);
  return `${head.slice(0, -1)},"data":${dataJson}}`;
}
