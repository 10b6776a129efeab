/**
 * Retention of finished jobs (`removeOnComplete` / `removeOnFail` as a count or `{ age, count }`).
 *
 * Nothing lists completed/ or failed/ per job. Instead the event log is the journal: every
 * `completed` and `failed` event carries the job's retention setting (`k`). A pass (at most once a
 * second per worker; one process at a time, under `retention.lock`) reads the events since its
 * saved position, keeps the finished ids in order in its state file (`retention.json` or
 * `retention.b.json`, written by turns so a crash never tears both), and removes the jobs that
 * fall out of the newest `count` or are older than `age`. The setting of the most recent finished
 * job of each kind applies (as in BullMQ, where the finishing job's setting trims the set).
 * A pass may be given a budget (events read, jobs removed); what it leaves stays in the state and
 * the event log for the next pass, which it reports as `more`.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { KeepJobs } from '../types.js';
import type { KeepSetting } from './job-options.js';
import { DEFAULT_KEEP_COMPLETED, DEFAULT_KEEP_FAILED } from './defaults.js';
import { EventTail } from './events.js';
import { removeEntries } from './deps.js';
import { removeLogs } from './finish.js';
import { discardJobFile } from './pool.js';
import { applyFileMode, isErrno, rethrowFs, tryReaddir, tryReadText, tryStat, tryUnlink, writeAll } from './fs.js';
import { stillHeld } from './add.js';
import { readDedupWithInode, removeIfSame } from './dedup-key.js';
import { parseJobRecord, type JobRecord } from './record.js';
import type { QueueStore } from './store.js';

const LOCK_STALE_MS = 30_000;
/** How often a pass also looks in completed/ and failed/ for finished jobs whose event was never written. */
const SWEEP_INTERVAL_MS = 5 * 60_000;
/** A finished job's event is in the log within milliseconds; one missing after this long never comes. */
const SWEEP_SETTLE_MS = 60_000;
/** How often a long pass marks its lock as still held (well within `LOCK_STALE_MS`). */
const LOCK_REFRESH_MS = 5_000;

type Keep = KeepSetting;

interface RetentionState {
  /** Write count: of the two state files, the valid one with the higher `seq` is current. */
  seq?: number;
  pos: string;
  savedAt?: number;
  completed: Entry[];
  failed: Entry[];
  keepCompleted?: Keep;
  keepFailed?: Keep;
  /** When the last sweep for unlogged finished jobs ran, and the change time up to which it looked. */
  sweptAt?: number;
  sweptTo?: number;
}

/**
 * This process's copy of each queue's state after its last pass, with the state file's stamp at
 * that moment. While the file keeps that stamp no other process has run a pass since, so the copy
 * (which may be ahead of the file: the read position is not saved on every pass) is used instead
 * of reading the file and the events again. Were two stamps ever equal by chance, the copy would
 * only be behind, and re-reading events is harmless.
 */
const cached = new Map<string, { stamp: string; state: RetentionState; slot: number }>();

/**
 * The two state files. Each pass that saves writes the one not holding the current state, so a
 * process killed mid-write tears only that one and the other still holds the previous state.
 */
export const RETENTION_STATE_FILES = ['retention.json', 'retention.b.json'] as const;

/** The state files' identities and last changes, and the queue directory's (new after `obliterate`); and the larger file's size. */
function stampOf(store: QueueStore): { stamp: string; bytes: number } {
  let stamp = String(fs.statSync(store.dir).ino);
  let bytes = 0;
  for (const name of RETENTION_STATE_FILES) {
    try {
      const st = fs.statSync(path.join(store.dir, name), { bigint: true });
      stamp += `:${st.ino}:${st.size}:${st.mtimeNs}`;
      bytes = Math.max(bytes, Number(st.size));
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
      stamp += ':none';
    }
  }
  return { stamp, bytes };
}

function parseState(text: string | undefined): RetentionState | undefined {
  if (!text) return undefined;
  try {
    const s = JSON.parse(text) as RetentionState;
    if (typeof s.pos !== 'string' || !Array.isArray(s.completed) || !Array.isArray(s.failed)) return undefined;
    return s;
  } catch {
    return undefined;
  }
}

/** The current state (the valid file with the higher `seq`) and its slot; slot -1 when there is none. */
function loadState(store: QueueStore): { state: RetentionState | undefined; slot: number } {
  let best: { state: RetentionState | undefined; slot: number } = { state: undefined, slot: -1 };
  RETENTION_STATE_FILES.forEach((name, slot) => {
    const state = parseState(tryReadText(path.join(store.dir, name)));
    if (state && (!best.state || (state.seq ?? 0) > (best.state.seq ?? 0))) best = { state, slot };
  });
  return best;
}

function sameKeep(a: Keep | undefined, b: Keep | undefined): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

/** The setting as bounds, or 'forever'; a negative count bounds nothing (BullMQ's -1: keep all). */
function toKeep(k: Keep | undefined, fallback: Keep): KeepJobs | 'forever' {
  const setting = k ?? fallback;
  if (setting === false) return 'forever';
  if (setting === true) return { count: 0 };
  if (typeof setting === 'number') return setting < 0 ? 'forever' : { count: setting };
  return setting;
}

/** A kept finished job; `due` (1) once a setting has put it past its bounds, until it is removed. */
type Entry = [id: string, finishedMs: number, due?: 1];

/** The latest entry per id, in list order (newest last). */
function latestPerId(list: Entry[]): Entry[] {
  const latest = new Map<string, number>();
  for (let i = 0; i < list.length; i++) latest.set(list[i]![0], i);
  return list.filter((e, i) => latest.get(e[0]) === i);
}

/**
 * The trims BullMQ makes as each job finishes, with that job's setting, noted while a pass reads
 * events: `open` entries not yet due in the list, and how many of the oldest of them a count has
 * put past its bounds (`cut`). Noted when the setting changes from one finished job to the next,
 * so jobs finished under one setting are bounded by it even when a later job's setting differs;
 * applied once, after the read (markDue), so a pass costs the list's length plus its events.
 */
interface Bounds {
  open: number;
  cut: number;
}

function boundsOf(list: Entry[]): Bounds {
  let open = 0;
  for (const e of list) if (e[2] !== 1) open++;
  return { open, cut: 0 };
}

function noteBound(b: Bounds, keep: KeepJobs | 'forever'): void {
  if (keep === 'forever' || keep.count === undefined || keep.count < 0) return;
  b.cut = Math.max(b.cut, b.open - keep.count);
}

/** Marks due the `b.cut` oldest entries not yet due. */
function markDue(list: Entry[], b: Bounds): void {
  let left = b.cut;
  for (let i = 0; i < list.length && left > 0; i++) {
    if (list[i]![2] === 1) continue;
    list[i]![2] = 1;
    left--;
  }
}

/**
 * Drops the entries of `list` that are due or fall out of `keep`, at most `maxDrop` of them (the
 * rest stay in the list, marked due, for the next pass). Returns the dropped entries, oldest first.
 */
function trim(list: Entry[], keep: KeepJobs | 'forever', nowMs: number, maxDrop: number): Entry[] {
  const unique = latestPerId(list);
  const open = unique.filter((e) => e[2] !== 1);
  let cut = 0;
  if (keep !== 'forever') {
    if (keep.count !== undefined && keep.count >= 0) cut = Math.max(0, open.length - keep.count);
    if (keep.age !== undefined) {
      const cutoff = nowMs - keep.age * 1000;
      while (cut < open.length && open[cut]![1] < cutoff) cut++;
    }
    if (keep.limit && keep.limit > 0) cut = Math.min(cut, keep.limit);
  }
  for (let i = 0; i < cut; i++) open[i]![2] = 1;
  const drop: Entry[] = [];
  const kept: Entry[] = [];
  for (const e of unique) (e[2] === 1 && drop.length < maxDrop ? drop : kept).push(e);
  list.length = 0;
  list.push(...kept);
  return drop;
}

/**
 * What an entry leads to: the file of the finished job it was written for (`file`); or, when the
 * job now under its id finished after the entry's time (removed and added again, or retried and
 * finished again), that later finish (`later`: the entry goes, and one at the later finish takes
 * its place, in case that finish's event was lost); or nothing (gone: retried, removed, or kept
 * forever).
 */
function entryFile(store: QueueStore, place: 'completed' | 'failed', entry: Entry): { file: string } | { later: number } | undefined {
  const [id, finishedBy] = entry;
  const file = store.filePath(place, id);
  const text = tryReadText(file);
  if (text === undefined) return undefined;
  let rec: JobRecord | undefined;
  try {
    rec = parseJobRecord(text, file);
  } catch {
    return { file }; // unreadable: removed, as any finished job past its retention
  }
  // Kept forever: marked by its finish, or (finished by an older version) by its own setting.
  if (rec.keptForever || (place === 'completed' ? rec.opts.removeOnComplete : rec.opts.removeOnFail) === false) return undefined;
  if (rec.finishedOn !== undefined && rec.finishedOn > finishedBy) return { later: rec.finishedOn };
  return { file };
}

/**
 * Removes dropped jobs in order until `shouldStop`, adding the ids whose files it removed to
 * `removed`, and to `later` an entry for each job that finished after its entry was written.
 * Returns how many entries it dealt with (a file already gone counts as dealt with).
 */
function removeDropped(store: QueueStore, place: 'completed' | 'failed', dropped: Entry[], removed: string[], later: Entry[], shouldStop: () => boolean): number {
  // Parents' child files go before their ids are free (a flow added again with the same ids must
  // not find them); `deps/` is listed once, and is empty or absent without flows.
  const parents = dropped.length > 0 ? new Set(tryReaddir(path.join(store.dir, 'deps'))) : undefined;
  for (let i = 0; i < dropped.length; i++) {
    if (shouldStop()) return i;
    const id = dropped[i]![0];
    const found = entryFile(store, place, dropped[i]!);
    if (!found) continue;
    if ('later' in found) {
      later.push([id, found.later]);
      continue;
    }
    if (parents?.has(id)) removeEntries(store, id);
    if (discardJobFile(store, id, found.file)) removed.push(id);
  }
  return dropped.length;
}

/**
 * Removes the log files of removed jobs. `logs/` is listed once, after the ids were freed, so
 * jobs without logs (nearly all) cost no lookup; a row appended later is undone by `appendLog`,
 * which finds the id gone.
 */
function removeLogsOf(store: QueueStore, removed: string[]): void {
  if (removed.length === 0) return;
  const logged = new Set(tryReaddir(path.join(store.dir, 'logs')));
  if (logged.size === 0) return;
  for (const id of removed) if (logged.has(`${id}.jsonl`)) removeLogs(store, id);
}

/**
 * Rewrites a state file in place (no new inode: creating and freeing inodes is the slow path on
 * ext4). Only retention passes read it, one at a time under the lock. A file torn by a crash
 * (new text over a longer old one, not yet truncated) does not parse, and the other file is used.
 */
function writeInPlace(store: QueueStore, file: string, text: string): void {
  let fd: number;
  let created = false;
  try {
    fd = fs.openSync(file, 'r+');
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) return rethrowFs(err, file);
    try {
      fd = fs.openSync(file, 'w', store.modes.file);
      created = true;
    } catch (err2) {
      // The queue's directory is gone (obliterated during the pass): there is nothing to keep.
      if (isErrno(err2, 'ENOENT')) return;
      return rethrowFs(err2, file);
    }
  }
  try {
    if (created) applyFileMode(fd, store.modes);
    const buf = Buffer.from(text);
    writeAll(fd, buf, 0);
    fs.ftruncateSync(fd, buf.length);
  } catch (err) {
    return rethrowFs(err, file);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Adds to the state the finished jobs that changed between the last sweep and a minute ago and
 * that it does not know: their `completed`/`failed` event was never written (a worker killed
 * right after the move, before its buffered events were written). It writes those events now,
 * marked late (`l`), which later passes skip. Jobs kept forever (finished with a setting of
 * `false`, their own or their Worker's, which their record keeps) are left out, as their events
 * leave them out (their events may well have been written: there is no telling).
 */
function sweepUnlogged(store: QueueStore, state: RetentionState, nowMs: number): void {
  const names = { completed: tryReaddir(path.join(store.dir, 'completed')), failed: tryReaddir(path.join(store.dir, 'failed')) };
  const from = state.sweptTo ?? 0;
  const to = nowMs - SWEEP_SETTLE_MS;
  for (const place of ['completed', 'failed'] as const) {
    const list = state[place];
    const known = new Set(list.map((e) => e[0]));
    const found: Entry[] = [];
    for (const name of names[place]) {
      if (!name.endsWith('.json')) continue;
      const id = name.slice(0, -5);
      if (known.has(id)) continue;
      const file = path.join(store.dir, place, name);
      const st = tryStat(file);
      if (!st || st.ctimeMs <= from || st.ctimeMs > to) continue;
      let rec: JobRecord;
      try {
        rec = parseJobRecord(fs.readFileSync(file, 'utf8'), file);
      } catch {
        continue;
      }
      if (rec.keptForever || (place === 'completed' ? rec.opts.removeOnComplete : rec.opts.removeOnFail) === false) continue;
      found.push([id, rec.finishedOn ?? st.mtimeMs]);
      // Listeners (QueueEvents, waitUntilFinished) learn of the outcome late rather than never.
      store.events.append(
        place,
        place === 'completed' ? { jobId: id, returnvalue: rec.returnvalue, prev: 'active' } : { jobId: id, failedReason: rec.failedReason ?? '', prev: 'active' },
        { late: true },
      );
    }
    if (found.length > 0) {
      list.push(...found);
      // Trimming by age walks the list from its oldest entry.
      list.sort((a, b) => a[1] - b[1]);
    }
  }
  state.sweptAt = nowMs;
  state.sweptTo = to;
}

/** How many names a sweep lists. */
function sweepNameCount(store: QueueStore): number {
  return ['completed', 'failed', 'dedup'].reduce((n, d) => n + tryReaddir(path.join(store.dir, d)).length, 0);
}

/**
 * Removes deduplication keys that hold nothing any more (a ttl key past its time, a simple-mode
 * key whose job is gone or finished), and names left by a process that died: a replacement's
 * aside name, a key lock, or a lock it was breaking. Nothing else would remove a key whose id is
 * never used again.
 */
function sweepDedupKeys(store: QueueStore, nowMs: number): void {
  const dir = path.join(store.dir, 'dedup');
  for (const name of tryReaddir(dir)) {
    const file = path.join(dir, name);
    if (name.endsWith('.old') || name.endsWith('.lock') || name.endsWith('.broken')) {
      removeIfSettled(file, nowMs);
      continue;
    }
    if (!name.endsWith('.json')) continue;
    const held = readDedupWithInode(file);
    if (!held) continue;
    if (held.key && stillHeld(store, held.key, held.ctimeMs, nowMs)) continue;
    // An unreadable key older than a minute is a leftover too (keys are created whole).
    if (!held.key && nowMs - held.ctimeMs < SWEEP_SETTLE_MS) continue;
    removeIfSame(store, file, held);
  }
}

/** Removes a leftover once it has not changed for SWEEP_SETTLE_MS (its writer is long gone). */
function removeIfSettled(file: string, nowMs: number): void {
  const st = tryStat(file);
  if (st && nowMs - st.ctimeMs > SWEEP_SETTLE_MS) tryUnlink(file);
}

/**
 * Removes what a process killed while breaking a lock left beside it (`<lock>.<unique>.broken`:
 * the global concurrency's lock in the queue directory, the metrics' fold locks), once settled.
 */
function sweepBrokenLocks(store: QueueStore, nowMs: number): void {
  for (const dir of [store.dir, path.join(store.dir, 'metrics')]) {
    for (const name of tryReaddir(dir)) {
      if (name.endsWith('.broken') && name.includes('.lock.')) removeIfSettled(path.join(dir, name), nowMs);
    }
  }
}

/** How much one pass may do; what is left waits for the next pass. */
export interface RetentionBudget {
  /** Most finished jobs removed. */
  maxRemovals: number;
  /** Reads of the event log, and about how many bytes each. */
  maxEventReads: number;
  maxEventBytes: number;
  /**
   * Largest state file handled (its kept ids are parsed, trimmed and written back on every pass
   * that removes anything, at a cost that grows with their number). A bigger one is left whole.
   */
  maxStateBytes: number;
  /** Most names in completed/ and failed/, and in dedup/, a due sweep lists (unlimited when absent); past it the sweep waits for a pass without this limit. */
  maxSweepNames?: number;
}

/**
 * The budget of a pass run on a worker's own thread: a few milliseconds of work (1.6-5.7 ms
 * measured on a slow disk), so a pass that finds a large backlog (another process's busy second, a retention
 * setting lowered by a deploy) holds up the worker's loop and its lease renewals no longer than
 * that. The rest goes to the retention thread (retention-thread.ts), which runs unbounded passes.
 */
export const IN_PROCESS_RETENTION_BUDGET: RetentionBudget = { maxRemovals: 50, maxEventReads: 1, maxEventBytes: 64 * 1024, maxStateBytes: 256 * 1024, maxSweepNames: 2000 };

/** A pass without limits (8 reads of up to 8 MiB of events, every removal due). */
const UNBOUNDED: RetentionBudget = { maxRemovals: Infinity, maxEventReads: 8, maxEventBytes: 8 * 1024 * 1024, maxStateBytes: Infinity };

/** What a pass did: jobs dropped from retention (0 when another process holds the lock), and whether its budget left work behind. */
export interface RetentionResult {
  removed: number;
  more: boolean;
}

/**
 * Runs one retention pass for a queue, within `budget`. `shouldStop` is asked before each removal
 * (a closing Worker); the entries not reached go back into the state for the next pass.
 */
export function runRetention(
  store: QueueStore,
  nowMs: number,
  defaults: { removeOnComplete?: KeepSetting | undefined; removeOnFail?: KeepSetting | undefined } = {},
  budget: RetentionBudget = UNBOUNDED,
  shouldStop: () => boolean = () => false,
): RetentionResult {
  const lock = path.join(store.dir, 'retention.lock');
  try {
    fs.mkdirSync(lock);
  } catch (err) {
    if (!isErrno(err, 'EEXIST')) return { removed: 0, more: false };
    try {
      if (nowMs - fs.statSync(lock).mtimeMs > LOCK_STALE_MS) fs.rmdirSync(lock);
    } catch {
      // someone else cleaned it
    }
    return { removed: 0, more: false };
  }
  try {
    const key = store.dir;
    const seen = stampOf(store);
    // About 5,000 kept ids: more than a budgeted pass should parse and rewrite.
    if (seen.bytes > budget.maxStateBytes) return { removed: 0, more: true };
    let stamp = seen.stamp;
    const copy = cached.get(key);
    // Taken out until the pass succeeds: a pass that throws half-way leaves only the files.
    cached.delete(key);
    const loaded = copy?.stamp === stamp ? copy : loadState(store);
    const state = loaded.state ?? { pos: '0', completed: [], failed: [] };
    let slot = loaded.slot;
    const tail = new EventTail(path.join(store.dir, 'events'), state.pos);
    let changed = false;
    let more = false;
    const boundsC = boundsOf(state.completed);
    const boundsF = boundsOf(state.failed);
    try {
      for (let round = 0; round < budget.maxEventReads; round++) {
        const events = tail.read(budget.maxEventBytes, (line) => line.startsWith('{"e":"completed"') || line.startsWith('{"e":"failed"'));
        for (const e of events) {
          const id = typeof e.a.jobId === 'string' ? e.a.jobId : undefined;
          if (!id || e.k === true || e.l === 1) continue;
          const k = e.k as Keep | undefined;
          // Kept forever: not in the list, and no trim (BullMQ trims only under a job's bounds).
          if (k === false) continue;
          if (e.e === 'completed') {
            if (!sameKeep(k, state.keepCompleted)) noteBound(boundsC, toKeep(state.keepCompleted, defaults.removeOnComplete ?? DEFAULT_KEEP_COMPLETED));
            state.keepCompleted = k;
            state.completed.push([id, e.t]);
            boundsC.open++;
          } else {
            if (!sameKeep(k, state.keepFailed)) noteBound(boundsF, toKeep(state.keepFailed, defaults.removeOnFail ?? DEFAULT_KEEP_FAILED));
            state.keepFailed = k;
            state.failed.push([id, e.t]);
            boundsF.open++;
          }
        }
        const pos = tail.position();
        if (pos !== state.pos) changed = true;
        state.pos = pos;
        if (!tail.truncated) break;
        // The last allowed read stopped at its byte limit: the rest waits for the next pass.
        if (round === budget.maxEventReads - 1) more = true;
      }
    } finally {
      tail.close();
    }
    markDue(state.completed, boundsC);
    markDue(state.failed, boundsF);
    // Caught up with the log: any finished job older than a minute that the state does not know
    // lost its event (its process died between the move into completed/ or failed/ and the write).
    let swept = false;
    if (!more && nowMs - (state.sweptAt ?? 0) >= SWEEP_INTERVAL_MS) {
      // A pass on a worker's own thread leaves a big sweep to the helper thread.
      if (budget.maxSweepNames !== undefined && sweepNameCount(store) > budget.maxSweepNames) more = true;
      else {
        sweepUnlogged(store, state, nowMs);
        sweepDedupKeys(store, nowMs);
        sweepBrokenLocks(store, nowMs);
        swept = true;
      }
    }
    const dropC = trim(state.completed, toKeep(state.keepCompleted, defaults.removeOnComplete ?? DEFAULT_KEEP_COMPLETED), nowMs, budget.maxRemovals);
    const dropF = trim(state.failed, toKeep(state.keepFailed, defaults.removeOnFail ?? DEFAULT_KEEP_FAILED), nowMs, budget.maxRemovals - dropC.length);
    if (dropC.length + dropF.length >= budget.maxRemovals) more = true;
    const removed: string[] = [];
    // A pass with many removals (on the retention thread, unbudgeted) can outlast LOCK_STALE_MS:
    // its lock's time is renewed as it goes, so no other process takes it for abandoned and runs
    // a second pass over the same state file.
    let lockTouchedAt = Date.now();
    const stopOrRenewLock = (): boolean => {
      const now = Date.now();
      if (now - lockTouchedAt >= LOCK_REFRESH_MS) {
        lockTouchedAt = now;
        try {
          fs.utimesSync(lock, now / 1000, now / 1000);
        } catch {
          // broken meanwhile: the pass goes on; the state file is rewritten whole
        }
      }
      return shouldStop();
    };
    const laterC: Entry[] = [];
    const laterF: Entry[] = [];
    const doneC = removeDropped(store, 'completed', dropC, removed, laterC, stopOrRenewLock);
    const doneF = removeDropped(store, 'failed', dropF, removed, laterF, stopOrRenewLock);
    // Later finishes of dropped entries' ids stay known, by their own time (trimming by age walks
    // the list from its oldest entry).
    for (const [list, later] of [[state.completed, laterC], [state.failed, laterF]] as const) {
      if (later.length === 0) continue;
      list.push(...later);
      list.sort((a, b) => a[1] - b[1]);
    }
    // Entries not reached before a stop go back to the front, oldest first, still due.
    if (doneC < dropC.length) state.completed = dropC.slice(doneC).concat(state.completed);
    if (doneF < dropF.length) state.failed = dropF.slice(doneF).concat(state.failed);
    if (doneC < dropC.length || doneF < dropF.length) more = true;
    removeLogsOf(store, removed);
    // Saving only the read position is an optimisation (re-reading events is harmless), so it is
    // saved at most every 10 s unless jobs were removed.
    if (doneC || doneF || swept || (changed && nowMs - (state.savedAt ?? 0) >= 10_000)) {
      state.savedAt = nowMs;
      state.seq = (state.seq ?? 0) + 1;
      slot = slot === 0 ? 1 : 0;
      writeInPlace(store, path.join(store.dir, RETENTION_STATE_FILES[slot]!), JSON.stringify(state));
      stamp = stampOf(store).stamp;
    }
    cached.set(key, { stamp, state, slot });
    return { removed: doneC + doneF, more };
  } finally {
    try {
      fs.rmdirSync(lock);
    } catch {
      // already broken as stale
    }
  }
}
