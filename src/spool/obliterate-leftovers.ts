/**
 * What an `obliterate()` leaves when its process dies inside it. The queue directory is renamed
 * to `queues/.trash-<queue>-<pid>-<ms>` and deleted from there, and the new directory is staged
 * as `queues/.new-<queue>-<pid>-<ms>` (bulk.ts). A process killed before the delete ends (a big
 * queue takes a while, and a container stop sends SIGKILL after ten seconds) leaves the old
 * queue's files there for good; nothing reads them again. An idle Worker of any queue of the
 * spool deletes them, as it empties `trash/` (trash.ts): asynchronously, one entry at a time,
 * stopping when a job is claimed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isErrno, tryReaddir } from './fs.js';

/** A trash directory this old is a leftover: its obliterate would have deleted it long ago. */
export const OBLITERATE_TRASH_SETTLE_MS = 10 * 60_000;
/** A staged directory lives for a few system calls; one this old is a leftover. */
export const OBLITERATE_STAGING_SETTLE_MS = 60_000;

const LEFTOVER = /^\.(trash|new)-.+-\d+-(\d+)$/;

/** The leftover directories under `<root>/queues/` old enough to delete at `nowMs`. */
export function findObliterateLeftovers(root: string, nowMs: number): string[] {
  const out: string[] = [];
  const queues = path.join(root, 'queues');
  for (const name of tryReaddir(queues)) {
    const m = LEFTOVER.exec(name);
    if (!m) continue;
    const age = nowMs - Number(m[2]);
    if (age > (m[1] === 'trash' ? OBLITERATE_TRASH_SETTLE_MS : OBLITERATE_STAGING_SETTLE_MS)) out.push(path.join(queues, name));
  }
  return out;
}

/**
 * Deletes the tree at `dir` with asynchronous calls, one entry at a time, until it is gone or
 * `stop()` says so between two deletes. True when it is gone. Other processes may delete the same
 * tree at the same time.
 */
export async function removeTreeSlowly(dir: string, stop: () => boolean): Promise<boolean> {
  let handle: fs.Dir;
  try {
    handle = await fs.promises.opendir(dir, { bufferSize: 64 });
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return true;
    if (isErrno(err, 'ENOTDIR')) return unlinkGone(dir);
    throw err;
  }
  try {
    for (let entry = await handle.read(); entry !== null; entry = await handle.read()) {
      if (stop()) return false;
      const p = path.join(dir, entry.name);
      if (entry.isDirectory() ? !(await removeTreeSlowly(p, stop)) : !(await unlinkGone(p))) return false;
    }
  } finally {
    await handle.close();
  }
  try {
    await fs.promises.rmdir(dir);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return true;
    // Entries the listing skipped while it deleted: the next round finds them.
    if (isErrno(err, 'ENOTEMPTY') || isErrno(err, 'EEXIST')) return false;
    throw err;
  }
  return true;
}

async function unlinkGone(file: string): Promise<boolean> {
  try {
    await fs.promises.unlink(file);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
  return true;
}

/** Deletes every leftover found at `nowMs` until done or `stop()`; returns how many went. */
export async function removeObliterateLeftovers(root: string, nowMs: number, stop: () => boolean): Promise<number> {
  let gone = 0;
  for (const dir of findObliterateLeftovers(root, nowMs)) {
    // A listing that skipped entries deleted under it gets one more round.
    for (let round = 0; round < 3 && !stop(); round++) {
      if (await removeTreeSlowly(dir, stop)) {
        gone++;
        break;
      }
    }
    if (stop()) break;
  }
  return gone;
}
