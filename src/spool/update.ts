/**
 * Updating a stored job from any process (progress or data from a web process, a sandbox child,
 * an admin tool): a patch appended to the job's file through its id-index name. The file keeps
 * its inode and name, so a worker holding the job's lease is not disturbed, and no claimer can
 * race the update.
 */
import { assertFileSafeId } from './validate.js';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SpoolkitError } from '../errors.js';
import type { Claim } from './claim.js';
import { appendHeld, setFinishTime } from './finish.js';
import { appendText, isErrno, mkdirp, rethrowFs, tryReadText, tryUnlink } from './fs.js';
import { appendPatch, parseJobRecord, type JobRecord, type RecordPatch } from './record.js';
import type { QueueStore } from './store.js';
import { waitForLock } from './id-lock.js';

/** Appends `patch` to the stored job. Throws ERR_JOB_NOT_FOUND when the job does not exist. */
export function patchStored(store: QueueStore, id: string, what: string, patch: RecordPatch): void {
  const file = store.idPath(id);
  try {
    if (fs.statSync(file).nlink >= 2) {
      // Named (`i`): if the job is removed and its file reused for another job between the stat
      // and the write, readers of that job skip this patch.
      appendPatch(file, { ...patch, i: id });
      keepFinishTime(file);
      return;
    }
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) rethrowFs(err, file);
  }
  throw new SpoolkitError('ERR_JOB_NOT_FOUND', `Missing key for job ${id}. ${what}: the job does not exist in queue ${store.name} (it may have been removed).`, { details: { jobId: id } });
}

/** After a write to a finished job's file, puts its modification time back to its finish time (finish.ts). */
function keepFinishTime(file: string): void {
  let rec: JobRecord;
  try {
    rec = parseJobRecord(fs.readFileSync(file, 'utf8'), file);
  } catch {
    return;
  }
  if (rec.st !== undefined && rec.finishedOn !== undefined) setFinishTime(file, rec.finishedOn);
}

/**
 * Appends a patch written by a running job (progress, data) to the file its claim holds. The patch
 * carries the run's generation (`g`), so it is ignored if the job was taken from this run before
 * the write landed (a reclaimer renamed the file between our open and write, then raised the
 * generation). When the claim name is gone:
 * - the run moved the job itself (moveToDelayed: its generation was raised by this run): the patch
 *   goes through the id index, guarded by the new generation;
 * - otherwise the run lost the job (lease expired, forced close): nothing is written, because the
 *   job may already be running, or finished, elsewhere.
 * Returns true when the patch was written.
 */
export function patchFromRun(store: QueueStore, claim: Claim, id: string, what: string, patch: RecordPatch): boolean {
  if (claim.released) return false;
  if (appendHeld(store, claim.path, { ...patch, g: claim.gen })) return true;
  if (claim.rec.gen === claim.gen) return false;
  patchStored(store, id, what, { ...patch, g: claim.rec.gen });
  return true;
}

/** Path of a job's log file. */
export function logPath(store: QueueStore, id: string): string {
  assertFileSafeId(id);
  return path.join(store.dir, 'logs', `${id}.jsonl`);
}

/** How long an `addJobLog` waits for another one of the same job (each holds it for a few system calls). */
const LOG_LOCK_WAIT_MS = 2000;

/**
 * Appends a log row; trims to the last `keepLogs` rows when that is above 0. Returns the number of rows.
 * Throws ERR_JOB_NOT_FOUND, as BullMQ does, when the job does not exist. The check comes after the
 * append, and a removal frees the id before it deletes the logs, so a row racing a removal is
 * never left behind: either the remover sees the log file or this call sees the id gone. Appends
 * and trims of one job's log take turns under its lock (`tmp/loglock-<sha1 of the id>`, as the id
 * lock): a trim writes the kept rows to a new file, and a row appended to the old one between its
 * read and its rename would be lost (BullMQ pushes and trims in one script).
 */
export function appendLog(store: QueueStore, id: string, row: string, keepLogs?: number): number {
  const file = logPath(store, id);
  const line = JSON.stringify(String(row)) + '\n';
  const lock = path.join(store.dir, 'tmp', `loglock-${createHash('sha1').update(id).digest('hex')}`);
  if (!waitForLock(store, lock, LOG_LOCK_WAIT_MS)) {
    throw new SpoolkitError('ERR_SPOOL_UNWRITABLE', `Could not add a log row to job ${id}: other log writes of that job kept its log busy for ${LOG_LOCK_WAIT_MS} ms. Nothing was written; add the row again.`, { details: { jobId: id } });
  }
  try {
    try {
      appendText(file, line, store.modes);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) rethrowFs(err, file);
      mkdirp(path.dirname(file), store.modes);
      appendText(file, line, store.modes);
    }
    if (!fs.existsSync(store.idPath(id))) {
      tryUnlink(file);
      throw new SpoolkitError('ERR_JOB_NOT_FOUND', `Missing key for job ${id}. addLog: the job does not exist in queue ${store.name} (it may have been removed).`, { details: { jobId: id } });
    }
    const rows = readLogRows(store, id);
    // As in BullMQ, 0 (or less) keeps every row.
    if (keepLogs !== undefined && keepLogs > 0 && rows.length > keepLogs) {
      const kept = rows.slice(-keepLogs);
      store.writeAtomic(file, kept.map((r) => JSON.stringify(r)).join('\n') + '\n');
      return kept.length;
    }
    return rows.length;
  } finally {
    tryUnlink(lock);
  }
}

/** Every log row of a job, oldest first. */
export function readLogRows(store: QueueStore, id: string): string[] {
  const text = tryReadText(logPath(store, id));
  if (!text) return [];
  const rows: string[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      rows.push(String(JSON.parse(line)));
    } catch {
      rows.push(line);
    }
  }
  return rows;
}
