/**
 * Promotion of due delayed jobs: a rename from `delayed/` into the set named in the key's last
 * field, keeping the due time as the key (so promoted jobs sort by due time). Any worker may
 * promote; racing promoters see ENOENT and move on. Jobs are never promoted early: an entry is
 * promoted only when its key's time is <= now.
 */
import { isErrno, renameInto } from './fs.js';
import { keyMs } from './keys.js';
import { promotedPath } from './lookup.js';
import { SetCursor } from './ordered-set.js';
import type { QueueStore } from './store.js';
import path from 'node:path';

/** Result of a promotion pass. */
export interface PromoteResult {
  promoted: string[];
  /** Due time of the next delayed job, or null when none is left. */
  nextDueMs: number | null;
}

/** Promotes up to `limit` due jobs. */
export function promoteDue(store: QueueStore, nowMs: number, limit = 1000): PromoteResult {
  const cursor = new SetCursor(store.delayed, () => nowMs);
  const promoted: string[] = [];
  for (;;) {
    const e = cursor.next();
    if (!e) return { promoted, nextDueMs: null };
    const due = keyMs(e.key);
    if (due > nowMs || promoted.length >= limit) return { promoted, nextDueMs: due };
    const dest = promotedPath(store, path.basename(e.path));
    if (!dest) continue;
    try {
      renameInto(e.path, dest.path, store.modes);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) continue;
      throw err;
    }
    promoted.push(e.id);
    store.events.append('waiting', { jobId: e.id, prev: 'delayed' });
  }
}

/** Promotes one delayed job now (job.promote()). False when it is not delayed. */
export function promoteOne(store: QueueStore, delayedPath: string, id: string): boolean {
  const dest = promotedPath(store, path.basename(delayedPath));
  if (!dest) return false;
  try {
    renameInto(delayedPath, dest.path, store.modes);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    throw err;
  }
  store.events.append('waiting', { jobId: id, prev: 'delayed' });
  return true;
}

