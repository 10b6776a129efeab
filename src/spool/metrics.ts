/**
 * Throughput metrics of a queue (BullMQ's `metrics` worker option and `Queue.getMetrics`): the
 * jobs finished per minute, counted by every worker process on the spool that has metrics on.
 *
 * Files in `<queue>/metrics/`, for each type (`completed`, `failed`):
 *
 *   <type>.<minute>  the finishes of one minute (`floor(ms / 60000)`): a header of HEADER_BYTES
 *                    (`<ms of the minute's first finish> <maxDataPoints>`, space padded, newline)
 *                    and then one byte per finish, appended (O_APPEND) by whichever process
 *                    finished the job, so the minute's count is the file's size less the header.
 *                    The first finisher of a minute writes header and byte in a temp file and
 *                    links it into place, so no appender ever finds a file without its header.
 *   <type>.json      minutes folded out of their files: the total they held and the per-minute
 *                    counts still inside a window, written whole, under `<type>.lock`
 *   t.<unique>       a minute file being made (a killed process's is swept a minute later)
 *
 * When a writer moves on to a new minute and finds a minute file FOLD_BATCH_MINUTES old, it folds
 * every minute FOLD_AFTER_MINUTES old, so the directory holds a dozen files at most however long
 * the queue runs, and a reader lists it and reads those and one JSON file. Nothing here is
 * fsynced: metrics are not jobs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { applyFileMode, isErrno, mkdirp, rethrowFs, tryReadJson, tryUnlink, writeAll } from './fs.js';
import { takeLock } from './id-lock.js';
import { uniqueName } from './keys.js';
import type { QueueStore } from './store.js';

/** What is counted: jobs completed, and jobs that failed for good (retries are not counted). */
export type MetricType = 'completed' | 'failed';

/** BullMQ's `Metrics`: totals, and the finishes per minute, newest first. */
export interface Metrics {
  meta: { count: number; prevTS: number; prevCount: number };
  data: number[];
  count: number;
}

const MINUTE_MS = 60_000;
/** The largest `maxDataPoints` (minutes): about 19 years, and it fits a minute file's header. */
export const MAX_METRICS_DATA_POINTS = 10_000_000;
/** Size of a minute file's header. */
export const HEADER_BYTES = 32;
/** Minutes a minute file stays a file (a writer may still be appending to one a moment old). */
export const FOLD_AFTER_MINUTES = 3;
/**
 * Folding waits until a minute file is this old, then folds every file FOLD_AFTER_MINUTES old:
 * the folded JSON (up to `maxDataPoints` points) is rewritten every few minutes, not every minute.
 */
export const FOLD_BATCH_MINUTES = 10;
/** Age after which a temp file left by a killed process is removed. */
const STALE_TEMP_MS = 60_000;
const ONE = Buffer.from('+');
const MINUTE_FILE_RE = /^(completed|failed)\.(\d+)$/;
const TEMP_RE = /^t\./;

/** The folded part of one type's metrics. */
interface Folded {
  v: 1;
  /** Finishes in all folded minutes. */
  count: number;
  /** Every minute up to this one is folded (a file of such a minute is a leftover: ignored). */
  upTo: number;
  /** The first minute with a finish. */
  first: number;
  /** Header of the newest folded minute: its first finish and its writer's maxDataPoints. */
  lastTs: number;
  max: number;
  /** [minute, count] of folded minutes still inside a window, oldest first, plus the newest two. */
  points: [number, number][];
}

function metricsDir(store: QueueStore): string {
  return path.join(store.dir, 'metrics');
}

function header(nowMs: number, maxDataPoints: number): Buffer {
  return Buffer.from(`${nowMs} ${maxDataPoints}`.padEnd(HEADER_BYTES - 1) + '\n');
}

function parseHeader(buf: Buffer): { ts: number; max: number } | undefined {
  const m = /^(\d+) (\d+) *\n$/.exec(buf.toString('latin1'));
  return m ? { ts: Number(m[1]), max: Number(m[2]) } : undefined;
}

const APPEND_FLAGS = fs.constants.O_WRONLY | fs.constants.O_APPEND;

/**
 * Counts the finishes of one Worker. One `write(2)` of one byte per finish; a new minute costs
 * an open (or a temp file and a link for the minute's first finish) and a look for minutes to fold.
 */
export class MetricsRecorder {
  private readonly dir: string;
  private readonly open: Record<MetricType, { minute: number; fd: number }> = {
    completed: { minute: -1, fd: -1 },
    failed: { minute: -1, fd: -1 },
  };

  constructor(
    private readonly store: QueueStore,
    readonly maxDataPoints: number,
  ) {
    this.dir = metricsDir(store);
  }

  /** Counts one finish of `type` at `nowMs`. */
  record(type: MetricType, nowMs: number): void {
    const minute = Math.floor(nowMs / MINUTE_MS);
    const cur = this.open[type];
    if (cur.minute === minute) {
      try {
        fs.writeSync(cur.fd, ONE);
      } catch (err) {
        // The next finish opens the minute's file again.
        this.closeFile(type);
        throw err;
      }
      return;
    }
    this.closeFile(type);
    cur.fd = this.openMinute(type, minute, nowMs);
    cur.minute = minute;
    this.foldOld(type, minute, nowMs);
  }

  /** Closes the open minute files. */
  close(): void {
    this.closeFile('completed');
    this.closeFile('failed');
  }

  private closeFile(type: MetricType): void {
    const cur = this.open[type];
    const fd = cur.fd;
    cur.fd = -1;
    cur.minute = -1;
    if (fd >= 0) fs.closeSync(fd);
  }

  /** Opens the minute's file for appending, with this finish counted in it. */
  private openMinute(type: MetricType, minute: number, nowMs: number): number {
    const file = path.join(this.dir, `${type}.${minute}`);
    for (let round = 0; round < 3; round++) {
      const fd = tryOpenAppend(file);
      if (fd !== undefined) {
        try {
          fs.writeSync(fd, ONE);
        } catch (err) {
          fs.closeSync(fd);
          throw err;
        }
        return fd;
      }
      const made = this.makeMinute(file, nowMs);
      if (made !== undefined) return made;
    }
    throw new Error(`Could not open the metrics file ${file}: it kept vanishing (obliterate running?).`);
  }

  /** Makes the minute's file with this finish in it; undefined when another process made it first. */
  private makeMinute(file: string, nowMs: number): number | undefined {
    mkdirp(this.dir, this.store.modes);
    const tmp = path.join(this.dir, `t.${uniqueName()}`);
    const fd = fs.openSync(tmp, fs.constants.O_CREAT | fs.constants.O_EXCL | APPEND_FLAGS, this.store.modes.file);
    try {
      applyFileMode(fd, this.store.modes);
      writeAll(fd, Buffer.concat([header(nowMs, this.maxDataPoints), ONE]));
      fs.linkSync(tmp, file);
      return fd;
    } catch (err) {
      fs.closeSync(fd);
      if (isErrno(err, 'EEXIST')) return undefined;
      return rethrowFs(err, file);
    } finally {
      tryUnlink(tmp);
    }
  }

  /** Folds minute files FOLD_AFTER_MINUTES old into `<type>.json`, unless another process is at it. */
  private foldOld(type: MetricType, minute: number, nowMs: number): void {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return;
      throw err;
    }
    const old: number[] = [];
    let oldest = minute;
    for (const name of names) {
      const m = MINUTE_FILE_RE.exec(name);
      if (m) {
        const at = Number(m[2]);
        if (m[1] === type && at <= minute - FOLD_AFTER_MINUTES) old.push(at);
        if (m[1] === type) oldest = Math.min(oldest, at);
      } else if (TEMP_RE.test(name)) sweepTemp(path.join(this.dir, name), nowMs);
    }
    if (old.length === 0 || oldest > minute - FOLD_BATCH_MINUTES) return;
    const lock = path.join(this.dir, `${type}.lock`);
    if (!takeLock(this.store, lock, nowMs)) return;
    try {
      fold(this.store, type, old);
    } finally {
      tryUnlink(lock);
    }
  }
}

function tryOpenAppend(file: string): number | undefined {
  try {
    return fs.openSync(file, APPEND_FLAGS);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    return rethrowFs(err, file);
  }
}

function sweepTemp(file: string, nowMs: number): void {
  try {
    if (nowMs - fs.statSync(file).mtimeMs > STALE_TEMP_MS) tryUnlink(file);
  } catch {
    // gone already
  }
}

/** One minute file as read: its count and header (undefined when it vanished meanwhile). */
function readMinute(file: string): { count: number; ts: number; max: number } | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
  try {
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(HEADER_BYTES);
    const got = fs.readSync(fd, buf, 0, HEADER_BYTES, 0);
    const h = got === HEADER_BYTES ? parseHeader(buf) : undefined;
    return { count: Math.max(0, size - HEADER_BYTES), ts: h?.ts ?? 0, max: h?.max ?? 0 };
  } finally {
    fs.closeSync(fd);
  }
}

function readFolded(dir: string, type: MetricType): Folded | undefined {
  const v = tryReadJson(path.join(dir, `${type}.json`)) as Partial<Folded> | undefined;
  if (!v || v.v !== 1 || typeof v.count !== 'number' || !Array.isArray(v.points)) return undefined;
  return v as Folded;
}

/**
 * Adds the given minutes' files to `<type>.json` and removes them. The JSON is written (renamed
 * into place) before any file goes, and names every minute it holds by `upTo`, so a reader or a
 * fold after a crash in between counts each minute once.
 */
function fold(store: QueueStore, type: MetricType, minutes: number[]): void {
  const dir = metricsDir(store);
  const base: Folded = readFolded(dir, type) ?? { v: 1, count: 0, upTo: -1, first: Number.MAX_SAFE_INTEGER, lastTs: 0, max: 0, points: [] };
  const points = new Map(base.points);
  let newest = base.points.length > 0 ? base.points[base.points.length - 1]![0] : -1;
  const done: string[] = [];
  for (const minute of minutes.sort((a, b) => a - b)) {
    const file = path.join(dir, `${type}.${minute}`);
    done.push(file);
    if (minute <= base.upTo) continue;
    const got = readMinute(file);
    base.upTo = minute;
    if (!got || got.count === 0) continue;
    base.count += got.count;
    points.set(minute, got.count);
    base.first = Math.min(base.first, minute);
    if (minute > newest) {
      newest = minute;
      base.lastTs = got.ts;
      base.max = got.max;
    }
  }
  const sorted = [...points.entries()].sort((a, b) => a[0] - b[0]);
  // A reader's window ends at the newest minute with a finish, which is no older than `newest`;
  // the two newest points are kept whatever their age (BullMQ's last push can reach far back).
  const keepFrom = newest - base.max - 1;
  base.points = sorted.filter(([m], i) => m >= keepFrom || i >= sorted.length - 2);
  store.writeAtomic(path.join(dir, `${type}.json`), JSON.stringify(base));
  for (const file of done) tryUnlink(file);
}

/**
 * BullMQ's `getMetrics(type, start, end)`, read from the files of every writer. As BullMQ's, the
 * data are the finishes of each whole minute, newest first, from the minute before the newest one
 * with a finish back to the first one with a finish, at most `maxDataPoints` of them (of the
 * writer that began that newest minute); `meta.prevTS` is that minute's first finish and
 * `meta.prevCount` the count before it. `start` and `end` index the data as Redis's LRANGE does.
 */
export function readMetrics(store: QueueStore, type: MetricType, start = 0, end = -1): Metrics {
  const dir = metricsDir(store);
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
  // Files first, then the folded JSON: a fold that ran in between is in the JSON, whose `upTo`
  // then makes the files read of its minutes ignored.
  const fileMinutes: number[] = [];
  for (const name of names) {
    const m = MINUTE_FILE_RE.exec(name);
    if (m && m[1] === type) fileMinutes.push(Number(m[2]));
  }
  const files = new Map<number, { count: number; ts: number; max: number }>();
  for (const minute of fileMinutes) {
    const got = readMinute(path.join(dir, `${type}.${minute}`));
    if (got) files.set(minute, got);
  }
  const base = readFolded(dir, type);
  const counts = new Map<number, number>(base?.points ?? []);
  let count = base?.count ?? 0;
  let newest = -1;
  let prevTS = base?.lastTs ?? 0;
  let max = base?.max ?? 0;
  let first = base && base.count > 0 ? base.first : Number.MAX_SAFE_INTEGER;
  for (const p of counts.keys()) newest = Math.max(newest, p);
  for (const [minute, got] of files) {
    if (base && minute <= base.upTo) continue;
    if (got.count === 0) continue;
    count += got.count;
    counts.set(minute, got.count);
    first = Math.min(first, minute);
    if (minute > newest) {
      newest = minute;
      prevTS = got.ts;
      max = got.max;
    }
  }
  if (count === 0 || newest < 0) return { meta: { count, prevTS: 0, prevCount: 0 }, data: [], count: 0 };
  const length = Math.min(newest - first, max);
  const data = new Array<number>(length).fill(0);
  let previous = -1;
  for (const [minute, n] of counts) {
    const i = newest - 1 - minute;
    if (i >= 0 && i < length) data[i] = n;
    if (minute < newest && minute > previous) previous = minute;
  }
  // BullMQ's push after a gap longer than the window keeps the old minute's count as the
  // window's last point (its LPUSH of the count and then max - 1 zeros, trimmed to max).
  if (previous >= 0 && newest - previous > max && length > 0) data[length - 1] = counts.get(previous)!;
  return {
    meta: { count, prevTS, prevCount: count - (counts.get(newest) ?? 0) },
    data: lrange(data, start, end),
    count: length,
  };
}

/** Redis's LRANGE of `list` (negative indexes count from the end). */
function lrange(list: number[], start: number, end: number): number[] {
  const n = list.length;
  const s = start < 0 ? Math.max(0, n + start) : start;
  const e = end < 0 ? n + end : Math.min(end, n - 1);
  return s > e || s >= n ? [] : list.slice(s, e + 1);
}
