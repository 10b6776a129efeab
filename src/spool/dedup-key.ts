/**
 * Reading deduplication keys (`dedup/<id>.json`): the id of the job holding the key and when the
 * key expires (null in simple mode, where it lives until its job finishes). Made whole by `add`.
 */
import fs from 'node:fs';
import { isErrno, rethrowFs, tryReadText, tryUnlink } from './fs.js';
import { uniqueName } from './keys.js';

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

/**
 * Removes `file` only if it is still the inode `ino`: renamed aside first, and linked back if it
 * turns out to be a newer file (another process replaced it meanwhile; its key stands).
 */
export function removeIfSame(file: string, ino: number): void {
  const aside = `${file}.${uniqueName()}.old`;
  try {
    fs.renameSync(file, aside);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    rethrowFs(err, file);
  }
  try {
    if (fs.statSync(aside).ino !== ino) {
      try {
        fs.linkSync(aside, file);
      } catch (err) {
        // a third process made a key meanwhile: the newest stands
        if (!isErrno(err, 'EEXIST')) rethrowFs(err, file);
      }
    }
  } finally {
    tryUnlink(aside);
  }
}
