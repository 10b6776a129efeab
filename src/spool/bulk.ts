/**
 * Queue-wide operations: listing (getJobs), drain, clean, obliterate, retryJobs, promoteJobs.
 * These list directories and are meant for dashboards and maintenance, not hot paths.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SpoolkitError } from '../errors.js';
import type { JobType } from '../types.js';
import { forgetJob, isLocked, isStandingSchedulerRun, promoteFile, retryFinished } from './admin.js';
import { isErrno, mkdirp, rethrowFs, tryReaddir, tryStat } from './fs.js';
import { listSegments, segName } from './events.js';
import { IdAllocator } from './id-alloc.js';
import { isDiscardName, isSetHoldName, keyMs, lifoKeyTime } from './keys.js';
import { leaseLive, leaseTime } from './lease.js';
import { DEFAULT_LOCK_DURATION_MS } from './defaults.js';
import { readJob } from './lookup.js';
import type { OrderedSet, SetEntry } from './ordered-set.js';
import { discardJobFile } from './pool.js';
import { parseJobRecord, type JobRecord } from './record.js';
import { claimIdOf, type QueueStore } from './store.js';

/** A job file found by a listing. */
export interface Listed {
  id: string;
  path: string;
  /** Sort time: enqueue/due time for sets, lease time for active, finish time for finished jobs. */
  at: number;
}

/**
 * Normalises a type name: `wait` is `waiting`. `paused` stays a state of its own, always empty:
 * in BullMQ v6 pausing is a queue flag and paused jobs stay `waiting`.
 */
export function normalizeType(t: JobType): string {
  if (t === 'wait') return 'waiting';
  if (t === 'repeat') throw new SpoolkitError('ERR_NOT_SUPPORTED', `The 'repeat' job type is not supported by spoolkit: BullMQ v6 has no repeatable jobs; use getJobSchedulers(). See docs/bullmq-differences.md.`);
  return t;
}

/** The sets that hold a state, in the order its entries are walked (claim order, or its reverse). */
function setsOf(store: QueueStore, type: string, desc: boolean): OrderedSet[] {
  if (type === 'waiting') {
    // Claim order: the LIFO set first, then waiting.
    return desc ? [store.waiting, store.lifo] : [store.lifo, store.waiting];
  }
  if (type === 'prioritized') {
    const ps = store.priorities();
    if (desc) ps.reverse();
    return ps.map((p) => store.prioritized(p));
  }
  return type === 'delayed' ? [store.delayed] : [];
}

/** Entries of a state's sets in claim order, or (`desc`) exactly its reverse. */
function* setEntries(store: QueueStore, type: string, desc: boolean): Generator<SetEntry> {
  for (const set of setsOf(store, type, desc)) yield* set.entries(desc);
}

function listedOf(e: SetEntry): Listed {
  return { id: e.id, path: e.path, at: e.path.includes(`${path.sep}lifo${path.sep}`) ? lifoKeyTime(e.key) : keyMs(e.key) };
}

function flatList(store: QueueStore, dirs: string[]): Listed[] {
  const out: Listed[] = [];
  for (const d of dirs) {
    const dir = path.join(store.dir, d);
    for (const name of tryReaddir(dir)) {
      const claimed = d === 'active' || d === 'reclaiming';
      // Held between two sets (a move, a replacing add) or for removal: not an active job.
      const id = claimed ? (isDiscardName(name) || isSetHoldName(name) ? undefined : claimIdOf(name)) : name.endsWith('.json') ? name.slice(0, -5) : undefined;
      if (id === undefined) continue;
      const file = path.join(dir, name);
      const st = tryStat(file);
      if (st) out.push({ id, path: file, at: claimed ? leaseTime(st) : st.mtimeMs });
    }
  }
  return out;
}

/**
 * Entries `start`..`end` (inclusive) of a list, read as Redis reads a range: a negative index
 * counts from the end (-1 is the last entry), out-of-range ends are clipped.
 */
export function sliceRange<T>(list: T[], start: number, end: number): T[] {
  const n = list.length;
  const from = start < 0 ? Math.max(0, n + start) : start;
  const to = end < 0 ? n + end : Math.min(end, n - 1);
  return from > to ? [] : list.slice(from, to + 1);
}

/**
 * Lists one state in processing order (`asc`) or its reverse, entries `start`..`end` inclusive,
 * as a Redis range (negative indexes count from the end). Finished and active jobs are ordered by
 * time. A range that needs no length (`start` >= 0, `end` >= 0 or -1) stops reading early.
 */
export function listState(store: QueueStore, type: string, start: number, end: number, asc: boolean): Listed[] {
  if (type === 'active' || type === 'completed' || type === 'failed' || type === 'waiting-children') {
    const all = flatList(store, type === 'active' ? ['active', 'reclaiming'] : [type]);
    // Equal times in id order, reversed with the rest (as Redis orders members of equal score).
    all.sort((a, b) => (asc ? a.at - b.at || (a.id < b.id ? -1 : 1) : b.at - a.at || (a.id < b.id ? 1 : -1)));
    return sliceRange(all, start, end);
  }
  // A range counted from the end (both indexes negative) is read from the other end of the
  // state, as Redis reads LRANGE/ZRANGE near their tail: entry -1 is the first one walked there.
  if (start < 0 && end < 0) {
    const tail = walkRange(store, type, asc, -end - 1, -start - 1);
    return tail.reverse();
  }
  if (start >= 0 && end >= -1) return walkRange(store, type, !asc, start, end === -1 ? Infinity : end);
  return sliceRange(walkRange(store, type, !asc, 0, Infinity), start, end);
}

/** Entries `from`..`to` (inclusive, counted from 0) of a state walked in one direction; stops after `to`. */
function walkRange(store: QueueStore, type: string, desc: boolean, from: number, to: number): Listed[] {
  const out: Listed[] = [];
  if (to < from) return out;
  let i = 0;
  for (const e of setEntries(store, type, desc)) {
    if (i >= from) out.push(listedOf(e));
    // Stops at the last entry wanted: reading one more could list another top and leaf.
    if (++i > to) break;
  }
  return out;
}

/** Delayed jobs due at or before `timestampMs`. */
export function countDelayedDue(store: QueueStore, timestampMs: number): number {
  let n = 0;
  for (const e of store.delayed.entries(false)) {
    if (keyMs(e.key) > timestampMs) break;
    n++;
  }
  return n;
}

/** Reads the records of listed jobs (following a job that moved meanwhile; skipping vanished ones). */
export function readListed(store: QueueStore, listed: Listed[]): JobRecord[] {
  const out: JobRecord[] = [];
  for (const l of listed) {
    let text: string | undefined;
    try {
      text = fs.readFileSync(l.path, 'utf8');
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) rethrowFs(err, l.path);
    }
    if (text !== undefined) {
      try {
        out.push(parseJobRecord(text, l.path));
      } catch {
        // corrupt: the claimer quarantines it; listings skip it
      }
      continue;
    }
    const moved = readJob(store, l.id);
    if (moved) out.push(moved.rec);
  }
  return out;
}

/** Removes waiting and prioritized jobs (and delayed ones when `delayed`). */
export function drain(store: QueueStore, delayed: boolean): number {
  let n = 0;
  const types = ['waiting', 'prioritized', ...(delayed ? ['delayed'] : [])];
  for (const type of types) {
    for (const e of [...setEntries(store, type, false)]) {
      n += removeSetEntry(store, e, type) ? 1 : 0;
    }
  }
  prune(store);
  return n;
}

function removeSetEntry(store: QueueStore, e: SetEntry, place: string): boolean {
  let rec: JobRecord | undefined;
  try {
    rec = parseJobRecord(fs.readFileSync(e.path, 'utf8'), e.path);
  } catch {
    rec = undefined;
  }
  // A job scheduler's next run stays, as with BullMQ's drain.
  if (rec && isStandingSchedulerRun(store, rec, place)) return false;
  if (!discardJobFile(store, e.id, e.path)) return false;
  if (rec) forgetJob(store, rec, true);
  return true;
}

/** Removes empty buckets of every set. */
export function prune(store: QueueStore, nowMs = Date.now()): void {
  store.waiting.prune(nowMs);
  store.lifo.prune(nowMs);
  store.delayed.prune(nowMs);
  for (const p of store.priorities()) store.prioritized(p).prune(nowMs);
}

/**
 * Removes up to `limit` jobs (0: no limit) of `type` older than `graceMs`: by finish time for
 * completed/failed, by creation time otherwise. Active jobs under a live lease are kept.
 */
export function clean(store: QueueStore, graceMs: number, limit: number, type: string, nowMs = Date.now()): string[] {
  const cutoff = nowMs - graceMs;
  const removed: string[] = [];
  // BullMQ: a limit of 0 means no limit; a negative one removes nothing.
  if (limit < 0) return removed;
  const max = limit > 0 ? limit : Infinity;
  if (type === 'completed' || type === 'failed' || type === 'active' || type === 'waiting-children') {
    const listed = listState(store, type, 0, -1, true);
    for (const l of listed) {
      if (removed.length >= max) break;
      const byRecord = type === 'active' || type === 'waiting-children';
      // An active job held in reclaiming/ is being moved (by the stalled check, or its worker): left alone.
      if (type === 'active' && (path.basename(path.dirname(l.path)) === 'reclaiming' || isLocked(store, l.id))) continue;
      if (!byRecord && l.at > cutoff) continue;
      const rec = readListed(store, [l])[0];
      // Active jobs by when they started; a parent by when it was added (BullMQ's waiting-children
      // score), its children staying.
      if (byRecord && (!rec || (type === 'active' ? (rec.processedOn ?? rec.timestamp) : rec.timestamp) > cutoff)) continue;
      if (!discardJobFile(store, l.id, l.path)) continue;
      if (rec) forgetJob(store, rec, true);
      removed.push(l.id);
    }
  } else {
    // Walked lazily, so a limit reads about `limit` entries and the buckets on their way, not the
    // whole state (the walk lists each leaf once, before anything in it is removed); only the
    // leaves it emptied are pruned.
    const emptied = new Map<OrderedSet, Set<string>>();
    sets: for (const set of setsOf(store, type, false)) {
      for (const e of set.entries(false)) {
        let rec: JobRecord;
        try {
          rec = parseJobRecord(fs.readFileSync(e.path, 'utf8'), e.path);
        } catch {
          continue;
        }
        if (rec.timestamp > cutoff || isStandingSchedulerRun(store, rec, type)) continue;
        if (!discardJobFile(store, e.id, e.path)) continue;
        forgetJob(store, rec, true);
        removed.push(e.id);
        let leaves = emptied.get(set);
        if (!leaves) emptied.set(set, (leaves = new Set()));
        leaves.add(path.dirname(e.path));
        if (removed.length >= max) break sets;
      }
    }
    for (const [set, leaves] of emptied) set.pruneLeaves(leaves, nowMs);
    // BullMQ lists cleaned waiting jobs from the newest down.
    if (type === 'waiting') removed.reverse();
  }
  return removed;
}

/** Removes the whole queue. Refuses while jobs are active under live leases unless `force`. */
export function obliterate(store: QueueStore, force: boolean): void {
  if (!force) {
    const live = flatList(store, ['active']).filter((l) => isLocked(store, l.id));
    if (live.length > 0) {
      throw new SpoolkitError('ERR_JOB_LOCKED', `Cannot obliterate queue with active jobs (queue ${store.name}: ${live.length} active); close its workers first or pass { force: true }.`);
    }
  }
  const trash = path.join(store.root, 'queues', `.trash-${store.name}-${process.pid}-${Date.now()}`);
  try {
    fs.renameSync(store.dir, trash);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    rethrowFs(err, store.dir);
  }
  IdAllocator.for(store).reset();
  continueEventLog(store, trash);
  store.ensureDirs();
  if (!force) keepLateClaims(store, trash);
  fs.rmSync(trash, { recursive: true, force: true });
}

/**
 * The new event log goes on from the old one's last segment number, so event ids keep increasing
 * (as BullMQ's, which are times): a reader resuming after an id of the old log moves on to the new
 * log's first segment, instead of reading a new segment of the same number from the old offset.
 * The new queue directory is made aside with that segment in it and renamed into place, so a
 * writer in another process that reopens the log never finds it empty and starts at segment 1
 * (where readers, following the higher number, would never look). If another process already
 * wrote into a directory of its own there, its log stands as it is.
 */
function continueEventLog(store: QueueStore, trash: string): void {
  const last = listSegments(path.join(trash, 'events')).at(-1);
  if (last === undefined) return;
  const staging = path.join(store.root, 'queues', `.new-${store.name}-${process.pid}-${Date.now()}`);
  try {
    mkdirp(path.join(staging, 'events'), store.modes);
    const fd = fs.openSync(path.join(staging, 'events', segName(last + 1)), 'a', store.modes.file);
    try {
      if (store.modes.chmodFiles) fs.fchmodSync(fd, store.modes.file);
    } finally {
      fs.closeSync(fd);
    }
    // Also over an empty directory another process has just made (it then makes its files in
    // this one); not over one with something in it (ENOTEMPTY).
    fs.renameSync(staging, store.dir);
  } catch (err) {
    if (!isErrno(err, 'EEXIST') && !isErrno(err, 'ENOTEMPTY')) {
      fs.rmSync(staging, { recursive: true, force: true });
      return rethrowFs(err, store.dir);
    }
  }
  fs.rmSync(staging, { recursive: true, force: true });
}

/**
 * A worker that had not yet seen the pause may have claimed a job between the check for active
 * jobs and the rename that took the queue away: that job runs, so it is not obliterated. Its
 * claim file goes back under the same name, with its id name, and the run ends as usual.
 */
export function keepLateClaims(store: QueueStore, trash: string): void {
  const now = Date.now();
  for (const name of tryReaddir(path.join(trash, 'active'))) {
    const id = claimIdOf(name);
    if (id === undefined) continue;
    const from = path.join(trash, 'active', name);
    const st = tryStat(from);
    if (!st || !leaseLive(name, st, now, DEFAULT_LOCK_DURATION_MS)) continue;
    const to = path.join(store.dir, 'active', name);
    try {
      fs.renameSync(from, to);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) continue;
      rethrowFs(err, to);
    }
    store.linkIdEntry(to, id);
  }
}

/** Moves finished jobs (finished at or before `timestamp`) back to waiting; returns how many. */
export function retryJobs(store: QueueStore, state: 'completed' | 'failed', count: number, timestamp: number): number {
  let n = 0;
  for (;;) {
    const batch = listState(store, state, 0, -1, true).filter((l) => l.at <= timestamp);
    if (batch.length === 0) return n;
    let moved = 0;
    for (const l of batch.slice(0, count > 0 ? count : batch.length)) {
      if (retryFinished(store, l.id, state, { finishedBy: timestamp })) moved++;
    }
    n += moved;
    if (moved === 0) return n;
  }
}

/**
 * Promotes up to `max` delayed jobs from `entries` (a walk of the delayed set, regardless of due
 * time), so that a caller can promote a big set in batches, holding one leaf's listing at a time.
 * `done` once the walk is over.
 */
export function promoteSome(store: QueueStore, entries: Iterator<SetEntry>, max: number): { promoted: number; done: boolean } {
  let promoted = 0;
  let done = false;
  for (let tried = 0; tried < max; tried++) {
    const next = entries.next();
    if (next.done) {
      done = true;
      break;
    }
    if (promoteFile(store, next.value.path, next.value.id)) promoted++;
  }
  if (promoted > 0) {
    store.events.flushQuietly();
    store.wakeLocal();
  }
  return { promoted, done };
}
