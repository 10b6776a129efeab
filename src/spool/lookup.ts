/**
 * Finding a job by id without listing any big directory. The id index entry is a hard link to
 * the job file, so the record is one read away whatever the job's state. The state comes from
 * the name the job has besides its index entry: `completed/<id>.json` or `failed/<id>.json` if
 * present; else the set path the record names (`at`), or for a delayed job the set its promotion
 * targets; else the job is active (claimed or being moved).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { JobState } from '../types.js';
import { isErrno, rethrowFs } from './fs.js';
import { isSetHoldName } from './keys.js';
import { lifoKeyFromDelayed } from './routing.js';
import { parseJobRecord, type JobRecord } from './record.js';
import type { Place, QueueStore } from './store.js';

/** Where a job was found. `path` is empty for an active job (its claim name is not looked up). */
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
    case 'waiting-children':
      return 'waiting-children';
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
    case 'waiting-children':
      return first;
    default:
      return undefined;
  }
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

function sameInode(file: string, ino: number): boolean {
  try {
    // Most probes miss (a job is in one place of several): no exception for a missing file.
    return fs.statSync(file, { throwIfNoEntry: false })?.ino === ino;
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return false;
    return rethrowFs(err, file);
  }
}

/** Where the job whose file has inode `ino` and record `rec` is now. */
export function placeOf(store: QueueStore, id: string, rec: JobRecord, ino: number): Located {
  for (const place of ['completed', 'failed'] as const) {
    const file = store.filePath(place, id);
    if (sameInode(file, ino)) return { place, path: file };
  }
  if (rec.at) {
    const place = placeOfRel(rec.at);
    const file = path.join(store.dir, rec.at);
    if (place && sameInode(file, ino)) return { place, path: file };
    if (place === 'delayed') {
      const promoted = promotedPath(store, path.basename(rec.at));
      if (promoted && sameInode(promoted.path, ino)) return promoted;
    }
  }
  return { place: 'active', path: '' };
}

/** Reads a job's record and where it is; undefined when it does not exist. */
export function readJob(store: QueueStore, id: string): { rec: JobRecord; loc: Located } | undefined {
  const file = store.idPath(id);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return undefined;
    return rethrowFs(err, file);
  }
  let text: string;
  let ino: number;
  let nlink: number;
  try {
    const st = fs.fstatSync(fd);
    ino = st.ino;
    nlink = st.nlink;
    text = fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
  // Only the index name left: the job is being removed (or an add died before publishing it).
  if (nlink < 2) return undefined;
  let rec: JobRecord;
  try {
    rec = parseJobRecord(text, file);
  } catch (err) {
    // Removed and its file reused from the pool between the open and the read: overwritten in
    // place, it may hold a deduplication key or a job record half written. The id name goes
    // before the file is pooled, so the job is gone when the name no longer is this file.
    if (!sameInode(file, ino)) return undefined;
    throw err;
  }
  // Removed and its file reused for another job between the open and the read: gone.
  if (rec.id !== id) return undefined;
  return { rec, loc: placeOf(store, id, rec, ino) };
}

/**
 * The state a found job shows. One found in no set and with no claim in `active/`, held in
 * `reclaiming/` by a move between two sets (for microseconds), shows as the place its record
 * names (`st` for a finished job being retried, else the set `at` names: the one it leaves, or
 * the one it goes to once the move wrote its patch), not as active.
 */
export function visibleState(store: QueueStore, id: string, found: { rec: JobRecord; loc: Located }): JobState {
  if (found.loc.place !== 'active') return stateOf(found.loc.place);
  const claims = store.findClaimed(id);
  if (claims.some((c) => c.place === 'active')) return 'active';
  if (!claims.some((c) => isSetHoldName(path.basename(c.path)))) return 'active';
  // A finished job being retried names where it finished until the retry writes its patch.
  if (found.rec.st) return found.rec.st;
  const at = found.rec.at ? placeOfRel(found.rec.at) : undefined;
  return at ? stateOf(at) : 'active';
}

/** Finds where a job is; undefined when it does not exist. */
export function locate(store: QueueStore, id: string): Located | undefined {
  return readJob(store, id)?.loc;
}
