/**
 * The job record: one file per job (one inode for the job's whole life), moved between state
 * directories by rename. The file is JSON lines: the first line is the record as added; every
 * later line is a patch (an object whose fields replace the record's; `null` removes an optional
 * field) appended with O_APPEND. A patch with a `g` field applies only if `g` is at least the
 * record's generation at that point, so a late write from a worker whose lease was taken is
 * ignored; one with `i`/`ts` applies only to the job with that id and timestamp. A torn last line
 * (a crash mid-append) is ignored.
 *
 * Files are untrusted input (another tool or a crash may have written them), so they are read
 * through `parseJobRecord`, which checks every field's type.
 */
import fs from 'node:fs';
import { SpoolkitError } from '../errors.js';
import type { JobProgress, JobsOptions } from '../types.js';
import { writeAll } from './fs.js';

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
  /** Path of the set file the job was last filed under, relative to the queue directory (a lookup hint). */
  at?: string;
  /** Set by a completion patch: where the job goes (`completed`/`failed`) if a crash interrupts the move. */
  st?: 'completed' | 'failed';
  /**
   * Set by a finish whose retention setting was `false` (the job's own, or its Worker's): kept
   * forever. Retention never removes such a job, nor takes it for one whose event was lost.
   */
  keptForever?: true;
  /** Flows: the parent this job is a child of (`queue` is the bare queue name). */
  parent?: { id: string; queue: string };
  /** Flows: this job's children, as `<queue>:<id>` (queue names hold no ':'). A patch's `addDeps` adds to it. */
  deps?: string[];
  /** The job's queue, set on the files of a flow written in another queue's tmp/ (tmp-recovery.ts). */
  q?: string;
  /**
   * Generation: raised every time the job is written back into a queue set from active (retry,
   * stall). A lease holder remembers the generation it claimed, so a rewrite of the active file by
   * another process (progress, data) keeps the lease while a later claim of the same id does not.
   */
  gen: number;
}

/**
 * The error for a job file that does not parse. Nothing has moved the file yet, so the message
 * says so and how to be rid of it; `details.reason` is the same without that advice, for a
 * caller that quarantines the file (corruptReason).
 */
function corrupt(path: string, why: string): SpoolkitError {
  const reason = `Job file ${path} is corrupt: ${why}`;
  const queueDir = /^(.*[\\/]queues[\\/][^\\/]+)[\\/]/.exec(path)?.[1] ?? '<the queue directory>';
  return new SpoolkitError(
    'ERR_SPOOL_CORRUPT',
    `${reason}. It is still in place: a worker that claims the job moves the file to corrupt/ and fails the job saying why. To be rid of it now, delete the file under all its names (find ${queueDir} -samefile ${path} -delete).`,
    { details: { path, reason } },
  );
}

/** Why a job file was found corrupt, for the failed job that quarantining it records (without the advice for a file left in place). */
export function corruptReason(err: unknown): string {
  if (err instanceof SpoolkitError && typeof err.details?.reason === 'string') return err.details.reason;
  return err instanceof Error ? err.message : String(err);
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

const OPTIONAL_FIELDS = new Set(['failedReason', 'processedOn', 'finishedOn', 'processedBy', 'deferredFailure', 'deduplicationId', 'repeatJobKey', 'at', 'st', 'keptForever', 'parent']);

/** Parses and checks a job file (first line plus patches). Throws ERR_SPOOL_CORRUPT naming the file and the problem. */
export function parseJobRecord(text: string, path: string): JobRecord {
  const nl = text.indexOf('\n');
  const first = nl < 0 ? text : text.slice(0, nl);
  let raw: unknown;
  try {
    raw = JSON.parse(first);
  } catch (err) {
    throw corrupt(path, `not valid JSON (${(err as Error).message})`);
  }
  if (nl >= 0 && nl < text.length - 1 && typeof raw === 'object' && raw !== null) {
    const r = raw as Record<string, unknown>;
    const lines = text.slice(nl + 1).split('\n');
    // Children added by `addDeps` patches, gathered in one set (a parent may get thousands).
    let deps: Set<unknown> | undefined;
    for (const line of lines) {
      if (line === '') continue;
      let patch: Record<string, unknown>;
      try {
        patch = JSON.parse(line) as Record<string, unknown>;
      } catch {
        // A torn append, with the next append glued to it: that one is the suffix that parses.
        const glued = gluedPatch(line);
        if (!glued) continue;
        patch = glued;
      }
      if (typeof patch !== 'object' || patch === null) continue;
      if (typeof patch.g === 'number' && patch.g < ((r.gen as number | undefined) ?? 0)) continue;
      // A patch that names another job (by id and timestamp) was written into a reused file late: skip it.
      if ((typeof patch.i === 'string' && patch.i !== r.id) || (typeof patch.ts === 'number' && patch.ts !== r.timestamp)) continue;
      for (const [k, v] of Object.entries(patch)) {
        if (k === 'g' || k === 'i' || k === 'ts') continue;
        if (k === 'addDeps') {
          if (!Array.isArray(v)) continue;
          deps ??= new Set(Array.isArray(r.deps) ? (r.deps as unknown[]) : []);
          for (const d of v as unknown[]) deps.add(d);
          r.deps = deps;
          continue;
        }
        if (v === null && OPTIONAL_FIELDS.has(k)) delete r[k];
        else r[k] = v;
      }
    }
    if (deps) r.deps = [...deps];
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
  if (typeof r.at === 'string') rec.at = r.at;
  if (r.st === 'completed' || r.st === 'failed') rec.st = r.st;
  if (r.keptForever === true) rec.keptForever = true;
  if (typeof r.parent === 'object' && r.parent !== null) {
    const p = r.parent as Record<string, unknown>;
    if (typeof p.id !== 'string' || typeof p.queue !== 'string') throw corrupt(path, 'parent is not { id, queue }');
    rec.parent = { id: p.id, queue: p.queue };
  }
  if (r.deps !== undefined) {
    if (!Array.isArray(r.deps) || r.deps.some((d) => typeof d !== 'string')) throw corrupt(path, 'deps is not a list of strings');
    rec.deps = r.deps as string[];
  }
  if (typeof r.q === 'string') rec.q = r.q;
  return rec;
}

/**
 * A patch: fields to replace; `null` removes an optional field; `g` guards against stale writers;
 * `i` and `ts` (the job's id and timestamp) guard a write through a kept descriptor against a file
 * that was reused for another job meanwhile.
 */
export type RecordPatch = { [K in keyof JobRecord]?: JobRecord[K] | null } & { g?: number; i?: string; ts?: number; addDeps?: string[] };

/** Open flags of a patch append: never O_CREAT, so a name that was taken away is not brought back as a stray file. */
const APPEND_EXISTING = fs.constants.O_WRONLY | fs.constants.O_APPEND;

/**
 * Appends a patch line to a job file (O_APPEND: one write, never interleaved). Throws ENOENT when
 * the file is gone; it never creates one (a worker whose claim name was taken must not recreate it).
 */
export function appendPatch(file: string, patch: RecordPatch): void {
  const fd = fs.openSync(file, APPEND_EXISTING);
  try {
    writePatch(fd, patch);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Writes a patch line through a descriptor opened with O_APPEND, all of it or an error. A line cut
 * short (a full disk) stays as a fragment, and the next append (maybe another process's) is
 * glued to it: the reader takes that next line back (parseJobRecord). Cutting the fragment off
 * instead could cut another process's append made in between.
 */
export function writePatch(fd: number, patch: RecordPatch): void {
  writeAll(fd, Buffer.from(`${JSON.stringify(patch)}\n`));
}

/**
 * The whole patch at the end of a line that starts with a torn one: the suffix, starting at a `{"`,
 * that parses. A suffix starting inside the fragment cannot parse (the fragment leaves an object
 * open that the whole patch after it does not close).
 */
function gluedPatch(line: string): Record<string, unknown> | undefined {
  for (let k = line.indexOf('{"', 1); k > 0; k = line.indexOf('{"', k + 1)) {
    try {
      const v = JSON.parse(line.slice(k)) as unknown;
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Serialises a record; `data` is pre-serialised JSON when given (saves a second stringify on add). */
export function serializeRecord(rec: JobRecord, dataJson?: string): string {
  if (dataJson === undefined) return `${JSON.stringify(rec)}\n`;
  const { data: _data, ...rest } = rec;
  const head = JSON.stringify(rest);
  return `${head.slice(0, -1)},"data":${dataJson}}\n`;
}
