/**
 * Automatic job ids: per-queue increasing integers, as in BullMQ. The counter lives in
 * `<queue>/seq`; a process reserves a block of ids under a short lock and hands them out from
 * memory. Blocks start at one id and double up to 256, so a single producer gets 1, 2, 3, ...
 * with no gaps; concurrent producers interleave by block. `release()` returns an unused tail when
 * nobody reserved after it.
 *
 * The lock is `seq.lock`. In a version 2 spool it is a symbolic link created exclusively whose
 * target names its holder (`<hostname> <pid> <process tag>`); a waiter breaks it at once when the
 * holder was a process on this host that no longer exists, and after 10 s otherwise. In a version
 * 1 spool, which older spoolkit versions may share, and on a filesystem without symbolic links, it
 * is a directory, broken after 10 s. Both kinds exclude each other. Breaking a lock twice by
 * mistake costs nothing worse than skipped ids: two processes given the same id both try to link
 * it into the id index, and the loser takes another.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SpoolkitError } from '../errors.js';
import { isErrno, rethrowFs, sleepSync, tryReadText } from './fs.js';
import { PROCESS_TAG } from './keys.js';
import { LIVENESS_TAG, PID_NAMESPACE, taggedProcessGone } from './process-gone.js';
import type { QueueStore } from './store.js';

const MAX_BLOCK = 256;
const LOCK_STALE_MS = 10_000;
const LOCK_WAIT_MS = 10_000;

/** Errors of `symlink(2)` on a filesystem that has no symbolic links. */
const SYMLINK_UNSUPPORTED = ['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'];

/**
 * The target of a lock this thread holds: `<hostname> <pid> <liveness tag> <pid namespace or ->
 * <thread tag>`. The first four judge the holder (the same for every thread of a process); the
 * last makes it unique to this thread, so a release never removes another thread's lock.
 */
const LOCK_OWNER = `${os.hostname()} ${process.pid} ${LIVENESS_TAG} ${PID_NAMESPACE || '-'} ${PROCESS_TAG}`;

/**
 * True when a lock's owner (`<hostname> <pid> <tag> <pid namespace or ->`) is a process known to
 * be gone. Owners written by older versions name no namespace and are left to the lock's age.
 */
export function lockOwnerGone(owner: string): boolean {
  const [hostname = '', pidText = '', tag = '', ns] = owner.split(' ');
  return taggedProcessGone(hostname, ns === undefined ? undefined : ns === '-' ? '' : ns, Number(pidText), tag);
}

/** Hands out automatic ids for one queue directory. */
export class IdAllocator {
  private next = 0;
  private end = 0; // exclusive
  private block = 1;
  /**
   * Lock with a directory, which names no holder: in a version 1 spool (older processes sharing
   * it know only that kind and cannot remove a link), and once `symlink(2)` failed for want of
   * support.
   */
  private lockAsDirectory: boolean;

  constructor(private readonly store: QueueStore) {
    this.lockAsDirectory = store.formatVersion < 2;
  }

  private static all = new Map<string, IdAllocator>();

  /** The allocator shared by every Queue of this directory in this process. */
  static for(store: QueueStore): IdAllocator {
    let a = IdAllocator.all.get(store.dir);
    if (!a) {
      a = new IdAllocator(store);
      IdAllocator.all.set(store.dir, a);
    }
    return a;
  }

  /** The next id. */
  take(): string {
    if (this.next >= this.end) this.reserve();
    return String(this.next++);
  }

  /**
   * Gives back the unused rest of the current block when the counter still ends with it. Best
   * effort: when the counter cannot be written (a full disk, a lock held too long), the rest of the
   * block is skipped, which leaves a gap in the numbering and nothing else.
   */
  release(): void {
    if (this.next >= this.end) return;
    try {
      this.withLock(() => {
        const current = this.readCounter();
        if (current === this.end - 1) this.writeCounter(this.next - 1);
      });
    } catch {
      // the ids are skipped
    } finally {
      this.next = this.end = 0;
      this.block = 1;
    }
  }

  /**
   * After an automatic id turned out taken: the counter is behind the jobs (another process still
   * hands out a block it reserved before an obliterate reset the counter, or `seq` was lost).
   * Moves the counter past `id` by a whole block, which is past any block another process can
   * hold there, and drops this process's block.
   */
  skipPast(id: number): void {
    this.withLock(() => {
      const current = this.readCounter();
      if (current < id + MAX_BLOCK) this.writeCounter(id + MAX_BLOCK);
    });
    this.next = this.end = 0;
  }

  /** Forgets the reserved block (after the queue directory is removed). */
  reset(): void {
    this.next = this.end = 0;
    this.block = 1;
  }

  private reserve(): void {
    this.withLock(() => {
      const current = this.readCounter();
      this.next = current + 1;
      this.end = current + 1 + this.block;
      this.writeCounter(this.end - 1);
    });
    this.block = Math.min(MAX_BLOCK, this.block * 2);
  }

  private readCounter(): number {
    const text = tryReadText(path.join(this.store.dir, 'seq'));
    const n = text === undefined ? 0 : Number.parseInt(text, 10);
    return Number.isFinite(n) && n >= 0 ? n : 0;
  }

  private writeCounter(n: number): void {
    this.store.writeAtomic(path.join(this.store.dir, 'seq'), `${n}\n`);
  }

  private withLock(fn: () => void): void {
    const lock = path.join(this.store.dir, 'seq.lock');
    const started = Date.now();
    let asDir = false;
    for (let attempt = 0; ; attempt++) {
      try {
        asDir = this.lockAsDirectory;
        if (asDir) fs.mkdirSync(lock);
        else fs.symlinkSync(LOCK_OWNER, lock);
        break;
      } catch (err) {
        if (isErrno(err, 'ENOENT')) {
          this.store.ensureDirs();
          continue;
        }
        if (!asDir && SYMLINK_UNSUPPORTED.some((code) => isErrno(err, code))) {
          this.lockAsDirectory = true; // a filesystem without symbolic links: lock the way older versions did
          continue;
        }
        if (!isErrno(err, 'EEXIST')) rethrowFs(err, lock);
      }
      if (breakAbandonedLock(lock)) continue;
      if (Date.now() - started > LOCK_WAIT_MS) {
        throw new SpoolkitError('ERR_SPOOL_UNWRITABLE', `Timed out waiting for the id counter lock ${lock}; if no spoolkit process is running, remove it.`);
      }
      sleepSync(attempt < 10 ? 0.2 : 1);
    }
    try {
      fn();
    } finally {
      try {
        // Only our own: a lock broken as stale meanwhile may now be another process's.
        if (asDir) fs.rmdirSync(lock);
        else if (fs.readlinkSync(lock) === LOCK_OWNER) fs.unlinkSync(lock);
      } catch {
        // gone already (broken as stale); nothing to do
      }
    }
  }
}

/**
 * Removes `lock` when its holder is gone or it is older than the stale limit. True when the lock
 * was removed or vanished (try to take it again), false while it is held.
 */
function breakAbandonedLock(lock: string): boolean {
  let st: fs.Stats;
  let owner: string | undefined;
  try {
    st = fs.lstatSync(lock);
    if (st.isSymbolicLink()) owner = fs.readlinkSync(lock);
  } catch {
    return true;
  }
  const stale = Date.now() - st.mtimeMs > LOCK_STALE_MS;
  if (!stale && !(owner !== undefined && lockOwnerGone(owner))) return false;
  try {
    if (owner === undefined) fs.rmdirSync(lock); // an older version's lock directory
    else if (fs.readlinkSync(lock) === owner) fs.unlinkSync(lock); // still the one judged above
  } catch (err) {
    // Gone meanwhile: try again. Anything else (not ours to remove, not a lock at all): wait, so
    // the caller's time limit ends it with an error that names the lock.
    return isErrno(err, 'ENOENT');
  }
  return true;
}
