/**
 * What this process last read of a parent's record: its list of children, kept between reads.
 *
 * A parent of 10,000 children has a record of half a megabyte, and each finishing child checks
 * its parent. Reading and parsing the whole record at each finish made a flow's drain quadratic.
 * Records are append-only (the spool's rule 4), so once read, a record only grows: a later look
 * reads just the lines appended since (a `Queue.add` with `parent` appends `addDeps`), after
 * checking that the file is still the one read (same inode, the same bytes at its start through
 * its timestamp, at the start of its children list, and just before where the last read ended: a
 * removed job's inode is reused for other jobs, possibly for a job of the same id).
 *
 * A view is a hint for the quick answers of a finishing child (deps.ts): every decision that
 * moves a parent is taken again on a fresh read of the record.
 */
import fs from 'node:fs';
import { isErrno } from './fs.js';
import { parseJobRecord, RECORD_VERSION, type JobRecord } from './record.js';
import type { QueueStore } from './store.js';

/** Bytes compared at least at the start of the record, and before where the last read ended. */
const HEAD_BYTES = 256;
const TAIL_BYTES = 64;
/** Bytes compared at the start of a children list written in the record's first line. */
const SAMPLE_BYTES = 128;
/** Views kept at most; the oldest goes first. */
const VIEWS_MAX = 1000;

export interface ParentView {
  /** The parent's children as its record lists them, in order. */
  deps: string[];
  /** The same, as a set. */
  known: Set<string>;
  /** Index in `deps` of the first child not yet seen accounted for (kept by the caller). */
  next: number;
}

interface Kept extends ParentView {
  ino: number;
  /** Bytes of the record read: up to its last complete line. */
  size: number;
  head: Buffer;
  /** The start of the children list in the first line, where it has one. */
  sample: { at: number; bytes: Buffer } | undefined;
  tail: Buffer;
  id: string;
  timestamp: number;
}

const views = new Map<string, Kept>();

function keyOf(store: QueueStore, parentId: string): string {
  return `${store.dir}\0${parentId}`;
}

function pread(fd: number, at: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, at + got);
    if (n === 0) break;
    got += n;
  }
  return got === length ? buf : buf.subarray(0, got);
}

/**
 * How many of the record's first bytes identify it: through its top-level `timestamp` (a record
 * starts with its version, id, name, options and timestamp, so another job of the same id in the
 * same file differs there unless added in the same millisecond with the same name and options),
 * and at least `HEAD_BYTES`; the whole first line when it does not start as spoolkit writes it.
 */
function headLength(buf: Buffer, rec: JobRecord): number {
  const firstLine = buf.indexOf(10) + 1;
  const start = Buffer.from(`{"v":${RECORD_VERSION},"id":${JSON.stringify(rec.id)},"name":${JSON.stringify(rec.name)},"opts":${JSON.stringify(rec.opts)},"timestamp":${rec.timestamp}`);
  // One byte more: the one after the timestamp's digits.
  if (!buf.subarray(0, start.length).equals(start)) return firstLine;
  return Math.min(firstLine, Math.max(start.length + 1, HEAD_BYTES));
}

/**
 * The start of the children list in the record's first line (a flow's parent is written with
 * it), compared too: a parent added again with other children differs there even when its
 * timestamp was given by the producer (`opts.timestamp`, the same at every add). A parent added
 * again with the same first children most likely has the same list, and then the view is right.
 */
function childrenSample(buf: Buffer, from: number): { at: number; bytes: Buffer } | undefined {
  const lineEnd = buf.indexOf(10);
  const at = buf.indexOf(',"deps":[', from);
  if (at < 0 || at > lineEnd) return undefined;
  return { at, bytes: Buffer.from(buf.subarray(at, Math.min(lineEnd, at + SAMPLE_BYTES))) };
}

/** Reads and parses the whole record; undefined when it is not the parent's (reused) or torn. */
function readWhole(fd: number, size: number, parentId: string, file: string): Kept | undefined {
  const buf = pread(fd, 0, size);
  const end = buf.lastIndexOf(10) + 1;
  if (end === 0) return undefined;
  let rec;
  try {
    rec = parseJobRecord(buf.toString('utf8', 0, end), file);
  } catch {
    return undefined;
  }
  if (rec.id !== parentId) return undefined;
  const deps = rec.deps ?? [];
  const headLen = headLength(buf, rec);
  return {
    deps,
    known: new Set(deps),
    next: 0,
    ino: 0,
    size: end,
    head: Buffer.from(buf.subarray(0, headLen)),
    sample: childrenSample(buf, headLen),
    tail: Buffer.from(buf.subarray(Math.max(0, end - TAIL_BYTES), end)),
    id: rec.id,
    timestamp: rec.timestamp,
  };
}

/**
 * Reads the complete lines appended since the last read and adds their children. False when the
 * file no longer starts and continues as read (another job's record now), so it must be read whole.
 */
function readAppended(fd: number, size: number, kept: Kept): boolean {
  if (!pread(fd, 0, kept.head.length).equals(kept.head)) return false;
  if (kept.sample && !pread(fd, kept.sample.at, kept.sample.bytes.length).equals(kept.sample.bytes)) return false;
  const from = kept.size - kept.tail.length;
  const buf = pread(fd, from, size - from);
  if (buf.length < kept.tail.length || !buf.subarray(0, kept.tail.length).equals(kept.tail)) return false;
  const end = buf.lastIndexOf(10) + 1;
  if (end <= kept.tail.length) return true;
  const added = buf.toString('utf8', kept.tail.length, end);
  for (const line of added.split('\n')) {
    if (line === '' || !line.includes('"addDeps"')) continue;
    let patch: unknown;
    try {
      patch = JSON.parse(line);
    } catch {
      continue; // torn: parseJobRecord skips it too
    }
    if (typeof patch !== 'object' || patch === null) continue;
    const p = patch as { addDeps?: unknown; i?: unknown; ts?: unknown };
    // As parseJobRecord: a patch naming another job was written into a reused file late.
    if ((typeof p.i === 'string' && p.i !== kept.id) || (typeof p.ts === 'number' && p.ts !== kept.timestamp)) continue;
    if (!Array.isArray(p.addDeps)) continue;
    for (const d of p.addDeps as unknown[]) {
      if (typeof d !== 'string' || kept.known.has(d)) continue;
      kept.known.add(d);
      kept.deps.push(d);
    }
  }
  kept.tail = Buffer.from(buf.subarray(Math.max(0, end - TAIL_BYTES), end));
  kept.size = from + end;
  return true;
}

/**
 * This process's view of the parent record open at `fd` (`file`, for messages), brought up to
 * date; undefined when the file is not a record of `parentId`.
 */
export function parentView(store: QueueStore, parentId: string, fd: number, file: string): ParentView | undefined {
  const st = fs.fstatSync(fd);
  const key = keyOf(store, parentId);
  const kept = views.get(key);
  if (kept && kept.ino === st.ino && st.size >= kept.size && readAppended(fd, st.size, kept)) return kept;
  if (kept) views.delete(key);
  const fresh = readWhole(fd, st.size, parentId, file);
  if (!fresh) return undefined;
  fresh.ino = st.ino;
  views.set(key, fresh);
  if (views.size > VIEWS_MAX) views.delete(views.keys().next().value!);
  return fresh;
}

/**
 * This process's view of the parent record at `file` (its place, or its id name), brought up to
 * date: 'missing' when there is no such file or it has fewer than `minLinks` names (an id name
 * alone: the job is being removed); undefined when the file is not a record of `parentId`.
 */
export function readParentView(store: QueueStore, parentId: string, file: string, minLinks = 1): ParentView | 'missing' | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return 'missing';
    throw err;
  }
  try {
    if (minLinks > 1 && fs.fstatSync(fd).nlink < minLinks) return 'missing';
    return parentView(store, parentId, fd, file);
  } finally {
    fs.closeSync(fd);
  }
}

/** How many parents this process keeps a view of (at most `VIEWS_MAX`). */
export function parentViewCount(): number {
  return views.size;
}

/** Forgets the view of a parent (it moved on, or was found out of step). */
export function forgetParentView(store: QueueStore, parentId: string): void {
  views.delete(keyOf(store, parentId));
}
