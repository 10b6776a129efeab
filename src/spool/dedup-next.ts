/**
 * Deduplication with `keepLastIfActive` (BullMQ 6): while the job holding a deduplication key is
 * active, a new add with that id is kept as the key's "next" job, the last such add winning; when
 * the holder finishes (completed or failed for good), the next job is added and takes the key. At
 * most one job of the id is active and one waiting.
 *
 * The next job waits in `dedup-next/<sha1 of id>.json` (written whole under a temp name, then
 * renamed over the last one). Whoever adds it first renames it to `<sha1>.json.<unique>.taking`
 * (one rename decides), adds it, then removes that file. Three parties may add it:
 * - the finisher of the holder, after giving the key back;
 * - the add that stored it, if it finds the holder finished (or gone) once the file is in place
 *   (the holder finished between the add's look and its write: the finisher looked too early);
 * - the stalled check, for a file two seconds old whose key names no job that has yet to finish
 *   (its holder's finisher died), and for a `.taking` file left a minute by a process that died
 *   while adding it (added only if no job has its id yet).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { JobsOptions } from '../types.js';
import { addJobs } from './add.js';
import { readDedup } from './dedup-key.js';
import { fsyncDir, isErrno, mkdirp, tryReaddir, tryReadJson, tryStat, tryUnlink, writeNewFileQuick } from './fs.js';
import { uniqueName } from './keys.js';
import { locate } from './lookup.js';
import { dedupFile, type QueueStore } from './store.js';

/** A job kept to be added when its deduplication key's holder finishes. */
export interface NextJob {
  dedupId: string;
  /** The automatic id the deduplicated add took (named in its `deduplicated` event), or its custom id. */
  id: string;
  name: string;
  data: unknown;
  opts: JobsOptions;
}

/** Age after which a next job whose holder is not active is added by the stalled check. */
const ORPHAN_NEXT_MS = 2000;
/** Age after which a `.taking` file is taken for the leftover of a dead process. */
const STALE_TAKING_MS = 60_000;

function nextDir(store: QueueStore): string {
  return path.join(store.dir, 'dedup-next');
}

function nextFile(store: QueueStore, dedupId: string): string {
  // Named as the key is (`<sha1 of id>.json`).
  return path.join(nextDir(store), path.basename(dedupFile(store, dedupId)));
}

/**
 * True when the job has finished (completed or failed) or is gone: its kept job may be added. A
 * holder waiting for a retry, or taken back from a dead worker, still holds it back.
 */
function holderDone(store: QueueStore, jobId: string): boolean {
  const place = locate(store, jobId)?.place;
  return place === undefined || place === 'completed' || place === 'failed';
}

/**
 * Keeps `job` as the next job of its deduplication id, whose key `holderId` holds and is active.
 * If the holder has finished by the time it is kept, adds it at once (see the module comment).
 */
export function keepNext(store: QueueStore, job: NextJob, holderId: string): void {
  const file = nextFile(store, job.dedupId);
  mkdirp(nextDir(store), store.modes, store.onDirCreated);
  const tmp = `${file}.${uniqueName()}.tmp`;
  // Durable mode: the add was answered, so the kept job must survive a power loss too.
  writeNewFileQuick(tmp, JSON.stringify(job), store.modes, store.durable);
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    tryUnlink(tmp);
    throw err;
  }
  if (store.durable) fsyncDir(nextDir(store));
  if (holderDone(store, holderId)) addNext(store, job.dedupId);
}

/**
 * Adds the next job of `dedupId`, if one is kept (a holder's finisher calls it after giving the
 * key back). One `access(2)` when there is none. Never throws: its callers have finished a job
 * already; a failed add is logged, and its `.taking` file left for the stalled check to retry.
 */
export function addNext(store: QueueStore, dedupId: string): void {
  const file = nextFile(store, dedupId);
  if (!fs.existsSync(file)) return;
  const taking = `${file}.${uniqueName()}.taking`;
  try {
    fs.renameSync(file, taking);
  } catch (err) {
    // ENOENT: another party took it.
    if (!isErrno(err, 'ENOENT')) store.logger.error('dedup-next:add-failed', { queue: store.name, deduplicationId: dedupId, err });
    return;
  }
  try {
    addTaken(store, taking, false);
  } catch (err) {
    store.logger.error('dedup-next:add-failed', { queue: store.name, deduplicationId: dedupId, err });
  }
}

/** Drops the next job of `dedupId` (its holder was removed while holding the key). */
export function dropNext(store: QueueStore, dedupId: string): void {
  const file = nextFile(store, dedupId);
  if (fs.existsSync(file)) tryUnlink(file);
}

function addTaken(store: QueueStore, taking: string, recovering: boolean): void {
  const job = tryReadJson(taking) as NextJob | undefined;
  // A job of the id already exists when a dead process had added it before removing the file.
  if (job && !(recovering && locate(store, job.id))) {
    addJobs(store, [{ name: job.name, data: job.data, opts: job.opts, presetId: job.id }]);
  }
  tryUnlink(taking);
}

/**
 * The stalled check's pass over kept next jobs: adds those whose key names no job that has yet to
 * finish (the holder's finisher died before adding it) and those a dead process left half taken. `dedup-next/` holds
 * only jobs waiting for an active holder, so it is small.
 */
export function recoverNextJobs(store: QueueStore, nowMs: number): void {
  for (const name of tryReaddir(nextDir(store))) {
    const file = path.join(nextDir(store), name);
    const st = tryStat(file);
    if (!st) continue;
    if (name.endsWith('.taking')) {
      if (nowMs - st.mtimeMs > STALE_TAKING_MS) {
        const again = `${file.slice(0, -'.taking'.length)}.${uniqueName()}.taking`;
        try {
          fs.renameSync(file, again);
        } catch {
          continue;
        }
        try {
          addTaken(store, again, true);
        } catch (err) {
          store.logger.error('dedup-next:add-failed', { queue: store.name, file: again, err });
        }
      }
      continue;
    }
    if (name.endsWith('.tmp')) {
      if (nowMs - st.mtimeMs > STALE_TAKING_MS) tryUnlink(file);
      continue;
    }
    if (!name.endsWith('.json') || nowMs - st.mtimeMs < ORPHAN_NEXT_MS) continue;
    const dedupId = (tryReadJson(file) as NextJob | undefined)?.dedupId;
    if (dedupId === undefined) continue;
    // The key names a job that has not finished: that job's finisher adds it.
    const key = readDedup(dedupFile(store, dedupId));
    if (key && !holderDone(store, key.jobId)) continue;
    addNext(store, dedupId);
  }
}
