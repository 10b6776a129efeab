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
import os from 'node:os';
import { isErrno, rethrowFs, sleepSync, tryReadText, tryStat, tryUnlink } from './fs.js';
import { lockOwnerGone } from './id-alloc.js';
import { uniqueName } from './keys.js';
import { LIVENESS_TAG, PID_NAMESPACE } from './process-gone.js';
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
 * What a lock file says of its holder: `<hostname> <pid> <liveness tag> <pid namespace or ->`, as
 * the id counter's lock does (id-alloc.ts), so a process of this host and pid namespace can tell
 * that the holder is gone.
 */
const LOCK_HOLDER = `${os.hostname()} ${process.pid} ${LIVENESS_TAG} ${PID_NAMESPACE || '-'}`;

/**
 * Takes a lock file `lock` (created exclusively, naming its holder); false when another process
 * holds it. A lock whose holder is a process of this host and pid namespace that no longer exists
 * is broken at once, any other once 10 s old (a holder elsewhere, or a file written by an older
 * version, which names none). Also the deduplication keys' lock (dedup-replace.ts) and the claim
 * lock of a global concurrency (global-concurrency.ts).
 */
export function takeLock(store: QueueStore, lock: string, nowMs: number): boolean {
  for (let i = 0; i < 3; i++) {
    let fd: number;
    try {
      fd = fs.openSync(lock, 'wx', store.modes.file);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) {
        store.ensureDirs();
        continue;
      }
      if (!isErrno(err, 'EEXIST')) return rethrowFs(err, lock);
      if (!breakAbandoned(lock, nowMs)) return false;
      continue;
    }
    try {
      fs.writeSync(fd, LOCK_HOLDER);
    } catch {
      // the name alone is the lock; without the holder's name it is judged by its age
    } finally {
      fs.closeSync(fd);
    }
    return true;
  }
  return false;
}

/**
 * Takes `lock` as `takeLock` does, waiting in 1 ms steps for up to `waitMs` while another process
 * holds it (such a lock is held for a few system calls); false when the wait ran out.
 */
export function waitForLock(store: QueueStore, lock: string, waitMs: number): boolean {
  const until = Date.now() + waitMs;
  while (!takeLock(store, lock, Date.now())) {
    if (Date.now() >= until) return false;
    sleepSync(1);
  }
  return true;
}

/**
 * Removes `lock` when its holder is gone or it is 10 s old: true when it is gone (take it again),
 * false while it is held. It is moved aside first and removed only if it is still the file judged:
 * two processes that judged the same dead holder must not remove the lock one of them then took.
 */
function breakAbandoned(lock: string, nowMs: number): boolean {
  const st = tryStat(lock);
  if (!st) return true;
  let abandoned = nowMs - st.ctimeMs >= ID_LOCK_STALE_MS;
  if (!abandoned) {
    const holder = tryReadText(lock);
    abandoned = holder !== undefined && holder !== '' && lockOwnerGone(holder);
  }
  if (!abandoned) return false;
  const aside = `${lock}.${uniqueName()}.broken`;
  try {
    fs.renameSync(lock, aside);
  } catch (err) {
    return isErrno(err, 'ENOENT');
  }
  // The same inode number is not enough: a lock another breaker removed may have had its inode
  // given to the next holder's new lock at once. Its write time tells them apart (a rename
  // changes the change time, not that).
  const moved = tryStat(aside);
  if (moved?.ino !== st.ino || moved.mtimeMs !== st.mtimeMs) {
    // Another breaker's fresh lock: put it back (unless yet another process took the name).
    try {
      fs.linkSync(aside, lock);
    } catch {
      // taken meanwhile: that process holds the lock
    }
  }
  tryUnlink(aside);
  return true;
}
