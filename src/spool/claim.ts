/**
 * Claiming. A claim is one rename of a set entry to `active/<id>.<tag>.json`, with a tag unique to
 * this claim: exactly one claimer wins; ENOENT means another claimer won (take the next entry),
 * any other error is real. The rename sets the file's ctime, which starts the lease (lease.ts).
 * Order: the LIFO set, then waiting, then priorities ascending (BullMQ: no priority first, then
 * lower number first, FIFO within each).
 *
 * A file that cannot be parsed is quarantined: the raw file moves to `corrupt/`, and a failed
 * record with the reason takes its place, so the job ends failed and is never retried.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isErrno, rethrowFs, tryUnlink } from './fs.js';
import { SetCursor, type SetEntry } from './ordered-set.js';
import { uniqueName } from './keys.js';
import { parseJobRecord, RECORD_VERSION, serializeRecord, type JobRecord } from './record.js';
import type { QueueStore } from './store.js';

/** A job this process holds a lease on. */
export interface Claim {
  id: string;
  rec: JobRecord;
  /** Path of the active file (its name is this claim's lease). */
  path: string;
  /** The claim's tag in the active file name. */
  tag: string;
  /** Record generation at claim time (see JobRecord.gen). */
  gen: number;
  /** When the lease was last renewed, ms. */
  renewedAt: number;
  /** The lease token handed to the processor. */
  token: string;
  /** Set when this process gave the job up (lease lost, or put back by a forced close): its run writes nothing more. */
  released?: boolean;
  /**
   * Set once the job has left active/ for completed/ or failed/ (in durable mode its run still
   * waits for the directory fsync): there is no lease left to renew.
   */
  finished?: boolean;
}

/** A file found corrupt while claiming. */
export interface CorruptFile {
  id: string;
  reason: string;
}

/** Farthest a claimer jumps ahead in a listing after losing claims to another claimer. */
const MAX_SKIP = 64;

/** A tag unique to one claim on this host (no '.', so names parse). */
export function newClaimTag(): string {
  return uniqueName();
}

/** Reused by `readActive` for files that fit (nearly all job files): one read, no stat. */
const readBuf = Buffer.allocUnsafe(64 * 1024);

/** Reads a whole file through `fd` with a stat for its size (files too big for `readBuf`, or a retry). */
function readWhole(fd: number): string {
  const size = fs.fstatSync(fd).size;
  const buf = Buffer.allocUnsafe(size);
  let off = 0;
  while (off < size) {
    const n = fs.readSync(fd, buf, off, size - off, off);
    if (n === 0) break;
    off += n;
  }
  return buf.toString('utf8', 0, off);
}

/**
 * Reads and parses a claimed active file. A file that fits in 64 KiB is read with a single read
 * (a short read of a regular file is its end); if that text does not parse, it is read again the
 * careful way before the file is called corrupt, so a short read never quarantines a good job.
 */
export function readActive(file: string): { rec: JobRecord } {
  const fd = fs.openSync(file, 'r');
  try {
    const n = fs.readSync(fd, readBuf, 0, readBuf.length, 0);
    if (n < readBuf.length) {
      try {
        return { rec: parseJobRecord(readBuf.toString('utf8', 0, n), file) };
      } catch {
        // fall through to the careful read
      }
    }
    return { rec: parseJobRecord(readWhole(fd), file) };
  } finally {
    fs.closeSync(fd);
  }
}

/** Moves an unparseable file to `corrupt/` and records a failed job with the reason. */
export function quarantine(store: QueueStore, id: string, file: string, reason: string): void {
  const dest = path.join(store.dir, 'corrupt', `${id}.${Date.now()}.json`);
  try {
    fs.renameSync(file, dest);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    rethrowFs(err, dest);
  }
  // The index entry may be another name of the corrupt file: replace it with the failed record.
  store.removeIdEntry(id);
  const now = Date.now();
  const rec: JobRecord = {
    v: RECORD_VERSION,
    id,
    name: '',
    data: null,
    opts: {},
    timestamp: now,
    delay: 0,
    priority: 0,
    attemptsMade: 1,
    attemptsStarted: 1,
    stalledCounter: 0,
    progress: 0,
    returnvalue: null,
    failedReason: `corrupt job file (kept as ${path.relative(store.dir, dest)}): ${reason}`,
    stacktrace: [],
    finishedOn: now,
    gen: 0,
  };
  const { tmp } = store.writeTmp(serializeRecord(rec));
  try {
    store.linkIdEntry(tmp, id);
    store.publish(tmp, store.filePath('failed', id));
  } catch (err) {
    tryUnlink(tmp);
    throw err;
  }
  store.events.append('failed', { jobId: id, failedReason: rec.failedReason, prev: 'active' });
}

/** Claims jobs for one worker, keeping cursors over the sets between calls. */
export class Claimer {
  private readonly lifo: SetCursor;
  private readonly waiting: SetCursor;
  private readonly prio = new Map<number, SetCursor>();
  private lifoCheckedAt = 0;
  private lifoDirty = true;
  private lifoEmpty = false;
  /** Claims lost in a row. */
  private losses = 0;

  constructor(
    private readonly store: QueueStore,
    private readonly tokenPrefix: string,
  ) {
    this.lifo = new SetCursor(store.lifo);
    this.waiting = new SetCursor(store.waiting);
  }

  /** Notes that another process may have added work (a file-change event): re-read the LIFO set. */
  markDirty(): void {
    this.lifoDirty = true;
  }

  /** Forgets cached listings (after a wake-up: someone may have added before our position). */
  reset(): void {
    this.lifo.reset();
    this.lifoEmpty = false;
    this.waiting.reset();
    for (const c of this.prio.values()) c.reset();
  }

  /** Claims up to `n` jobs. Corrupt files met on the way are quarantined and reported. */
  claim(n: number, corrupt: CorruptFile[] = []): Claim[] {
    const out: Claim[] = [];
    if (n <= 0) return out;
    // New LIFO jobs sort before anything cached, so the LIFO set is re-read when someone may have
    // added one (a wake-up), and at least every 50 ms.
    const now = Date.now();
    if (this.lifoDirty || now - this.lifoCheckedAt >= 50) {
      this.lifo.reset();
      this.lifoEmpty = false;
      this.lifoDirty = false;
      this.lifoCheckedAt = now;
    }
    // An empty LIFO set stays empty until the next re-read: listing it on every claim would cost
    // five system calls per job when nobody uses LIFO.
    if (!this.lifoEmpty) {
      this.drain(this.lifo, n, out, corrupt);
      if (out.length < n) this.lifoEmpty = true;
    }
    if (out.length < n) this.drain(this.waiting, n, out, corrupt);
    if (out.length < n) {
      for (const p of this.store.priorities()) {
        let c = this.prio.get(p);
        if (!c) {
          c = new SetCursor(this.store.prioritized(p));
          this.prio.set(p, c);
        }
        this.drain(c, n, out, corrupt);
        if (out.length >= n) break;
      }
    }
    return out;
  }

  private drain(cursor: SetCursor, n: number, out: Claim[], corrupt: CorruptFile[]): void {
    while (out.length < n) {
      const e = cursor.next();
      if (!e) return;
      const got = this.take(e, corrupt);
      if (got === 'lost') {
        // One lost entry is usually a job removed or moved meanwhile: go on in order. Two in a
        // row mean another claimer is taking the same entries; following it would collide on
        // nearly every one (each a failed rename), so jump a random distance ahead. The entries
        // jumped over are left to the claimer behind, or to the next listing.
        if (++this.losses >= 2) cursor.skip(Math.floor(Math.random() * MAX_SKIP));
      } else if (got !== 'corrupt') {
        this.losses = 0;
        out.push(got);
      }
    }
  }

  private take(e: SetEntry, corrupt: CorruptFile[]): Claim | 'lost' | 'corrupt' {
    const tag = newClaimTag();
    const dest = this.store.claimPath('active', e.id, tag);
    try {
      fs.renameSync(e.path, dest);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) {
        if (!fs.existsSync(path.dirname(dest))) {
          this.store.ensureDirs();
          return this.take(e, corrupt);
        }
        return 'lost';
      }
      return rethrowFs(err, dest);
    }
    let read: { rec: JobRecord };
    try {
      read = readActive(dest);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return 'lost';
      const reason = err instanceof Error ? err.message : String(err);
      quarantine(this.store, e.id, dest, reason);
      corrupt.push({ id: e.id, reason });
      return 'corrupt';
    }
    if (read.rec.id !== e.id) {
      const reason = `file name says job ${e.id} but the record says ${read.rec.id}`;
      quarantine(this.store, e.id, dest, reason);
      corrupt.push({ id: e.id, reason });
      return 'corrupt';
    }
    return { id: e.id, rec: read.rec, path: dest, tag, gen: read.rec.gen, renewedAt: Date.now(), token: `${this.tokenPrefix}:${tag}` };
  }
}

