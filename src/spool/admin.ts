/**
 * Operations on one job outside the worker's claim/finish path: remove, retry a finished job,
 * promote, change delay or priority, move an active job to delayed.
 *
 * Moving a job between sets first takes it out of view of claimers by renaming it to
 * `reclaiming/<id>.json` (one rename: a concurrent claimer either got it first or sees ENOENT),
 * then writes the new record into its new set and unlinks the held file. If the process dies in
 * between, the stalled checker puts the held file back in the queue after 10 s: nothing is lost.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Claim } from './claim.js';
import { releaseDedup, removeLogs, requeue } from './finish.js';
import { isErrno, rethrowFs, tryStat, tryUnlink } from './fs.js';
import { leaseTime, renewLease } from './lease.js';
import { candidates, readJob, type Located } from './lookup.js';
import { promoteOne } from './promote.js';
import { parseJobRecord, serializeRecord, type JobRecord } from './record.js';
import { delayedRoute, readyRoute, type Route } from './routing.js';
import { dedupFile, type QueueStore } from './store.js';
import { readDedup } from './add.js';
import { DEFAULT_LOCK_DURATION_MS } from './defaults.js';

/** True when the job is active under a lease that has not expired. */
export function isLocked(store: QueueStore, id: string, lockDurationMs = DEFAULT_LOCK_DURATION_MS): boolean {
  const st = tryStat(store.filePath('active', id));
  return !!st && Date.now() - leaseTime(st) < lockDurationMs;
}

const SET_PLACES = new Set(['waiting', 'lifo', 'prioritized', 'delayed']);

/** Takes a set entry out of view; returns the held path and record, or undefined when it moved. */
export function holdEntry(store: QueueStore, loc: Located, id: string): { held: string; rec: JobRecord } | undefined {
  const held = store.filePath('reclaiming', id);
  try {
    fs.renameSync(loc.path, held);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    return rethrowFs(err, held);
  }
  const rec = parseJobRecord(fs.readFileSync(held, 'utf8'), held);
  return { held, rec };
}

/** Writes a held job into `route` and drops the held file. */
export function placeHeld(store: QueueStore, held: string, rec: JobRecord, route: Route): void {
  const dest = route.set.pathFor(route.key, rec.id);
  const { tmp } = store.writeTmp(serializeRecord(rec));
  store.updateIdEntry(rec.id, store.rel(dest));
  store.publish(tmp, dest);
  tryUnlink(held);
}

/** Finds a job in a set, holds it, applies `fn` to get its new route, and places it. False when it is not in a set. */
function moveInSets(store: QueueStore, id: string, places: Set<string>, fn: (rec: JobRecord, loc: Located) => Route | undefined): boolean {
  for (let attempt = 0; attempt < 5; attempt++) {
    const found = readJob(store, id);
    if (!found || !places.has(found.loc.place)) return false;
    const h = holdEntry(store, found.loc, id);
    if (!h) continue;
    const route = fn(h.rec, found.loc);
    if (!route) {
      // Put it back unchanged.
      store.publish(h.held, found.loc.path);
      return false;
    }
    placeHeld(store, h.held, h.rec, route);
    return true;
  }
  return false;
}

/**
 * Removes a job in any state except active under a live lease. Returns 1 when removed, 0 when it
 * is locked or does not exist (BullMQ's `queue.remove`).
 */
export function removeJob(store: QueueStore, id: string): number {
  for (let attempt = 0; attempt < 5; attempt++) {
    const found = readJob(store, id);
    if (!found) return 0;
    const { loc, rec } = found;
    if ((loc.place === 'active' || loc.place === 'reclaiming') && isLocked(store, id)) return 0;
    if (!tryUnlink(loc.path)) continue;
    store.removeIdEntry(id);
    releaseDedupAny(store, rec);
    removeLogs(store, id);
    store.events.append('removed', { jobId: id, prev: stateName(loc) });
    return 1;
  }
  return 0;
}

function stateName(loc: Located): string {
  return loc.place === 'lifo' ? 'waiting' : loc.place === 'reclaiming' ? 'active' : loc.place;
}

/** Any manual removal clears the job's deduplication key (BullMQ), ttl or not. */
function releaseDedupAny(store: QueueStore, rec: JobRecord): void {
  if (!rec.deduplicationId) return;
  const file = dedupFile(store, rec.deduplicationId);
  const held = readDedup(file);
  if (held && held.jobId === rec.id) tryUnlink(file);
}

/** Removes a deduplication key (optionally only when `jobId` holds it). Returns 1 when removed. */
export function removeDeduplicationKey(store: QueueStore, dedupId: string, jobId?: string): number {
  const file = dedupFile(store, dedupId);
  const held = readDedup(file);
  if (!held || (jobId !== undefined && held.jobId !== jobId)) return 0;
  return tryUnlink(file) ? 1 : 0;
}

/** The job id holding a deduplication key, or null. */
export function deduplicationJobId(store: QueueStore, dedupId: string): string | null {
  const held = readDedup(dedupFile(store, dedupId));
  if (!held || (held.expiresAt !== null && held.expiresAt <= Date.now())) return null;
  return held.jobId;
}

/** Moves a finished job back to waiting. Returns the new record, or undefined when not in `state`. */
export function retryFinished(
  store: QueueStore,
  id: string,
  state: 'completed' | 'failed',
  opts: { resetAttemptsMade?: boolean; resetAttemptsStarted?: boolean } = {},
): JobRecord | undefined {
  const file = store.filePath(state, id);
  const held = store.filePath('reclaiming', id);
  try {
    fs.renameSync(file, held);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    return rethrowFs(err, held);
  }
  const rec = parseJobRecord(fs.readFileSync(held, 'utf8'), held);
  resetForRetry(rec, state, opts);
  placeHeld(store, held, rec, readyRoute(store, rec.priority, !!rec.opts.lifo));
  store.events.append('waiting', { jobId: id, prev: state });
  store.wakeLocal();
  return rec;
}

/** Clears a finished job's outcome before it runs again. */
export function resetForRetry(rec: JobRecord, state: 'completed' | 'failed', opts: { resetAttemptsMade?: boolean; resetAttemptsStarted?: boolean } = {}): void {
  delete rec.finishedOn;
  delete rec.processedOn;
  if (state === 'failed') delete rec.failedReason;
  else rec.returnvalue = null;
  delete rec.deferredFailure;
  if (opts.resetAttemptsMade) rec.attemptsMade = 0;
  if (opts.resetAttemptsStarted) rec.attemptsStarted = 0;
  rec.gen += 1;
}

/** Promotes a delayed job now. False when it is not delayed. */
export function promoteJob(store: QueueStore, id: string): boolean {
  for (let attempt = 0; attempt < 3; attempt++) {
    const c = candidates(store, id).find((x) => x.place === 'delayed');
    if (!c || !fs.existsSync(c.path)) return false;
    if (promoteOne(store, c.path, id)) {
      store.wakeLocal();
      return true;
    }
  }
  return false;
}

/** Re-files a delayed job to be due `delayMs` from now. */
export function changeDelay(store: QueueStore, id: string, delayMs: number): boolean {
  return moveInSets(store, id, new Set(['delayed']), (rec) => {
    rec.delay = delayMs;
    return delayedRoute(store, Date.now() + delayMs, rec.priority, !!rec.opts.lifo);
  });
}

/** Re-files a waiting, prioritized or delayed job under a new priority / lifo. */
export function changePriority(store: QueueStore, id: string, priority: number, lifo: boolean): boolean {
  const ok = moveInSets(store, id, SET_PLACES, (rec, loc) => {
    rec.priority = priority;
    rec.opts = { ...rec.opts, priority, lifo };
    if (loc.place === 'delayed') {
      const due = Number(path.basename(loc.path).slice(0, 13));
      return delayedRoute(store, due, priority, lifo);
    }
    return readyRoute(store, priority, lifo);
  });
  if (ok) store.wakeLocal();
  return ok;
}

/** Moves a job this process holds to delayed until `timestamp`; the attempt is not counted. */
export function moveClaimToDelayed(store: QueueStore, claim: Claim, timestamp: number): boolean {
  const rec = claim.rec;
  rec.delay = Math.max(0, timestamp - Date.now());
  const ok = requeue(store, claim, rec, delayedRoute(store, timestamp, rec.priority, !!rec.opts.lifo));
  if (ok) store.events.append('delayed', { jobId: claim.id, delay: timestamp });
  return ok;
}

/** Moves an active job held by another process (e.g. a sandbox parent) to delayed. */
export function moveActiveToDelayed(store: QueueStore, id: string, timestamp: number): boolean {
  const file = store.filePath('active', id);
  const held = store.filePath('reclaiming', id);
  try {
    fs.renameSync(file, held);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    return rethrowFs(err, held);
  }
  const rec = parseJobRecord(fs.readFileSync(held, 'utf8'), held);
  rec.delay = Math.max(0, timestamp - Date.now());
  rec.gen += 1;
  placeHeld(store, held, rec, delayedRoute(store, timestamp, rec.priority, !!rec.opts.lifo));
  store.events.append('delayed', { jobId: id, delay: timestamp });
  return true;
}

/** Renews a lease this process holds. */
export function renewClaim(claim: Claim): boolean {
  return renewLease(claim);
}

/** Frees everything a removed job held. */
export function forgetJob(store: QueueStore, rec: JobRecord): void {
  store.removeIdEntry(rec.id);
  releaseDedup(store, rec);
  removeLogs(store, rec.id);
}
