/**
 * The stalled checker. Every `stalledInterval` a worker looks at `active/` (bounded by the total
 * concurrency of all workers) and takes each file whose lease expired by renaming it into
 * `reclaiming/` (exactly one reclaimer wins; the owner then sees its lease gone). Then:
 *
 * - if the record carries a completion patch of its current generation (`st`), the owner finished
 *   it and died before the final rename: the job goes to completed/ or failed/;
 * - if the job's id was freed (removed meanwhile), the file is dropped;
 * - else it goes back to the front of the queue with `stalledCounter + 1` and a new generation,
 *   and a `stalled` event. Past `maxStalledCount`, it is marked with a deferred failure: the next
 *   claimer fails it at once with "job stalled more than allowable limit" (BullMQ's semantics).
 *
 * Files left in `reclaiming/` by a process that died mid-move or mid-removal, and temp files of an
 * `add` that died between its id link and its publishing rename, are finished by later passes: a
 * removal is completed, a move between sets (`mv-` tag) goes back to the set its record names,
 * and a job held by a reclaimer is resolved as above.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isErrno, rethrowFs, tryReaddir, tryStat, tryUnlink } from './fs.js';
import { claimOwnerOf, newClaimTag, quarantine } from './claim.js';
import { adoptIfForeign } from './adopt.js';
import { appendHeld, moveHeld, releaseDedup, removeLogs, setFinishTime } from './finish.js';
import { addNext, recoverNextJobs } from './dedup-next.js';
import { leaseLive, leaseTime } from './lease.js';
import { discardJobFile, finishDiscard } from './pool.js';
import { corruptReason, parseJobRecord, type JobRecord } from './record.js';
import { frontRoute } from './routing.js';
import { childFinished, sweepParents } from './deps.js';
import { claimIdOf, type QueueStore } from './store.js';
import { isDiscardName, isMoveName, isReplaceName } from './keys.js';
import { replacementWentThrough } from './dedup-replace.js';
import { placeOfRel } from './lookup.js';
import { recoverTmp } from './tmp-recovery.js';

/** A process that died mid-move leaves files this old in reclaiming/. */
const LEFTOVER_MS = 10_000;

/** Reason given to jobs that stalled too often. */
export const STALLED_LIMIT_REASON = 'job stalled more than allowable limit';

/** Outcome of one stalled-check pass. */
export interface ReclaimResult {
  /** Jobs put back in the queue. */
  stalled: string[];
  /** Jobs whose outcome was recorded before their owner died, now moved to completed/failed. */
  finished: string[];
  /** Files dropped because their job no longer exists. */
  dropped: string[];
  /** Jobs a move between sets left held when its process died, filed back where their records say. */
  returned: string[];
}

/** Options of a pass. */
export interface ReclaimOptions {
  nowMs: number;
  lockDurationMs: number;
  maxStalledCount: number;
  /** Active file names to leave alone (this worker's own live leases). */
  skip?: Set<string>;
  /** Active file names whose owner is known dead: taken regardless of lease age. */
  deadOwners?: Set<string>;
  /** Claim owners (claim.ts) whose process is known gone with its children: their claims are taken regardless of lease age. */
  deadClaimOwners?: Set<string>;
}

function ownerGone(name: string, opts: ReclaimOptions): boolean {
  if (opts.deadOwners?.has(name)) return true;
  if (!opts.deadClaimOwners?.size) return false;
  const owner = claimOwnerOf(name);
  return owner !== undefined && opts.deadClaimOwners.has(owner);
}

/** Runs one pass over active/, reclaiming/ and tmp/. */
export function reclaimStalled(store: QueueStore, opts: ReclaimOptions): ReclaimResult {
  const result: ReclaimResult = { stalled: [], finished: [], dropped: [], returned: [] };
  const activeDir = path.join(store.dir, 'active');
  for (const name of tryReaddir(activeDir)) {
    const id = claimIdOf(name);
    if (id === undefined || opts.skip?.has(name)) continue;
    const file = path.join(activeDir, name);
    const st = tryStat(file);
    if (!st) continue;
    if (leaseLive(name, st, opts.nowMs, opts.lockDurationMs) && !ownerGone(name, opts)) continue;
    const held = store.claimPath('reclaiming', id, newClaimTag());
    try {
      fs.renameSync(file, held);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) continue;
      rethrowFs(err, held);
    }
    resolve(store, id, held, opts, result);
  }
  for (const name of tryReaddir(path.join(store.dir, 'reclaiming'))) {
    const id = claimIdOf(name);
    if (id === undefined) continue;
    const file = path.join(store.dir, 'reclaiming', name);
    const st = tryStat(file);
    if (!st || opts.nowMs - leaseTime(st) < LEFTOVER_MS) continue;
    // A removal that died after taking the file out of view: finish it.
    if (isDiscardName(name)) {
      if (finishDiscard(store, id, file)) result.dropped.push(id);
      continue;
    }
    // A move between sets that died: back to the set its record names, not counted as a stall.
    if (isMoveName(name) && putBack(store, id, file, result)) continue;
    // A replacing add that died: the job it replaced goes if its successor exists, else back.
    if (isReplaceName(name)) {
      if (replacementWentThrough(store, id, file)) {
        // Renamed to a removal name first: of two checkers (or the add waking up), one removes it.
        if (discardJobFile(store, id, file)) {
          removeLogs(store, id);
          store.events.append('removed', { jobId: id, prev: 'delayed' });
          result.dropped.push(id);
        }
        continue;
      }
      if (putBack(store, id, file, result)) continue;
    }
    resolve(store, id, file, opts, result);
  }
  recoverTmp(store, opts.nowMs);
  // Next jobs (keepLastIfActive) whose holder's finisher died before adding them.
  recoverNextJobs(store, opts.nowMs);
  // Parents whose children finished without telling them (flows).
  sweepParents(store, opts.nowMs);
  return result;
}

function resolve(store: QueueStore, id: string, held: string, opts: ReclaimOptions, result: ReclaimResult): void {
  let text: string;
  let ino: number;
  try {
    text = fs.readFileSync(held, 'utf8');
    ino = fs.statSync(held).ino;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    return rethrowFs(err, held);
  }
  let rec: JobRecord;
  try {
    rec = parseJobRecord(text, held);
  } catch (err) {
    quarantine(store, id, held, corruptReason(err));
    return;
  }
  const idStat = tryStat(store.idPath(id));
  if (!idStat || idStat.ino !== ino) {
    tryUnlink(held);
    result.dropped.push(id);
    return;
  }
  if (rec.st) {
    const to = store.filePath(rec.st, id);
    if (moveHeld(store, held, to)) {
      // Listed by its finish time, as a job its worker filed (finish.ts).
      if (rec.finishedOn !== undefined) setFinishTime(to, rec.finishedOn);
      result.finished.push(id);
      // Its owner died before giving back its deduplication key, as a finished job does, and
      // before adding the id's next job (keepLastIfActive).
      releaseDedup(store, rec);
      if (rec.deduplicationId) addNext(store, rec.deduplicationId);
      if (rec.parent) childFinished(store, rec, rec.st === 'completed' ? { completed: rec.returnvalue } : { failed: rec.failedReason ?? '' });
      // The job's own retention setting goes with the event, as a worker's would; without one,
      // the retention pass applies its default.
      const keep = rec.keptForever ? false : rec.st === 'completed' ? rec.opts.removeOnComplete : rec.opts.removeOnFail;
      store.events.append(
        rec.st,
        rec.st === 'completed' ? { jobId: id, returnvalue: rec.returnvalue, prev: 'active' } : { jobId: id, failedReason: rec.failedReason ?? '', prev: 'active' },
        keep === undefined ? undefined : { k: keep },
      );
    }
    return;
  }
  // A file this uid may not write (a worker run as another user died holding it) is copied first.
  adoptIfForeign(store, id, held);
  const stalledCounter = rec.stalledCounter + 1;
  const route = frontRoute(store);
  const dest = route.set.pathFor(route.key, id);
  const overLimit = stalledCounter > opts.maxStalledCount && !rec.repeatJobKey;
  const ok =
    appendHeld(store, held, {
      stalledCounter,
      attemptsStarted: Math.max(rec.attemptsStarted, rec.attemptsMade + stalledCounter),
      gen: rec.gen + 1,
      at: store.rel(dest),
      st: null,
      ...(overLimit ? { deferredFailure: STALLED_LIMIT_REASON } : {}),
      g: rec.gen,
    }) && moveHeld(store, held, dest);
  if (!ok) return;
  result.stalled.push(id);
  // BullMQ's order: the job is waiting again, then reported stalled.
  store.events.append('waiting', { jobId: id, prev: 'active' });
  store.events.appendNow('stalled', { jobId: id });
}

/**
 * Files a job held by a move that died back where its record says: its finished place (`st`:
 * a retry that had not yet written its patch), else its `at` set path (the old one if the move
 * had not written its patch, the new one if it had). False when the record names no set (then it
 * is resolved as a stalled job).
 */
function putBack(store: QueueStore, id: string, held: string, result: ReclaimResult): boolean {
  let rec: JobRecord;
  try {
    rec = parseJobRecord(fs.readFileSync(held, 'utf8'), held);
  } catch {
    return false;
  }
  const idStat = tryStat(store.idPath(id));
  const st = tryStat(held);
  if (!st || !idStat || idStat.ino !== st.ino) return false;
  const dest = rec.st ? store.filePath(rec.st, id) : rec.at && placeOfRel(rec.at) ? path.join(store.dir, rec.at) : undefined;
  if (!dest) return false;
  if (moveHeld(store, held, dest)) result.returned.push(id);
  return true;
}

