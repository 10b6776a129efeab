/**
 * Promotion of due delayed jobs: a rename from `delayed/` into the set named in the key's last
 * field, keeping the due time as the key (so promoted jobs sort by due time). Any worker may
 * promote; racing promoters see ENOENT and move on. Jobs are never promoted early: an entry is
 * promoted only when its key's time is <= now. (An explicit `promote()` of a job due later
 * re-files it under a key of now instead: admin.ts.)
 */
import fs from 'node:fs';
import { fsyncDir, isErrno, renameInto, rethrowFs } from './fs.js';
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
  /** Names under `corrupt/` of files found in delayed/ whose key names no set (moved there so the pass can go on). */
  quarantined: string[];
}

/** Promotes up to `limit` due jobs. */
export function promoteDue(store: QueueStore, nowMs: number, limit = 1000): PromoteResult {
  const cursor = new SetCursor(store.delayed, () => nowMs);
  const result: PromoteResult = { promoted: [], nextDueMs: null, quarantined: [] };
  // Durable mode: each destination directory is fsynced once per pass, after its renames.
  const touched = store.durable ? new Set<string>() : undefined;
  try {
    for (;;) {
      const e = cursor.next();
      if (!e) return result;
      const due = keyMs(e.key);
      if (due > nowMs || result.promoted.length >= limit) {
        result.nextDueMs = due;
        return result;
      }
      const dest = promotedPath(store, path.basename(e.path));
      if (!dest) {
        // Not written by spoolkit (a hand-moved file): skipped, it would be met again on every
        // re-listing of its leaf and the pass would never end.
        const name = quarantineStray(store, e.path);
        if (name) result.quarantined.push(name);
        continue;
      }
      try {
        renameInto(e.path, dest.path, store.modes, store.onDirCreated);
      } catch (err) {
        if (isErrno(err, 'ENOENT')) continue;
        throw err;
      }
      touched?.add(path.dirname(dest.path));
      result.promoted.push(e.id);
      store.events.append('waiting', { jobId: e.id, prev: 'delayed' });
    }
  } finally {
    if (touched) for (const dir of touched) fsyncDir(dir);
    // The pass's `waiting` events now, not on the next turn: the promoted jobs can be started by
    // other processes already, and their `active` must not come first.
    if (result.promoted.length > 0) store.events.flushQuietly();
  }
}

/** Moves a file out of delayed/ into corrupt/; returns its new name, or undefined when it was gone. */
function quarantineStray(store: QueueStore, file: string): string | undefined {
  const name = `${path.basename(file)}.${Date.now()}`;
  try {
    renameInto(file, path.join(store.dir, 'corrupt', name), store.modes);
    return name;
  } catch (err) {
    if (isErrno(err, 'ENOENT') && !fs.existsSync(file)) return undefined;
    return rethrowFs(err, file);
  }
}
