/**
 * Operations on one job outside the worker's claim/finish path: remove, retry a finished job,
 * promote, change delay or priority, move an active job to delayed or back to waiting.
 *
 * Moving a job between places first takes it out of view of claimers by renaming it into
 * `reclaiming/<id>.<tag>.json` (one rename: a concurrent claimer either got it first or sees
 * ENOENT), appends a patch, and renames it into its new set. If the process dies in between, the
 * stalled checker puts the held file back in the queue after 10 s: nothing is lost.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Claim } from './claim.js';
import { claimTagOfToken, newClaimTag } from './claim.js';
import { appendHeld, moveHeld, refreshPriority, releaseDedup, removeLogs, requeue, startedFields } from './finish.js';
import { isErrno, rethrowFs, sleepSync, tryReadText, tryStat, tryUnlink } from './fs.js';
import { leaseLive, renewLease } from './lease.js';
import { readJob, type Located } from './lookup.js';
import { discardJobFile } from './pool.js';
import { parseJobRecord, type JobRecord, type RecordPatch } from './record.js';
import { delayedRoute, readyRoute, type Route } from './routing.js';
import { claimTagOf, dedupFile, type QueueStore } from './store.js';
import { readDedup, readDedupWithInode, removeIfSame } from './dedup-key.js';
import { dropNext } from './dedup-next.js';
import { DEFAULT_LOCK_DURATION_MS } from './defaults.js';
import { MOVE_TAG_PREFIX, uniqueName } from './keys.js';
import { isStandingRun } from '../scheduler/presence.js';
import { SpoolkitError } from '../errors.js';
import { childRemoved, childRetried, removeChildrenOf, removeEntries } from './deps.js';

/**
 * True when the job is active under a lease that has not expired (by its owner's lease length
 * where the claim names it). Only claims in `active/` hold leases: a file held in `reclaiming/`
 * is in the middle of a move.
 */
export function isLocked(store: QueueStore, id: string, lockDurationMs = DEFAULT_LOCK_DURATION_MS, claims = store.findClaimed(id)): boolean {
  const now = Date.now();
  return claims.some((c) => {
    if (c.place !== 'active') return false;
    const st = tryStat(c.path);
    return !!st && leaseLive(path.basename(c.path), st, now, lockDurationMs);
  });
}

/** How long a removal waits for a move of the job (held in `reclaiming/` for microseconds) to end. */
const HELD_WAIT_MS = 200;

const SET_PLACES = new Set(['waiting', 'lifo', 'prioritized', 'delayed']);

/**
 * Takes a file out of view (into reclaiming/); returns the held path and record, or undefined when
 * it moved. `tag` is a move's (`mv-`, the default: a leftover goes back to the set its record
 * names) or a claim's (a leftover is treated as a stalled active job).
 */
export function hold(store: QueueStore, file: string, id: string, tag = MOVE_TAG_PREFIX + uniqueName()): { held: string; rec: JobRecord } | undefined {
  const held = store.claimPath('reclaiming', id, tag);
  try {
    fs.renameSync(file, held);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    return rethrowFs(err, held);
  }
  const text = tryReadText(held);
  // Taken from the hold at once: only a process that judged it abandoned does that; it is theirs.
  if (text === undefined) return undefined;
  return { held, rec: parseJobRecord(text, held) };
}

/** Files a held job under `route` with `patch`. */
export function placeHeld(store: QueueStore, held: string, route: Route, patch: RecordPatch): boolean {
  const dest = route.set.pathFor(route.key, path.basename(held).replace(/\.[^.]+\.json$/, ''));
  return appendHeld(store, held, { ...patch, at: store.rel(dest) }) && moveHeld(store, held, dest);
}

/** Finds a job in a set, holds it, asks `fn` for its new route and patch, and files it. False when it is not in a set. */
function moveInSets(store: QueueStore, id: string, places: Set<string>, fn: (rec: JobRecord, loc: Located) => { route: Route; patch: RecordPatch }): boolean {
  for (let attempt = 0; attempt < 5; attempt++) {
    const found = readJob(store, id);
    if (!found || !places.has(found.loc.place)) return false;
    const h = hold(store, found.loc.path, id);
    if (!h) continue;
    const { route, patch } = fn(h.rec, found.loc);
    return placeHeld(store, h.held, route, patch);
  }
  return false;
}

/**
 * Removes a job in any state except active under a live lease. Returns 1 when removed, 0 when it
 * is locked or does not exist (BullMQ's `queue.remove`).
 */
export function removeJob(store: QueueStore, id: string, opts: { schedulerRun?: boolean; quiet?: boolean; removeChildren?: boolean } = {}): number {
  const waitUntil = Date.now() + HELD_WAIT_MS;
  for (let attempt = 0; attempt < 5; attempt++) {
    const found = readJob(store, id);
    if (!found) return 0;
    const { loc, rec } = found;
    if (!opts.schedulerRun && isStandingSchedulerRun(store, rec, loc.place)) {
      throw new SpoolkitError('ERR_JOB_SCHEDULER', `Job ${id} belongs to a job scheduler and cannot be removed directly. removeJob`, { details: { jobId: id, jobSchedulerId: rec.repeatJobKey } });
    }
    let removed = false;
    if (loc.place === 'active') {
      const claims = store.findClaimed(id);
      if (isLocked(store, id, DEFAULT_LOCK_DURATION_MS, claims)) return 0;
      const active = claims.filter((c) => c.place === 'active');
      // Only held in reclaiming/: moved by someone right now (between two sets, or out of
      // active/). Its new place comes within microseconds; a hold left by a dead process is
      // finished by the stalled check, and the job is not removed meanwhile.
      if (active.length === 0 && claims.length > 0) {
        if (Date.now() >= waitUntil) return 0;
        sleepSync(1);
        attempt--;
        continue;
      }
      // Only an active file whose lease ran out is taken.
      for (const c of active) removed = discardJobFile(store, id, c.path) || removed;
    } else {
      removed = discardJobFile(store, id, loc.path);
    }
    if (!removed) continue;
    forgetJob(store, rec, true);
    if (!opts.quiet) store.events.append('removed', { jobId: id, prev: loc.place === 'lifo' || loc.place === 'waiting' ? 'wait' : loc.place });
    // Flows: its children go too (BullMQ's removeChildren, true by default).
    if (rec.deps && opts.removeChildren) removeChildrenOf(store, rec);
    return 1;
  }
  return 0;
}

/** True for the pending (not started) run of a job scheduler that still stands: BullMQ refuses to remove it directly or drain it. */
export function isStandingSchedulerRun(store: QueueStore, rec: JobRecord, place: string): boolean {
  const millis = rec.opts.prevMillis;
  return rec.repeatJobKey !== undefined && SET_PLACES.has(place) && typeof millis === 'number' && isStandingRun(store.dir, rec.repeatJobKey, millis);
}

/** Removes a deduplication key (optionally only when `jobId` holds it). Returns 1 when removed. */
export function removeDeduplicationKey(store: QueueStore, dedupId: string, jobId?: string): number {
  const file = dedupFile(store, dedupId);
  if (jobId === undefined) return tryUnlink(file) ? 1 : 0;
  // Only the key of `jobId`: removed under the key's lock if it is still the file read.
  const held = readDedupWithInode(file);
  return held?.key?.jobId === jobId && removeIfSame(store, file, held) ? 1 : 0;
}

/** The job id holding a deduplication key, or null. */
export function deduplicationJobId(store: QueueStore, dedupId: string): string | null {
  const held = readDedup(dedupFile(store, dedupId));
  if (!held || (held.expiresAt !== null && held.expiresAt <= Date.now())) return null;
  return held.jobId;
}

/** The patch that clears a finished job's outcome before it runs again. */
export function retryPatch(rec: JobRecord, state: 'completed' | 'failed', opts: { resetAttemptsMade?: boolean; resetAttemptsStarted?: boolean } = {}): RecordPatch {
  return {
    finishedOn: null,
    processedOn: null,
    deferredFailure: null,
    st: null,
    keptForever: null,
    ...(state === 'failed' ? { failedReason: null } : { returnvalue: null }),
    ...(opts.resetAttemptsMade ? { attemptsMade: 0 } : {}),
    ...(opts.resetAttemptsStarted ? { attemptsStarted: 0 } : {}),
    gen: rec.gen + 1,
  };
}

/** Moves a finished job back to waiting. Returns the new record, or undefined when not in `state`. */
export function retryFinished(
  store: QueueStore,
  id: string,
  state: 'completed' | 'failed',
  opts: { resetAttemptsMade?: boolean; resetAttemptsStarted?: boolean; finishedBy?: number } = {},
): JobRecord | undefined {
  const file = store.filePath(state, id);
  const h = hold(store, file, id);
  if (!h) return undefined;
  // Finished again after the caller's listing (retried and ended by another process meanwhile):
  // not one the caller asked for; it goes back as it was.
  if (opts.finishedBy !== undefined && (h.rec.finishedOn ?? 0) > opts.finishedBy) {
    moveHeld(store, h.held, file);
    return undefined;
  }
  if (!placeHeld(store, h.held, readyRoute(store, h.rec.priority, !!h.rec.opts.lifo), retryPatch(h.rec, state, opts))) return undefined;
  // A child is awaited by its parent again.
  if (h.rec.parent) childRetried(store, h.rec);
  store.events.appendNow('waiting', { jobId: id, prev: state });
  store.wakeLocal();
  return readJob(store, id)?.rec;
}

/** The route and patch of a delayed job promoted now: queued as if added now (as BullMQ does), with no delay left. */
function promotedNow(store: QueueStore, rec: JobRecord): { route: Route; patch: RecordPatch } {
  // At the back whatever `lifo` says, as BullMQ's promote (a due lifo job is another matter: keys.ts).
  return { route: readyRoute(store, rec.priority, false), patch: { delay: 0 } };
}

/** Promotes a delayed job now. False when it is not delayed. */
export function promoteJob(store: QueueStore, id: string): boolean {
  if (!moveInSets(store, id, new Set(['delayed']), (rec) => promotedNow(store, rec))) return false;
  store.events.appendNow('waiting', { jobId: id, prev: 'delayed' });
  store.wakeLocal();
  return true;
}

/**
 * Promotes the delayed job whose file is `file` now (promoteJobs). Unlike `job.promote()`, it
 * keeps the job's `delay`, as BullMQ's promoteJobs does. False when it moved meanwhile.
 */
export function promoteFile(store: QueueStore, file: string, id: string): boolean {
  const h = hold(store, file, id);
  if (!h) return false;
  if (!placeHeld(store, h.held, promotedNow(store, h.rec).route, {})) return false;
  store.events.append('waiting', { jobId: id, prev: 'delayed' });
  return true;
}

/** Re-files a delayed job to be due `delayMs` from now. */
export function changeDelay(store: QueueStore, id: string, delayMs: number): boolean {
  return refileDelayed(store, id, Date.now() + delayMs, delayMs);
}

/** Re-files a delayed job to be due at `dueMs`, storing `delay`. False when it is not delayed. */
export function refileDelayed(store: QueueStore, id: string, dueMs: number, delay: number): boolean {
  const ok = moveInSets(store, id, new Set(['delayed']), (rec) => ({ route: delayedRoute(store, dueMs, rec.priority, !!rec.opts.lifo), patch: { delay } }));
  // Workers sleep until the first due time they know of: tell them (BullMQ emits it too).
  if (ok) announceDelayed(store, id, dueMs);
  return ok;
}

/**
 * Re-files a waiting, prioritized or delayed job under a new priority; `lifo` puts a waiting one
 * first. Only the `priority` field changes: the job's options stay as added (as BullMQ keeps them),
 * and a delayed job keeps its own lifo option for when it falls due.
 */
export function changePriority(store: QueueStore, id: string, priority: number, lifo: boolean): boolean {
  const ok = moveInSets(store, id, SET_PLACES, (rec, loc) => {
    const patch: RecordPatch = { priority };
    if (loc.place === 'delayed') {
      const due = Number(path.basename(loc.path).slice(0, 13));
      return { route: delayedRoute(store, due, priority, !!rec.opts.lifo), patch };
    }
    return { route: readyRoute(store, priority, lifo), patch };
  });
  if (ok) store.wakeLocal();
  return ok;
}

/**
 * Moves a job this process holds to delayed until `timestamp`. The attempt is not counted
 * (`attemptsMade` stays), but the start is: `attemptsStarted`, `processedOn` and `processedBy` are
 * kept, as BullMQ keeps them. The job is filed under its stored priority (changePriority may have
 * changed it while it ran).
 */
export function moveClaimToDelayed(store: QueueStore, claim: Claim, timestamp: number): boolean {
  const delay = Math.max(0, timestamp - Date.now());
  const ok = requeueStarted(store, claim, delay, (rec) => delayedRoute(store, timestamp, rec.priority, !!rec.opts.lifo));
  if (ok) {
    claim.rec.delay = delay;
    announceDelayed(store, claim.id, timestamp);
  }
  return ok;
}

/**
 * Moves a job this process holds back to the front of the queue (BullMQ's moveToWait): the start
 * stays counted, the attempt is not (`attemptsMade` stays).
 */
export function moveClaimToWait(store: QueueStore, claim: Claim): boolean {
  const ok = requeueStarted(store, claim, 0, (rec) => readyRoute(store, rec.priority, !!rec.opts.lifo, true));
  if (ok) announceWaiting(store, claim.id);
  return ok;
}

/**
 * Puts a job this process holds back in a set with the fields of the start it made, filed under
 * its stored priority (changePriority may have changed it while it ran).
 */
function requeueStarted(store: QueueStore, claim: Claim, delay: number, routeOf: (rec: JobRecord) => Route): boolean {
  refreshPriority(claim.path, claim.rec);
  return requeue(store, claim, startedFields(claim.rec, { delay }), routeOf(claim.rec));
}

/** How a move of an active job by a caller that does not hold its claim ended. */
export type ActiveMoveResult = 'moved' | 'missing' | 'not-active' | 'no-lock' | 'lock-mismatch';

/**
 * Moves an active job held by another process (or by a worker of this one, through a job object
 * that is not its run's) to delayed. With a token, only the claim that token names may be moved.
 */
export function moveActiveToDelayed(store: QueueStore, id: string, timestamp: number, token?: string): ActiveMoveResult {
  const result = moveActive(store, id, token, (rec) => ({
    route: delayedRoute(store, timestamp, rec.priority, !!rec.opts.lifo),
    // A claim writes nothing, so the stored count is the one before the start being delayed.
    patch: { delay: Math.max(0, timestamp - Date.now()), attemptsStarted: rec.attemptsStarted + 1 },
  }));
  if (result === 'moved') announceDelayed(store, id, timestamp);
  return result;
}

/** Moves an active job held by another process back to the front of the queue; see moveActiveToDelayed. */
export function moveActiveToWait(store: QueueStore, id: string, token?: string): ActiveMoveResult {
  const result = moveActive(store, id, token, (rec) => ({
    route: readyRoute(store, rec.priority, !!rec.opts.lifo, true),
    patch: { delay: 0, attemptsStarted: rec.attemptsStarted + 1 },
  }));
  if (result === 'moved') announceWaiting(store, id);
  return result;
}

/**
 * Finds the job's active claim (the one `token` names, when given), holds it as a claim, and files
 * it where `fn` says. Without a token any active claim is taken (BullMQ's token '0').
 */
function moveActive(store: QueueStore, id: string, token: string | undefined, fn: (rec: JobRecord) => { route: Route; patch: RecordPatch }): ActiveMoveResult {
  const active = store.findClaimed(id).filter((c) => c.place === 'active');
  const tag = token === undefined ? undefined : claimTagOfToken(token);
  const mine = tag === undefined ? active : active.filter((c) => claimTagOf(path.basename(c.path)) === tag);
  if (mine.length === 0 && active.length > 0) return 'lock-mismatch';
  for (const c of mine) {
    // Held as a claim: were this process to die here, the job comes back as a stalled one.
    const h = hold(store, c.path, id, newClaimTag());
    if (!h) continue;
    const { route, patch } = fn(h.rec);
    if (placeHeld(store, h.held, route, { ...patch, gen: h.rec.gen + 1, g: h.rec.gen })) return 'moved';
  }
  if (!readJob(store, id)) return 'missing';
  return token === undefined ? 'not-active' : 'no-lock';
}

/** Tells workers a job was delayed until `timestamp` (this process's own workers ignore its own events: wake them, the job may be due soonest). */
function announceDelayed(store: QueueStore, id: string, timestamp: number): void {
  store.events.append('delayed', { jobId: id, delay: timestamp });
  store.wakeLocal();
}

/** Tells workers an active job is waiting again. */
function announceWaiting(store: QueueStore, id: string): void {
  store.events.appendNow('waiting', { jobId: id, prev: 'active' });
  store.wakeLocal();
}

/** Renews a lease this process holds. */
export function renewClaim(claim: Claim): boolean {
  return renewLease(claim);
}

/** Frees what a removed job held besides its file: its deduplication key (any mode when `manual`) and logs. */
export function forgetJob(store: QueueStore, rec: JobRecord, manual = false): void {
  // Flows: a removed parent's child files go; a removed child is no longer awaited.
  if (rec.deps) removeEntries(store, rec.id);
  if (rec.parent) childRemoved(store, rec);
  if (manual && rec.deduplicationId) {
    const file = dedupFile(store, rec.deduplicationId);
    const held = readDedupWithInode(file);
    if (held?.key?.jobId === rec.id && removeIfSame(store, file, held)) {
      // As BullMQ: the next job kept for it (keepLastIfActive) goes with the key.
      dropNext(store, rec.deduplicationId);
    }
  } else if (releaseDedup(store, rec)) {
    // A job removed while still holding its key (clean): its kept next job goes too.
    dropNext(store, rec.deduplicationId!);
  }
  removeLogs(store, rec.id);
}
