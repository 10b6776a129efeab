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
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SpoolkitError } from '../errors.js';
import { isErrno, rethrowFs, tryReaddir, tryRmdir, tryUnlink } from './fs.js';
import { SetCursor, type SetEntry } from './ordered-set.js';
import { LEASE_MARK } from './lease.js';
import { tagStartOf } from './keys.js';
import { adoptForeignFile } from './adopt.js';
import { corruptReason, parseJobRecord, RECORD_VERSION, serializeRecord, type JobRecord } from './record.js';
import type { QueueStore } from './store.js';

/** A job this process holds a lease on. */
export interface Claim {
  id: string;
  rec: JobRecord;
  /** Path of the active file (its name is this claim's lease). */
  path: string;
  /** The claim's tag in the active file name. */
  tag: string;
  /** Where the job was claimed from (a claim not started, e.g. over a rate limit, is put back there: finish.ts `unclaim`). */
  from: string;
  /** Record generation at claim time (see JobRecord.gen). */
  gen: number;
  /** When the lease was last renewed, ms. */
  renewedAt: number;
  /** The lease token handed to the processor. */
  token: string;
  /**
   * The active file, still open for appending since the claim read it. The outcome is written
   * through it until `appendUntilMs`: before then no lease can have expired, so the file is still
   * this claim's. After it, the outcome is appended by path, which fails if the file was taken
   * meanwhile. Closed (`closeClaim`) as soon as the file leaves `active/` by this claim's hand
   * (finished, removed, put back, delayed): from then on another job may reuse the file.
   */
  fd?: number;
  /** Until when (ms) `fd` may carry the outcome: the claim time plus half the lock duration, at most 1 s. */
  appendUntilMs?: number;
  /** Set once `utimes` was refused (the file has another owner): the lease is renewed by appending. */
  renewByAppend?: boolean;
  /** Set when this process gave the job up (lease lost, or put back by a forced close): its run writes nothing more. */
  released?: boolean;
  /**
   * Set once the job has left active/ for completed/ or failed/ (in durable mode its run still
   * waits for the directory fsync): there is no lease left to renew.
   */
  finished?: boolean;
  /**
   * Set once this run put the job back in a set itself (moveToDelayed, moveToWait): the job may
   * be claimed again at once, by this worker too; this run holds no lease any more.
   */
  moved?: boolean;
}

/** A file found corrupt while claiming. */
export interface CorruptFile {
  id: string;
  reason: string;
}

/** Farthest a claimer jumps ahead in a listing after losing claims to another claimer. */
const MAX_SKIP = 64;

/**
 * Longest a claim's descriptor carries its outcome, whatever the lock duration: fast jobs save an
 * open and a close; a slower run appends by path, so even a worker configured with a much shorter
 * lock duration than this one cannot take the file back within the window.
 */
const MAX_APPEND_WINDOW_MS = 1000;

/**
 * This process's (or thread's) claim owner: its pid and eight random base36 characters. Every
 * claim tag it makes starts with the owner and {@link OWNER_MARK}, and its Workers name the owner
 * in their heartbeats, so a checker on the same host that finds the process gone recovers every
 * job it held, including those claimed after its last heartbeat.
 */
export const CLAIM_OWNER = `${process.pid.toString(36)}${(randomBytes(6).readUIntBE(0, 6) % 36 ** 8).toString(36).padStart(8, '0')}`;
/** Ends the owner in a claim tag (owners and counters are base36, so it is never part of them). */
export const OWNER_MARK = '_';
let claimCounter = 0;

/**
 * A tag unique to one claim (no '.', so names parse): `<owner>_<counter>`. A worker's claim ends
 * with `~<lockDuration in ms, base 36>`: the lease's length is the owner's, as with BullMQ's lock
 * TTL, so a checker or a remover configured with another `lockDuration` judges it rightly.
 */
export function newClaimTag(lockDurationMs?: number): string {
  const tag = `${CLAIM_OWNER}${OWNER_MARK}${(++claimCounter).toString(36)}`;
  return lockDurationMs === undefined ? tag : `${tag}${LEASE_MARK}${lockDurationMs.toString(36)}`;
}

/** The claim owner an active file's name (`<id>.<tag>.json`) carries, or undefined (a tag made before owners were named). */
export function claimOwnerOf(name: string): string | undefined {
  const tagAt = tagStartOf(name);
  const mark = name.indexOf(OWNER_MARK, tagAt);
  return tagAt > 0 && mark > tagAt ? name.slice(tagAt, mark) : undefined;
}

/** The claim tag a lease token names (tokens are `<worker id>:<claim tag>`, made by the Claimer). */
export function claimTagOfToken(token: string): string {
  return token.slice(token.lastIndexOf(':') + 1);
}

/** Open flags of a claimed file kept open for the outcome: reads use explicit positions, writes append. */
const READ_APPEND = fs.constants.O_RDWR | fs.constants.O_APPEND;

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
 * With `keepOpen`, the file is opened for appending too and its descriptor returned (the caller
 * closes it); a file this process may read but not write is read without one, and said `foreign`
 * unless the whole spool is read-only.
 */
export function readActive(file: string, keepOpen = false): { rec: JobRecord; fd?: number; foreign?: boolean } {
  let fd: number;
  let kept = false;
  let foreign = false;
  if (keepOpen) {
    try {
      fd = fs.openSync(file, READ_APPEND);
      kept = true;
    } catch (err) {
      if (!isErrno(err, 'EACCES') && !isErrno(err, 'EPERM') && !isErrno(err, 'EROFS')) throw err;
      foreign = !isErrno(err, 'EROFS');
      fd = fs.openSync(file, 'r');
    }
  } else {
    fd = fs.openSync(file, 'r');
  }
  let ok = false;
  try {
    const rec = parseOpen(fd, file);
    ok = true;
    return kept ? { rec, fd } : foreign ? { rec, foreign } : { rec };
  } finally {
    if (!ok || !kept) fs.closeSync(fd);
  }
}

function parseOpen(fd: number, file: string): JobRecord {
  const n = fs.readSync(fd, readBuf, 0, readBuf.length, 0);
  if (n < readBuf.length) {
    try {
      return parseJobRecord(readBuf.toString('utf8', 0, n), file);
    } catch {
      // fall through to the careful read
    }
  }
  return parseJobRecord(readWhole(fd), file);
}

/** Closes the descriptor a claim kept (idempotent). */
export function closeClaim(claim: Claim): void {
  if (claim.fd === undefined) return;
  const fd = claim.fd;
  claim.fd = undefined;
  try {
    fs.closeSync(fd);
  } catch {
    // Closing a descriptor of a regular file read and appended to cannot lose anything.
  }
}

/** Moves an unparseable file to `corrupt/` and records a failed job with the reason. */
export function quarantine(store: QueueStore, id: string, file: string, reason: string): void {
  const dest = path.join(store.dir, 'corrupt', `${id}.${Date.now()}.json`);
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
  // The failed record is written first: if that fails, the file is still where it was and
  // nothing was lost; once the file has moved, only renames and links remain.
  const { tmp } = store.writeTmp(serializeRecord(rec));
  try {
    fs.renameSync(file, dest);
  } catch (err) {
    tryUnlink(tmp);
    if (isErrno(err, 'ENOENT')) return;
    rethrowFs(err, dest);
  }
  try {
    // The index entry may be another name of the corrupt file: replace it with the failed record.
    store.removeIdEntry(id);
    store.linkIdEntry(tmp, id);
    store.publish(tmp, store.filePath('failed', id));
  } catch (err) {
    tryUnlink(tmp);
    throw err;
  }
  store.events.append('failed', { jobId: id, failedReason: rec.failedReason, prev: 'active' });
}

/** How long a priority stays empty before its directories are removed (dropIfLongEmpty). */
const EMPTY_PRIORITY_KEEP_MS = 100;

/**
 * Removes a set's directory with its empty buckets; false (leaving what it could not remove) as
 * soon as something is in it. An add racing this finds its bucket gone and makes it again (renameInto).
 */
function removeEmptyTree(setDir: string): boolean {
  for (const top of tryReaddir(setDir)) {
    const topDir = path.join(setDir, top);
    for (const leaf of tryReaddir(topDir)) if (!tryRmdir(path.join(topDir, leaf))) return false;
    if (!tryRmdir(topDir)) return false;
  }
  return tryRmdir(setDir);
}

/** Claims jobs for one worker, keeping cursors over the sets between calls. */
export class Claimer {
  private readonly lifo: SetCursor;
  private readonly waiting: SetCursor;
  private readonly prio = new Map<number, SetCursor>();
  /**
   * Priorities found empty since they last gave a job: since when, when last looked at, and in
   * which generation of wake-ups (`markDirty`). One looked at in the current generation less than
   * 50 ms ago is not listed again: nothing told this claimer of a new job there.
   */
  private readonly empties = new Map<number, { since: number; at: number; gen: number }>();
  private dirtyGen = 0;
  /** The priorities listed, re-listed after a wake-up and at least every 50 ms (as the LIFO set). */
  private prioList: number[] = [];
  private prioDirty = true;
  private prioListedAt = 0;
  private lifoCheckedAt = 0;
  private lifoDirty = true;
  private lifoEmpty = false;
  /** Claims lost in a row. */
  private losses = 0;

  /**
   * @param lockDurationMs the lease length: with it, each claim keeps its file open to write the
   *   outcome through for half of it, at most 1 s (the run must end with `closeClaim`); without,
   *   claims keep nothing open and outcomes are appended by path
   */
  constructor(
    private readonly store: QueueStore,
    private readonly tokenPrefix: string,
    private readonly lockDurationMs?: number,
  ) {
    this.lifo = new SetCursor(store.lifo);
    this.waiting = new SetCursor(store.waiting);
  }

  /** Notes that another process may have added work (a file-change event): re-read the LIFO set. */
  markDirty(): void {
    this.lifoDirty = true;
    this.prioDirty = true;
    this.dirtyGen++;
  }

  /** Forgets cached listings (after a wake-up: someone may have added before our position). */
  reset(): void {
    this.lifo.reset();
    this.lifoEmpty = false;
    this.waiting.reset();
    for (const c of this.prio.values()) c.reset();
  }

  /** An error met after some jobs were claimed: thrown by the next call, once those are handed over. */
  private deferredError: unknown;

  /**
   * Claims up to `n` jobs. Corrupt files met on the way are quarantined and reported. An error
   * after some claims returns those (their leases are live and must run) and is thrown next time.
   */
  claim(n: number, corrupt: CorruptFile[] = []): Claim[] {
    if (this.deferredError !== undefined) {
      const err = this.deferredError;
      this.deferredError = undefined;
      throw err;
    }
    const out: Claim[] = [];
    if (n <= 0) return out;
    try {
      this.claimInto(n, out, corrupt);
    } catch (err) {
      // A job put back sits behind the cursor: list again next time, so order is kept.
      this.reset();
      if (out.length === 0) throw err;
      this.deferredError = err;
    }
    return out;
  }

  private claimInto(n: number, out: Claim[], corrupt: CorruptFile[]): void {
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
      if (this.prioDirty || now - this.prioListedAt >= 50) {
        this.prioList = this.store.priorities();
        this.prioDirty = false;
        this.prioListedAt = now;
      }
      for (const p of this.prioList) {
        const empty = this.empties.get(p);
        if (empty && empty.gen === this.dirtyGen && now - empty.at < 50) continue;
        let c = this.prio.get(p);
        if (!c) {
          c = new SetCursor(this.store.prioritized(p));
          this.prio.set(p, c);
        }
        this.drain(c, n, out, corrupt);
        if (out.length >= n) {
          this.empties.delete(p);
          break;
        }
        this.dropIfLongEmpty(p, c, now);
      }
    }
  }

  /**
   * A priority found empty (its cursor ran dry) for EMPTY_PRIORITY_KEEP_MS goes, directories and
   * all: every claim walks every priority directory, so ones left by priorities no longer used
   * would make each claim cost a listing per priority ever used. A steady stream of one priority
   * refills it sooner, so its directories are not made and removed for every job.
   */
  private dropIfLongEmpty(p: number, c: SetCursor, now: number): void {
    const empty = this.empties.get(p);
    if (!empty) {
      this.empties.set(p, { since: now, at: now, gen: this.dirtyGen });
      return;
    }
    empty.at = now;
    empty.gen = this.dirtyGen;
    if (now - empty.since < EMPTY_PRIORITY_KEEP_MS) return;
    this.empties.delete(p);
    if (!removeEmptyTree(c.set.dir)) return;
    this.prio.delete(p);
    this.prioList = this.prioList.filter((q) => q !== p);
  }

  private drain(cursor: SetCursor, n: number, out: Claim[], corrupt: CorruptFile[]): void {
    while (out.length < n) {
      const e = cursor.next();
      if (!e) return;
      const got = this.take(e, corrupt);
      if (got === 'lost') {
        // A lost entry whose id is gone was removed (remove, clean, drain): nobody else claims
        // here, go on in order. Two other losses in a row mean another claimer is taking the
        // same entries; following it would collide on nearly every one (each a failed rename),
        // so jump a random distance ahead. The entries jumped over are left to the claimer
        // behind, or to the next listing.
        if (!fs.existsSync(this.store.idPath(e.id))) continue;
        if (++this.losses >= 2) cursor.skip(Math.floor(Math.random() * MAX_SKIP));
      } else if (got !== 'corrupt') {
        this.losses = 0;
        out.push(got);
      }
    }
  }

  private take(e: SetEntry, corrupt: CorruptFile[]): Claim | 'lost' | 'corrupt' {
    const tag = newClaimTag(this.lockDurationMs);
    const dest = this.store.claimPath('active', e.id, tag);
    // Taken before the rename that starts the lease, so the descriptor's window ends before half of it.
    const claimedAt = Date.now();
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
    let read: { rec: JobRecord; fd?: number; foreign?: boolean };
    try {
      read = readActive(dest, this.lockDurationMs !== undefined);
      if (read.foreign) {
        // Another user's file without group write: run the job only once its outcome can be written.
        adoptForeignFile(this.store, e.id, dest);
        read = readActive(dest, true);
      }
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return 'lost';
      if (!(err instanceof SpoolkitError && err.code === 'ERR_SPOOL_CORRUPT')) {
        // The system failed (EMFILE, EIO), not the file: put the job back as it was. If even that
        // fails, it stays in active/ and comes back when its lease expires.
        try {
          fs.renameSync(dest, e.path);
        } catch {
          // left to the stalled checker
        }
        throw err;
      }
      const reason = corruptReason(err);
      quarantine(this.store, e.id, dest, reason);
      corrupt.push({ id: e.id, reason });
      return 'corrupt';
    }
    if (read.rec.id !== e.id) {
      if (read.fd !== undefined) fs.closeSync(read.fd);
      const reason = `file name says job ${e.id} but the record says ${read.rec.id}`;
      quarantine(this.store, e.id, dest, reason);
      corrupt.push({ id: e.id, reason });
      return 'corrupt';
    }
    const claim: Claim = { id: e.id, rec: read.rec, path: dest, tag, from: e.path, gen: read.rec.gen, renewedAt: claimedAt, token: `${this.tokenPrefix}:${tag}` };
    if (read.fd !== undefined) {
      claim.fd = read.fd;
      claim.appendUntilMs = claimedAt + Math.min((this.lockDurationMs ?? 0) / 2, MAX_APPEND_WINDOW_MS);
    }
    return claim;
  }
}
