/**
 * Reading deduplication keys (`dedup/<id>.json`): the id of the job holding the key and when the
 * key expires (null in simple mode, where it lives until its job finishes). Made whole by `add`.
 */
import fs from 'node:fs';
import { isErrno, rethrowFs, tryReadText, tryUnlink } from './fs.js';
import { waitForLock } from './id-lock.js';
import type { QueueStore } from './store.js';

/** A deduplication key as stored. */
export interface DedupKey {
  id: string;
  jobId: string;
  expiresAt: number | null;
}

/** Reads a key with its inode and change time; `key` undefined when unparseable; undefined when missing. */
export function readDedupWithInode(file: string): { key: DedupKey | undefined; ino: number; ctimeMs: number } | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    return rethrowFs(err, file);
  }
  try {
    const st = fs.fstatSync(fd);
    return { key: parseDedup(fs.readFileSync(fd, 'utf8')), ino: st.ino, ctimeMs: st.ctimeMs };
  } finally {
    fs.closeSync(fd);
  }
}

function parseDedup(text: string): DedupKey | undefined {
  try {
    const v = JSON.parse(text) as DedupKey;
    return typeof v.jobId === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Reads a deduplication key file; undefined when missing or unreadable. */
export function readDedup(file: string): DedupKey | undefined {
  const text = tryReadText(file);
  return text === undefined ? undefined : parseDedup(text);
}

/** How long a removal waits for a key's lock before giving up (a lock is held for a few system calls). */
export const KEY_LOCK_WAIT_MS = 2000;

/**
 * Removes the key `file` only if it is still the key judged (`judged`, as `readDedupWithInode`
 * read it: the same inode and the same content, for a removed key's inode number is soon given to
 * a new file), and returns whether it did. Every change to a key other than its creation (a
 * `link(2)`, which fails while the name exists) is made under the key's lock (`<file>.lock`:
 * rewrites by extending and replacing adds, and removals), so the check and the unlink, made
 * under it, can never remove a key another process has made in the judged one's place. False also
 * when the lock was not had within `waitMs`.
 */
export function removeIfSame(store: QueueStore, file: string, judged: { ino: number; key: DedupKey | undefined }, waitMs = KEY_LOCK_WAIT_MS): boolean {
  const lock = `${file}.lock`;
  if (!waitForLock(store, lock, waitMs)) return false;
  try {
    const now = readDedupWithInode(file);
    return now !== undefined && now.ino === judged.ino && sameKey(now.key, judged.key) && tryUnlink(file);
  } finally {
    tryUnlink(lock);
  }
}

function sameKey(a: DedupKey | undefined, b: DedupKey | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.id === b.id && a.jobId === b.jobId && a.expiresAt === b.expiresAt);
}
