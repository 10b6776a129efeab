/**
 * Finding a job by id without listing any directory: the id index gives the set path the job was
 * last written to; if it is not there any more, the job has moved to one of the fixed places
 * (active, completed, failed, reclaiming), or, for a delayed job, to the set its promotion targets.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { JobState } from '../types.js';
import { isErrno, rethrowFs } from './fs.js';
import { lifoKeyFromDelayed } from './routing.js';
import { parseJobRecord, type JobRecord } from './record.js';
import type { Place, QueueStore } from './store.js';

/** Where a job was found. */
export interface Located {
  place: Place;
  path: string;
}

/** Maps a place to the BullMQ state it shows as. */
export function stateOf(place: Place): JobState {
  switch (place) {
    case 'waiting':
    case 'lifo':
      return 'waiting';
    case 'prioritized':
      return 'prioritized';
    case 'delayed':
      return 'delayed';
    case 'active':
    case 'reclaiming':
      return 'active';
    case 'completed':
      return 'completed';
    case 'failed':
      return 'failed';
  }
}

/** The place named by the first segment of a relative set path. */
export function placeOfRel(rel: string): Place | undefined {
  const first = rel.split(/[\\/]/, 1)[0];
  switch (first) {
    case 'waiting':
    case 'lifo':
    case 'prioritized':
    case 'delayed':
      return first;
    default:
      return undefined;
  }
}

/** Candidate paths for a job, most likely first. */
export function candidates(store: QueueStore, id: string): Located[] {
  const out: Located[] = [];
  const hint = store.readIdEntry(id)?.trim();
  if (hint) {
    const place = placeOfRel(hint);
    if (place) {
      out.push({ place, path: path.join(store.dir, hint) });
      if (place === 'delayed') {
        const promoted = promotedPath(store, path.basename(hint));
        if (promoted) out.push(promoted);
      }
    }
  }
  out.push({ place: 'active', path: store.filePath('active', id) });
  out.push({ place: 'completed', path: store.filePath('completed', id) });
  out.push({ place: 'failed', path: store.filePath('failed', id) });
  out.push({ place: 'reclaiming', path: store.filePath('reclaiming', id) });
  return out;
}

/** Where a delayed file named `name` goes when promoted. */
export function promotedPath(store: QueueStore, name: string): Located | undefined {
  const dot = name.indexOf('.');
  if (dot < 0) return undefined;
  const key = name.slice(0, dot);
  const id = name.slice(dot + 1, -5);
  const dest = key.slice(key.lastIndexOf('-') + 1);
  if (dest === 'w') return { place: 'waiting', path: store.waiting.pathFor(key, id) };
  if (dest === 'l') return { place: 'lifo', path: store.lifo.pathFor(lifoKeyFromDelayed(key), id) };
  if (/^p\d+$/.test(dest)) return { place: 'prioritized', path: store.prioritized(Number(dest.slice(1))).pathFor(key, id) };
  return undefined;
}

/** Finds where a job is; undefined when it does not exist. */
export function locate(store: QueueStore, id: string): Located | undefined {
  for (const c of candidates(store, id)) if (fs.existsSync(c.path)) return c;
  return undefined;
}

/** Reads a job; retries when the file moves between finding and reading it. */
export function readJob(store: QueueStore, id: string): { rec: JobRecord; loc: Located } | undefined {
  for (let round = 0; round < 3; round++) {
    for (const c of candidates(store, id)) {
      let text: string;
      try {
        text = fs.readFileSync(c.path, 'utf8');
      } catch (err) {
        if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) continue;
        return rethrowFs(err, c.path);
      }
      return { rec: parseJobRecord(text, c.path), loc: c };
    }
    if (store.readIdEntry(id) === undefined) return undefined;
  }
  return undefined;
}
