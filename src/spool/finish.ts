/**
 * Transitions out of `active`. Each one appends a patch with the outcome to the job's own file
 * (no new file), then renames the file to its destination: that rename is the visible change, and
 * it fails with ENOENT if the lease was lost meanwhile (the reclaimer took the file).
 *
 * Crash window: a patch appended but the rename not done leaves the job in `active/` with its
 * outcome recorded. The stalled checker honours it: a completion patch (`st`) of the current
 * generation sends the job to completed/ or failed/ instead of back to the queue (reclaim.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { closeClaim, type Claim } from './claim.js';
import { readDedupWithInode, removeIfSame } from './dedup-key.js';
import { fsyncDir, isErrno, renameInto, rethrowFs, tryUnlink } from './fs.js';
import { appendPatch, parseJobRecord, writePatch, type JobRecord, type RecordPatch } from './record.js';
import { discardJobFile } from './pool.js';
import { readyRoute, type Route } from './routing.js';
import { dedupFile, type QueueStore } from './store.js';

/** How long a finisher waits for a key's lock to free the key (a finished job's key is free anyway: adds judge it so). */
const RELEASE_LOCK_WAIT_MS = 100;

/**
 * Frees a simple-mode deduplication key held by this job (ttl keys expire on their own); true when
 * it did. Removed only if it is still the file read, under the key's lock: an add that judged the
 * key free (its job has finished) may have made a new key for its own job meanwhile.
 */
export function releaseDedup(store: QueueStore, rec: JobRecord): boolean {
  if (!rec.deduplicationId) return false;
  const file = dedupFile(store, rec.deduplicationId);
  const held = readDedupWithInode(file);
  const key = held?.key;
  return key !== undefined && key.jobId === rec.id && key.expiresAt === null && removeIfSame(store, file, held!, RELEASE_LOCK_WAIT_MS);
}

/**
 * Removes a job's log file if it has one. Call it after the job's id name is gone: `appendLog`
 * checks for the id after appending, so a row that races with the removal is removed by one side.
 * Most jobs have no log file: it is looked up first, because a failed unlink costs Node an error
 * object with a stack trace (a `removeOnComplete: true` worker paid that once per job). A file
 * made after the lookup was made after the id name went, so its writer removes it.
 */
export function removeLogs(store: QueueStore, id: string): void {
  const file = `${store.dir}${path.sep}logs${path.sep}${id}.jsonl`;
  if (fs.existsSync(file)) tryUnlink(file);
}

/** Appends a patch to a file this process holds; false when the file is gone. */
export function appendHeld(store: QueueStore, file: string, patch: RecordPatch): boolean {
  try {
    appendPatch(file, patch);
    if (store.durable) {
      const fd = fs.openSync(file, 'r');
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    return rethrowFs(err, file);
  }
}

/**
 * Appends a run's outcome to its claimed file: through the descriptor the claim kept, while no
 * lease can have expired, else by path. The rename that follows checks that the file is still
 * where the claim put it; a patch written into a file that was taken away meanwhile carries the
 * claim's generation, which the taker raises, so it is ignored (record.ts). `patch` is the
 * caller's own fresh object: fields are added to it, not to a copy (once per job).
 */
function appendOutcome(store: QueueStore, claim: Claim, patch: RecordPatch): boolean {
  if (claim.fd === undefined || Date.now() >= (claim.appendUntilMs ?? 0)) return appendHeld(store, claim.path, patch);
  try {
    // Named for its job, so that even a file reused for another job in the meantime (moved away by
    // a `moveToDelayed` through another Job object, finished, removed and pooled) ignores the write.
    patch.i = claim.id;
    patch.ts = claim.rec.timestamp;
    writePatch(claim.fd, patch);
    if (store.durable) fs.fsyncSync(claim.fd);
  } catch (err) {
    return rethrowFs(err, claim.path);
  }
  return true;
}

/**
 * Renames a file this process holds; false when it is gone (lease lost). In durable mode the
 * destination directory is fsynced, unless `syncDir` is false (the caller shares it).
 */
export function moveHeld(store: QueueStore, from: string, to: string, syncDir = true): boolean {
  try {
    renameInto(from, to, store.modes, store.onDirCreated);
  } catch (err) {
    if (isErrno(err, 'ENOENT') && !fs.existsSync(from)) return false;
    return rethrowFs(err, to);
  }
  if (store.durable && syncDir) fsyncDir(path.dirname(to));
  return true;
}

/**
 * Moves the job to `completed/` or `failed/` with `patch`, an object made for this call (the
 * fields that guard the write are added to it). False when the lease was lost. In durable mode the
 * result is a promise that settles once the destination directory is fsynced: one fsync for every
 * job this process finished into it in the same turn of the event loop (group commit), instead of
 * one per job.
 */
export function finishToFile(store: QueueStore, claim: Claim, patch: RecordPatch, place: 'completed' | 'failed'): boolean | Promise<boolean> {
  patch.st = place;
  patch.g = claim.gen;
  if (!appendOutcome(store, claim, patch)) return false;
  const to = store.filePath(place, claim.id);
  if (!moveHeld(store, claim.path, to, false)) return false;
  if (typeof patch.finishedOn === 'number') setFinishTime(to, patch.finishedOn);
  // The file has left the claim: nothing more may be written through its descriptor.
  closeClaim(claim);
  claim.finished = true;
  releaseDedup(store, claim.rec);
  return store.durable ? store.syncDirSoon(path.dirname(to)).then(() => true) : true;
}

/**
 * Sets a finished job's modification time to its `finishedOn`: completed/ and failed/ are listed,
 * cleaned and retried by that time (BullMQ's score), read from the listing's stat instead of from
 * every record. Writes that land on a finished job later (an update of its data or progress) set
 * it back (update.ts). Harmless on a file that has moved on meanwhile: a lease is judged by the
 * later of the change and modification times, and this call makes the change time now.
 */
export function setFinishTime(file: string, finishedOn: number): void {
  const at = finishedOn / 1000;
  try {
    // By path: Node's permission model refuses futimes, not utimes.
    fs.utimesSync(file, at, at);
  } catch (err) {
    // Gone (retried, removed), or not this process's to change (another user's file, a permission
    // model that refuses it): listed by the time of its last write instead.
    if (!isErrno(err, 'ENOENT') && !isErrno(err, 'EPERM') && !isErrno(err, 'EACCES') && (err as { code?: unknown }).code !== 'ERR_ACCESS_DENIED') throw err;
  }
}

/** Finishes a job whose retention is `true`: nothing is kept. False when the lease was lost. */
export function finishRemoved(store: QueueStore, claim: Claim): boolean {
  const removed = discardJobFile(store, claim.id, claim.path);
  // Removed or not, the file is no longer this claim's (a removed one may be reused by an add).
  closeClaim(claim);
  if (!removed) return false;
  // Finished: a claim of a new job of the id by this worker is not a re-claim of this run's job.
  claim.finished = true;
  releaseDedup(store, claim.rec);
  removeLogs(store, claim.id);
  return true;
}

/**
 * The fields set when a run started, for the patch that ends it (claims write nothing, so the
 * outcome or move carries them): `attemptsStarted`, `processedOn` and `processedBy`.
 */
export function startedFields(rec: JobRecord, patch: RecordPatch = {}): RecordPatch {
  patch.attemptsStarted = rec.attemptsStarted;
  patch.processedOn = rec.processedOn ?? null;
  if (rec.processedBy) patch.processedBy = rec.processedBy;
  return patch;
}

/**
 * Takes the priority stored in a claimed file (changePriority patches it while the job runs) into
 * the run's record, keeping the run's own when the file cannot be read. BullMQ files a retried or
 * moved job by the priority in its hash.
 */
export function refreshPriority(file: string, rec: JobRecord): void {
  try {
    rec.priority = parseJobRecord(fs.readFileSync(file, 'utf8'), file).priority;
  } catch {
    // lost or unreadable: the run's own copy stands
  }
}

/**
 * Undoes a claim no run was started for (its job over a rate limit): the file goes back to the
 * name it was claimed from, keeping its place, unchanged (a claim writes nothing). If that name's
 * bucket went meanwhile (an emptied bucket is removed), the job goes to the front of the queue.
 * False when it could not be put back (the stalled check then brings it back).
 */
export function unclaim(store: QueueStore, claim: Claim): boolean {
  try {
    fs.renameSync(claim.path, claim.from);
    closeClaim(claim);
    return true;
  } catch (err) {
    if (!isErrno(err, 'ENOENT') || !fs.existsSync(claim.path)) {
      closeClaim(claim);
      return false;
    }
  }
  try {
    return requeue(store, claim, {}, readyRoute(store, claim.rec.priority, false, true));
  } catch {
    closeClaim(claim);
    return false;
  }
}

/** Puts the job back into a set (retry, delay, release), raising its generation. False when the lease was lost. */
export function requeue(store: QueueStore, claim: Claim, patch: RecordPatch, route: Route): boolean {
  const dest = route.set.pathFor(route.key, claim.id);
  const gen = claim.gen + 1;
  if (!appendOutcome(store, claim, { ...patch, gen, at: store.rel(dest), st: null, g: claim.gen })) return false;
  if (!moveHeld(store, claim.path, dest)) return false;
  // Back in a set, the file can be claimed, finished and reused by others while this run goes on.
  closeClaim(claim);
  claim.moved = true;
  claim.rec.gen = gen;
  return true;
}
