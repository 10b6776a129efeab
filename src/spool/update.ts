/**
 * Updating a stored job from any process (progress or data from a web process, a sandbox child,
 * an admin tool): a patch appended to the job's file through its id-index name. The file keeps
 * its inode and name, so a worker holding the job's lease is not disturbed, and no claimer can
 * race the update.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SpoolkitError } from '../errors.js';
import { isErrno, mkdirp, rethrowFs, tryReadText, tryUnlink } from './fs.js';
import { appendPatch, type RecordPatch } from './record.js';
import type { QueueStore } from './store.js';

/** Appends `patch` to the stored job. Throws ERR_JOB_NOT_FOUND when the job does not exist. */
export function patchStored(store: QueueStore, id: string, what: string, patch: RecordPatch): void {
  const file = store.idPath(id);
  try {
    if (fs.statSync(file).nlink >= 2) {
      appendPatch(file, patch);
      return;
    }
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) rethrowFs(err, file);
  }
  throw new SpoolkitError('ERR_JOB_NOT_FOUND', `Missing key for job ${id}. ${what}: the job does not exist in queue ${store.name} (it may have been removed).`, { details: { jobId: id } });
}

/** Path of a job's log file. */
export function logPath(store: QueueStore, id: string): string {
  return path.join(store.dir, 'logs', `${id}.jsonl`);
}

/** Appends a log row; trims to the last `keepLogs` rows when given. Returns the number of rows. */
export function appendLog(store: QueueStore, id: string, row: string, keepLogs?: number): number {
  const file = logPath(store, id);
  const line = JSON.stringify(String(row)) + '\n';
  try {
    fs.appendFileSync(file, line, { mode: store.modes.file });
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) rethrowFs(err, file);
    mkdirp(path.dirname(file), store.modes);
    fs.appendFileSync(file, line, { mode: store.modes.file });
  }
  const rows = readLogRows(store, id);
  if (keepLogs !== undefined && rows.length > keepLogs) {
    const kept = keepLogs === 0 ? [] : rows.slice(-keepLogs);
    if (kept.length === 0) tryUnlink(file);
    else store.writeAtomic(file, kept.map((r) => JSON.stringify(r)).join('\n') + '\n');
    return kept.length;
  }
  return rows.length;
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
