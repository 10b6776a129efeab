/**
 * Transitions out of `active`. Each one: check the lease, write the new record to a temp file
 * (fsync when durable), point the id index at the new set path when the job goes back into a set,
 * rename the temp file into place (the visible change), then unlink the active file.
 *
 * Crash window: between the rename and the unlink the job exists twice. The later state wins:
 * the stalled checker drops an active file whose job also exists in completed/, failed/, or at
 * the set path the id index names (reclaim.ts), and `getJob` reads the index's path first.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Claim } from './claim.js';
import { readDedup } from './add.js';
import { tryUnlink } from './fs.js';
import { checkLease } from './lease.js';
import { serializeRecord, type JobRecord } from './record.js';
import type { Route } from './routing.js';
import { dedupFile, type QueueStore } from './store.js';

/** Frees a simple-mode deduplication key held by this job (ttl keys expire on their own). */
export function releaseDedup(store: QueueStore, rec: JobRecord): void {
  if (!rec.deduplicationId) return;
  const file = dedupFile(store, rec.deduplicationId);
  const held = readDedup(file);
  if (held && held.jobId === rec.id && held.expiresAt === null) tryUnlink(file);
}

/** Removes a job's log file if it has one. */
export function removeLogs(store: QueueStore, id: string): void {
  const file = path.join(store.dir, 'logs', `${id}.jsonl`);
  if (fs.existsSync(file)) tryUnlink(file);
}

/** Moves the job to `completed/` or `failed/` with `rec`. False when the lease was lost. */
export function finishToFile(store: QueueStore, claim: Claim, rec: JobRecord, place: 'completed' | 'failed'): boolean {
  if (!checkLease(claim)) return false;
  const { tmp } = store.writeTmp(serializeRecord(rec));
  store.publish(tmp, store.filePath(place, claim.id));
  tryUnlink(claim.path);
  releaseDedup(store, rec);
  return true;
}

/** Finishes a job whose retention is `true`: nothing is kept. False when the lease was lost. */
export function finishRemoved(store: QueueStore, claim: Claim, rec: JobRecord): boolean {
  if (!checkLease(claim)) return false;
  tryUnlink(claim.path);
  store.removeIdEntry(claim.id);
  releaseDedup(store, rec);
  removeLogs(store, claim.id);
  return true;
}

/** Puts the job back into a set (retry, delay, release). Raises the generation. False when the lease was lost. */
export function requeue(store: QueueStore, claim: Claim, rec: JobRecord, route: Route): boolean {
  if (!checkLease(claim)) return false;
  rec.gen = claim.gen + 1;
  const dest = route.set.pathFor(route.key, claim.id);
  const { tmp } = store.writeTmp(serializeRecord(rec));
  store.updateIdEntry(claim.id, store.rel(dest));
  store.publish(tmp, dest);
  tryUnlink(claim.path);
  return true;
}

/**
 * Rewrites the active file with `rec` while keeping the lease (progress, data). The new inode is
 * remembered. False when the lease was lost.
 */
export function rewriteActive(store: QueueStore, claim: Claim, rec: JobRecord): boolean {
  if (!checkLease(claim)) return false;
  const { tmp, ino } = store.writeTmp(serializeRecord({ ...rec, gen: claim.gen }), true);
  fs.renameSync(tmp, claim.path);
  claim.ino = ino;
  return true;
}
