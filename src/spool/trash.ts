/**
 * Deferred deletes. Freeing a job file's data block is this kind of disk's slowest metadata step
 * (on ext4 mounted with `discard`, each freed block waits for a discard: 100-300 µs here, against
 * 5-40 µs for an empty file), so a removed job's file is never deleted on the hot path. When the
 * spare pool is full it is renamed into `<queue>/trash/` (one rename), and a Worker deletes what
 * is there while it is idle, off the main thread.
 *
 * `trash/` grows only while finished jobs are removed faster than new ones are added, that is
 * while a backlog shrinks, so it never holds more than the backlog held; it is emptied once the
 * queue runs dry. Anything in `trash/` is garbage and may be deleted by any process at any time.
 */
import fs from 'node:fs';
import path from 'node:path';
import { discardInto, isErrno } from './fs.js';
import { uniqueName } from './keys.js';
import type { QueueStore } from './store.js';

/** Trash directories this process has moved files into since it last emptied them. */
const parked = new Set<string>();

/** True when this process moved files into the queue's `trash/` that it has not deleted since. */
export function hasParked(store: QueueStore): boolean {
  return parked.has(trashDir(store));
}

/** `<queue>/trash`. */
export function trashDir(store: QueueStore): string {
  return path.join(store.dir, 'trash');
}

/** Moves a file into `trash/` (one rename). False when `file` was gone. */
export function moveToTrash(store: QueueStore, file: string): boolean {
  const dir = trashDir(store);
  if (!discardInto(file, path.join(dir, uniqueName()), store.modes)) return false;
  parked.add(dir);
  return true;
}

/**
 * Deletes files from `trash/` with asynchronous calls (the thread pool waits for the disk, not
 * the event loop), one at a time, until it is empty or `stop()` says so between two deletes.
 * Returns how many files this call deleted. Other processes may empty it at the same time.
 */
export async function emptyTrash(store: QueueStore, stop: () => boolean): Promise<number> {
  let dir: fs.Dir;
  const where = trashDir(store);
  // Cleared first: a file parked while this runs sets it again.
  parked.delete(where);
  try {
    dir = await fs.promises.opendir(where, { bufferSize: 64 });
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return 0;
    throw err;
  }
  let deleted = 0;
  let entry: fs.Dirent | null = null;
  try {
    for (entry = await dir.read(); entry !== null && !stop(); entry = await dir.read()) {
      try {
        await fs.promises.unlink(path.join(dir.path, entry.name));
        deleted++;
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
      }
    }
  } finally {
    await dir.close();
    if (entry !== null) parked.add(where); // stopped early (or failed): not empty yet
  }
  return deleted;
}
