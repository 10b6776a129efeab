/**
 * The stalled checker. Every `stalledInterval` a worker looks at `active/` (bounded by the total
 * concurrency of all workers) and takes each file whose lease expired by renaming it into
 * `reclaiming/` (exactly one reclaimer wins). Then:
 *
 * - if the job also exists in a later state (completed/, failed/, or the set path its id index
 *   names) the active file was a leftover of a crash mid-transition: it is dropped;
 * - if its id is free (removed, or finished with removeOn*: true) it is dropped;
 * - else it goes back to the front of the queue with `stalledCounter + 1` and a new generation,
 *   and a `stalled` event. Past `maxStalledCount`, it is marked with a deferred failure: the next
 *   claimer fails it at once with "job stalled more than allowable limit" (BullMQ's semantics).
 *
 * Files left in `reclaiming/` by a reclaimer that died are finished by a later pass.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isErrno, rethrowFs, tryReaddir, tryStat, tryUnlink } from './fs.js';
import { quarantine } from './claim.js';
import { leaseTime } from './lease.js';
import { parseJobRecord, serializeRecord } from './record.js';
import { readyRoute } from './routing.js';
import type { QueueStore } from './store.js';

/** A reclaimer that died leaves files this old in reclaiming/. */
const RECLAIM_LEFTOVER_MS = 10_000;

/** Reason given to jobs that stalled too often. */
export const STALLED_LIMIT_REASON = 'job stalled more than allowable limit';

/** Outcome of one stalled-check pass. */
export interface ReclaimResult {
  /** Jobs put back in the queue. */
  stalled: string[];
  /** Active leftovers dropped because the job had already moved on. */
  dropped: string[];
}

/** Options of a pass. */
export interface ReclaimOptions {
  nowMs: number;
  lockDurationMs: number;
  maxStalledCount: number;
  /** Ids to leave alone (this worker's own live leases). */
  skip?: Set<string>;
  /** Ids whose owner is known dead: taken regardless of lease age. */
  deadOwners?: Set<string>;
}

/** Runs one pass over active/ and reclaiming/. */
export function reclaimStalled(store: QueueStore, opts: ReclaimOptions): ReclaimResult {
  const result: ReclaimResult = { stalled: [], dropped: [] };
  const activeDir = path.join(store.dir, 'active');
  for (const name of tryReaddir(activeDir)) {
    if (!name.endsWith('.json')) continue;
    const id = name.slice(0, -5);
    if (opts.skip?.has(id)) continue;
    const file = path.join(activeDir, name);
    const st = tryStat(file);
    if (!st) continue;
    if (opts.nowMs - leaseTime(st) < opts.lockDurationMs && !opts.deadOwners?.has(id)) continue;
    const rc = store.filePath('reclaiming', id);
    try {
      fs.renameSync(file, rc);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) continue;
      rethrowFs(err, rc);
    }
    resolve(store, id, rc, opts, result);
  }
  for (const name of tryReaddir(path.join(store.dir, 'reclaiming'))) {
    if (!name.endsWith('.json')) continue;
    const file = path.join(store.dir, 'reclaiming', name);
    const st = tryStat(file);
    if (!st || opts.nowMs - leaseTime(st) < RECLAIM_LEFTOVER_MS) continue;
    resolve(store, name.slice(0, -5), file, opts, result);
  }
  return result;
}

function resolve(store: QueueStore, id: string, rc: string, opts: ReclaimOptions, result: ReclaimResult): void {
  const hint = store.readIdEntry(id)?.trim();
  const movedOn =
    hint === undefined ||
    fs.existsSync(store.filePath('completed', id)) ||
    fs.existsSync(store.filePath('failed', id)) ||
    (hint !== '' && !hint.startsWith('active') && fs.existsSync(path.join(store.dir, hint)));
  if (movedOn) {
    tryUnlink(rc);
    result.dropped.push(id);
    return;
  }
  let text: string;
  try {
    text = fs.readFileSync(rc, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    return rethrowFs(err, rc);
  }
  let rec;
  try {
    rec = parseJobRecord(text, rc);
  } catch (err) {
    quarantine(store, id, rc, err instanceof Error ? err.message : String(err));
    return;
  }
  rec.stalledCounter += 1;
  rec.attemptsStarted = Math.max(rec.attemptsStarted, rec.attemptsMade + rec.stalledCounter);
  rec.gen += 1;
  if (rec.stalledCounter > opts.maxStalledCount && !rec.repeatJobKey) rec.deferredFailure = STALLED_LIMIT_REASON;
  const route = readyRoute(store, rec.priority, false, true);
  const dest = route.set.pathFor(route.key, id);
  const { tmp } = store.writeTmp(serializeRecord(rec));
  store.updateIdEntry(id, store.rel(dest));
  store.publish(tmp, dest);
  tryUnlink(rc);
  result.stalled.push(id);
  store.events.append('stalled', { jobId: id });
  store.events.append('waiting', { jobId: id, prev: 'active' });
}
