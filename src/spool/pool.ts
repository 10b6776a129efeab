/**
 * A pool of spare job files (inodes) per queue, in `<queue>/free/`, at most `POOL_MAX` of them.
 *
 * On ext4 (and others), allocating an inode that was recently freed, and freeing one, are the
 * slowest metadata operations by far (here ~2k/s each, against 20-100k/s for rename, link and
 * unlink of a name that is not the last). So a removed job's file is not deleted: after its id
 * name is unlinked, its last name is renamed into the pool, and `add` takes a pooled file (one
 * rename, so two producers never get the same file) and overwrites it. When the pool is full the
 * file goes to `trash/`, deleted later by an idle Worker (trash.ts) unless `add` takes it first;
 * only when both are empty is a new file created.
 */
import fs from 'node:fs';
import path from 'node:path';
import { discardInto, isErrno, rethrowFs, tryReaddir, tryUnlink, unlinkQuietly, writeAll } from './fs.js';
import { DISCARD_TAG_PREFIX, uniqueName } from './keys.js';
import type { QueueStore } from './store.js';
import { moveToTrash, trashDir } from './trash.js';
import { isIntegerId } from './validate.js';

/** Most spare files kept per queue; beyond it, removed job files go to `trash/` (trash.ts). */
export const POOL_MAX = 4096;

/** Per-process cache of pool names seen, per queue directory (taken from the end). */
const seen = new Map<string, string[]>();
/** Per-process estimate of the pool size, re-counted at most once a second. */
const sizes = new Map<string, { count: number; checkedAt: number }>();
/** Until when an empty pool is not re-listed, per queue directory. */
const emptyUntil = new Map<string, number>();

/** Moves a job file's last name into the pool (one rename), or into `trash/` when the pool is full. False when `file` was gone. */
export function recycle(store: QueueStore, file: string): boolean {
  const dir = path.join(store.dir, 'free');
  const now = Date.now();
  let size = sizes.get(dir);
  if (!size || now - size.checkedAt > 1000) {
    size = { count: tryReaddir(dir).length, checkedAt: now };
    sizes.set(dir, size);
  }
  if (size.count >= POOL_MAX) return moveToTrash(store, file);
  const base = uniqueName();
  if (!discardInto(file, path.join(dir, base), store.modes)) return false;
  size.count++;
  // This process can reuse it at once.
  let names = seen.get(dir);
  if (!names) seen.set(dir, (names = []));
  if (names.length < POOL_MAX) names.push(base);
  emptyUntil.delete(dir);
  return true;
}

function shuffled(names: string[]): string[] {
  // Take slots in random order so concurrent producers rarely collide.
  for (let i = names.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [names[i], names[j]] = [names[j]!, names[i]!];
  }
  return names;
}

/** Up to `max` names in `dir` (none when it does not exist), read without listing all of a huge directory. */
function listUpTo(dir: string, max: number): string[] {
  let handle: fs.Dir;
  try {
    handle = fs.opendirSync(dir, { bufferSize: 128 });
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    return rethrowFs(err, dir);
  }
  const names: string[] = [];
  try {
    for (let entry = handle.readSync(); entry !== null && names.length < max; entry = handle.readSync()) names.push(entry.name);
  } finally {
    handle.closeSync();
  }
  return names;
}

/**
 * After this many cached names in a row turned out to be gone (taken or deleted by other
 * processes), the cache is stale: the directory is listed again rather than trying every name.
 */
const STALE_MISSES = 8;

/**
 * Renames a spare file from `dir` to `tmp`; false when `dir` has none (an empty one is re-listed
 * at most every 100 ms). Costs at most two listings and 2 x `STALE_MISSES` failed renames.
 */
function takeSpare(dir: string, tmp: string): boolean {
  for (let listing = 0; listing < 2; listing++) {
    let names = seen.get(dir);
    if (!names || names.length === 0 || listing > 0) {
      const now = Date.now();
      if (listing === 0 && (emptyUntil.get(dir) ?? 0) > now) return false;
      names = shuffled(listUpTo(dir, POOL_MAX));
      seen.set(dir, names);
      if (names.length === 0) {
        emptyUntil.set(dir, now + 100);
        return false;
      }
    }
    for (let misses = 0; names.length > 0 && misses < STALE_MISSES; misses++) {
      try {
        fs.renameSync(path.join(dir, names.pop()!), tmp);
        return true;
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) return rethrowFs(err, tmp);
      }
    }
    if (names.length === 0) return false;
  }
  return false;
}

/**
 * Writes `text` into a spare file renamed to `tmp`: one from the pool, else one waiting in
 * `trash/` to be deleted (reusing it saves both the delete and the create). False when there is
 * none.
 */
export function writePooled(store: QueueStore, tmp: string, text: string): boolean {
  if (!takeSpare(path.join(store.dir, 'free'), tmp) && !takeSpare(trashDir(store), tmp)) return false;
  const fd = fs.openSync(tmp, 'r+');
  try {
    const buf = Buffer.from(text);
    writeAll(fd, buf, 0);
    fs.ftruncateSync(fd, buf.length);
    if (store.durable) fs.fsyncSync(fd);
  } catch (err) {
    // A spare half rewritten (the disk filled up) holds no job: it goes, not back to the pool.
    fs.closeSync(fd);
    unlinkQuietly(tmp);
    return rethrowFs(err, tmp);
  }
  fs.closeSync(fd);
  return true;
}

/**
 * Discards a job's file: takes it out of view under a hold name, frees its id (only if the index
 * still names this very file) and moves the file into the pool. False when `file` was already
 * gone (moved or removed by someone else; then its id is not ours to free).
 *
 * The hold comes first so that no other process can move the file (retry it, claim it, re-file
 * it) between the id's unlink and the recycle: that would leave a live job without its id name.
 * The id name goes before the recycle, so a reader never finds a pooled (or already reused) file
 * through it. If the process dies after the hold, the stalled checker finishes the discard
 * (`finishDiscard`). An automatic id is never issued twice, so while the held file exists the
 * index name can only be this job's; a custom id may have been removed and added again, so its
 * index name is unlinked only when it is the same inode.
 */
export function discardJobFile(store: QueueStore, id: string, file: string): boolean {
  const held = store.claimPath('reclaiming', id, DISCARD_TAG_PREFIX + uniqueName());
  try {
    fs.renameSync(file, held);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    return rethrowFs(err, file);
  }
  finishDiscard(store, id, held);
  return true;
}

/** Frees the id of a held file (when the index names it) and recycles the file. False when it was gone. */
export function finishDiscard(store: QueueStore, id: string, held: string): boolean {
  const idFile = store.idPath(id);
  if (isIntegerId(id)) tryUnlink(idFile);
  else {
    let ino: number;
    try {
      ino = fs.statSync(held).ino;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return false;
      return rethrowFs(err, held);
    }
    try {
      if (fs.statSync(idFile).ino === ino) tryUnlink(idFile);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) rethrowFs(err, idFile);
    }
  }
  return recycle(store, held);
}
