/**
 * Automatic job ids: per-queue increasing integers, as in BullMQ. The counter lives in
 * `<queue>/seq`; a process reserves a block of ids under a short lock (`seq.lock`, a directory
 * created exclusively) and hands them out from memory. Blocks start at one id and double up to
 * 256, so a single producer gets 1, 2, 3, ... with no gaps; concurrent producers interleave by
 * block. `release()` returns an unused tail when nobody reserved after it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SpoolkitError } from '../errors.js';
import { isErrno, rethrowFs, sleepSync, tryReadText } from './fs.js';
import type { QueueStore } from './store.js';

const MAX_BLOCK = 256;
const LOCK_STALE_MS = 10_000;
const LOCK_WAIT_MS = 10_000;

/** Hands out automatic ids for one queue directory. */
export class IdAllocator {
  private next = 0;
  private end = 0; // exclusive
  private block = 1;

  constructor(private readonly store: QueueStore) {}

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
    for (let attempt = 0; ; attempt++) {
      try {
        fs.mkdirSync(lock);
        break;
      } catch (err) {
        if (isErrno(err, 'ENOENT')) {
          this.store.ensureDirs();
          continue;
        }
        if (!isErrno(err, 'EEXIST')) rethrowFs(err, lock);
      }
      try {
        if (Date.now() - fs.statSync(lock).mtimeMs > LOCK_STALE_MS) {
          fs.rmdirSync(lock); // its holder died
          continue;
        }
      } catch {
        continue;
      }
      if (Date.now() - started > LOCK_WAIT_MS) {
        throw new SpoolkitError('ERR_SPOOL_UNWRITABLE', `Timed out waiting for the id counter lock ${lock}; if no spoolkit process is running, remove it.`);
      }
      sleepSync(attempt < 10 ? 0.2 : 1);
    }
    try {
      fn();
    } finally {
      try {
        fs.rmdirSync(lock);
      } catch {
        // removed by a stale-lock breaker; nothing to do
      }
    }
  }
}
