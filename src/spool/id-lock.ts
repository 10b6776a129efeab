/**
 * The lock that guards replacing or unlinking a job's id name when the name is not the caller's
 * own: `tmp/idlock-<sha1 of the id>`, created exclusively and broken once old (its holder died).
 * A new id name is made by `link`, which fails when the name exists, and needs no lock; taking a
 * name away again (a stale leftover replaced by an add, an interrupted add undone by the stalled
 * checker) checks which file the name is and unlinks it under this lock, so two processes never
 * both judge the same name and one of them unlink the fresh name the other made meanwhile.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isErrno, rethrowFs, tryStat, tryUnlink } from './fs.js';
import type { QueueStore } from './store.js';

/** A lock this old was left by a process that died holding it. */
const ID_LOCK_STALE_MS = 10_000;

/**
 * Runs `fn` holding the lock of `id`. Resolves `undefined` without running it when another
 * process holds the lock (it is judging the same name: let it).
 */
export function withIdLock<T>(store: QueueStore, id: string, nowMs: number, fn: () => T): T | undefined {
  const lock = path.join(store.dir, 'tmp', `idlock-${createHash('sha1').update(id).digest('hex')}`);
  if (!takeLock(store, lock, nowMs)) return undefined;
  try {
    return fn();
  } finally {
    tryUnlink(lock);
  }
}

/**
 * Takes a lock file `lock` (created exclusively; one left by a dead holder is broken once 10 s
 * old); false when another process holds it. Also the deduplication keys' lock (dedup-replace.ts).
 */
export function takeLock(store: QueueStore, lock: string, nowMs: number): boolean {
  for (let i = 0; i < 2; i++) {
    try {
      fs.closeSync(fs.openSync(lock, 'wx', store.modes.file));
      return true;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) {
        store.ensureDirs();
        continue;
      }
      if (!isErrno(err, 'EEXIST')) return rethrowFs(err, lock);
    }
    const st = tryStat(lock);
    if (!st || nowMs - st.ctimeMs < ID_LOCK_STALE_MS) return false;
    tryUnlink(lock);
  }
  return false;
}
