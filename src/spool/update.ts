/**
 * Updating a stored job from a process that does not hold its lease (progress or data from a
 * web process, a sandbox child, an admin tool). The new record is renamed over the job's current
 * file, keeping its generation, so a worker holding the lease adopts it (lease.ts).
 *
 * A job in a set (waiting, delayed, ...) is first held in `reclaiming/` so no claimer takes it
 * while it is rewritten (admin.ts); a crash while held puts it back in the queue after 10 s.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SpoolkitError } from '../errors.js';
import { isErrno, mkdirp, rethrowFs, tryReadText, tryUnlink } from './fs.js';
import { holdEntry } from './admin.js';
import { readJob, type Located } from './lookup.js';
import { serializeRecord, type JobRecord } from './record.js';
import type { QueueStore } from './store.js';

const SET_PLACES = new Set(['waiting', 'lifo', 'prioritized', 'delayed']);

/** Applies `mutate` to the stored job. Throws ERR_JOB_NOT_FOUND when the job does not exist. */
export function updateStored(store: QueueStore, id: string, what: string, mutate: (rec: JobRecord) => void): { rec: JobRecord; loc: Located } {
  for (let attempt = 0; attempt < 5; attempt++) {
    const found = readJob(store, id);
    if (!found) break;
    if (SET_PLACES.has(found.loc.place)) {
      // Take it out of claimers' view while it is rewritten.
      const h = holdEntry(store, found.loc, id);
      if (!h) continue;
      mutate(h.rec);
      const { tmp } = store.writeTmp(serializeRecord(h.rec));
      store.publish(tmp, found.loc.path);
      tryUnlink(h.held);
      return { rec: h.rec, loc: found.loc };
    }
    mutate(found.rec);
    const { tmp } = store.writeTmp(serializeRecord(found.rec));
    // Only replace the file if it is still where we read it (it may have moved meanwhile).
    if (!fs.existsSync(found.loc.path)) {
      tryUnlink(tmp);
      continue;
    }
    fs.renameSync(tmp, found.loc.path);
    return found;
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
