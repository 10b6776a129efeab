/**
 * A claimed job file this process may read but not write: made by another user without group
 * write (`sudo spoolkit jobs add` on a worker's spool). Its outcome could never be recorded, and
 * the job would stay active for good. The directories are writable (the claim's rename was), so
 * the claimer replaces the file with its own copy: the same text, this process's ownership and
 * the spool's file mode, written aside and renamed over the id index entry and the claim name.
 * The stalled check does the same with such a file whose lease expired (its owner, a worker run as
 * another user, died), before it writes the file's return to the queue.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isErrno, rethrowFs, tryReadText, tryStat, tryUnlink } from './fs.js';
import type { QueueStore } from './store.js';

/** As `adoptForeignFile`, when this process may not write `file`; false when it may. */
export function adoptIfForeign(store: QueueStore, id: string, file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.W_OK);
    return false;
  } catch (err) {
    if (!isErrno(err, 'EACCES') && !isErrno(err, 'EPERM')) return false;
  }
  adoptForeignFile(store, id, file);
  return true;
}

/** Replaces the claimed file `file` of job `id` with a copy this process owns. */
export function adoptForeignFile(store: QueueStore, id: string, file: string): void {
  const text = tryReadText(file);
  const ino = tryStat(file)?.ino;
  // Gone meanwhile: the caller's next read of the claim finds it gone too.
  if (text === undefined || ino === undefined) return;
  const { tmp } = store.writeTmp(text);
  const link = store.tmpPath();
  try {
    // The id index entry is another name of the job file: it must name the copy, or the stalled
    // check would take the copy for a leftover. It is replaced, never removed, so the id stays taken.
    const idFile = store.idPath(id);
    if (tryStat(idFile)?.ino === ino) {
      fs.linkSync(tmp, link);
      fs.renameSync(link, idFile);
      if (store.durable) store.syncDir(path.dirname(idFile));
    }
    fs.renameSync(tmp, file);
    if (store.durable) store.syncDir(path.dirname(file));
  } catch (err) {
    tryUnlink(link);
    tryUnlink(tmp);
    return rethrowFs(err, file);
  }
}
