/**
 * Debounce deduplication (`deduplication: { id, ttl, extend, replace }`), as BullMQ 6 does it:
 *
 * - `extend`: an add that meets a held key with a ttl restarts the key's ttl from now; the job
 *   holding it stays, and the add is deduplicated.
 * - `replace`: an add that meets a held key whose job is still delayed removes that job and takes
 *   the key for its own job (keeping the key's expiry, or restarting it with `extend`); a holder
 *   that is no longer delayed (waiting, running, gone with its ttl running) stays, and the add is
 *   deduplicated without a `deduplicated` event, as in BullMQ.
 *
 * Replacing holds the old job first (renamed into `reclaiming/` with an `rp-` tag, so no worker
 * can claim it), then rewrites the key in one rename, both under the key's lock; then the add goes
 * on. The old job is removed once the new one is published, and put back with its key if the add
 * fails. A process that dies in between leaves the old job to the stalled checker: removed if the
 * key names a job that got its id (the temp-file recovery publishes it), else filed back and named
 * by the key again. An add that finds the holder held by another replacing add, or its job still
 * being added, waits for that add (up to `REPLACE_WAIT_MS`), so the last add wins as in BullMQ.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SpoolkitError } from '../errors.js';
import { hold } from './admin.js';
import { waitForLock } from './id-lock.js';
import { readDedup, type DedupKey } from './dedup-key.js';
import { removeLogs, moveHeld } from './finish.js';
import { fsyncDir, rethrowFs, tryReaddir, tryUnlink } from './fs.js';
import { locate } from './lookup.js';
import { discardJobFile } from './pool.js';
import { REPLACE_TAG_PREFIX, tagStartOf, uniqueName } from './keys.js';
import { parseJobRecord } from './record.js';
import { dedupFile, type QueueStore } from './store.js';

/** How long a replacing add waits for another add of the same deduplication id to finish. */
export const REPLACE_WAIT_MS = 2000;

/** The delayed job a replacing add took out of its set, until the add is done. */
export interface ReplacedHolder {
  id: string;
  /** The job that took its place (the key names it until the add is done). */
  newId: string;
  /** Where it is held (`reclaiming/`). */
  held: string;
  /** Where it was, and goes back to if the add fails. */
  from: string;
  /** The key as it was, restored if the add fails. */
  key: DedupKey;
}

/**
 * Rewrites a held key whole, in one rename, so that no reader ever finds it missing (a missing
 * key would let another add take it as free while its job still exists). A replacing add calls
 * it holding the key's job, which no other replacing add can then hold; an extending add writes
 * the holder it read back with a later expiry.
 */
export function rewriteDedup(store: QueueStore, file: string, text: string): void {
  const tmp = store.writeJobTmp(text);
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    tryUnlink(tmp);
    rethrowFs(err, file);
  }
  if (store.durable) fsyncDir(path.dirname(file));
}

/**
 * Runs `fn` holding the lock of the key file `file` (`<key>.lock`, id-lock.ts's lock file): the
 * read-check-rewrite of an extending or replacing add, and the put-back of a failed one, never
 * interleave, so an extend cannot write back a holder that a replace has just taken out. Waits in
 * 1 ms steps, up to `REPLACE_WAIT_MS` (a lock is held for a few system calls).
 */
export function withKeyLock<T>(store: QueueStore, dedupId: string, file: string, fn: () => T): T {
  const lock = `${file}.lock`;
  if (!waitForLock(store, lock, REPLACE_WAIT_MS)) throw replaceTimeout(dedupId);
  try {
    return fn();
  } finally {
    tryUnlink(lock);
  }
}

/**
 * `extend`: restarts the ttl of the key, naming the job it names now (read under the key's lock:
 * a replace may have given it a new job since the caller read it), as BullMQ's `SET key <current>
 * PX ttl`. Returns that job's id, or undefined when the key is gone or expired (the caller reads
 * it again).
 */
export function extendKey(store: QueueStore, file: string, dedupId: string, expiresAt: number, nowMs: number): string | undefined {
  return withKeyLock(store, dedupId, file, () => {
    const cur = readDedup(file);
    if (!cur || (cur.expiresAt !== null && cur.expiresAt <= nowMs)) return undefined;
    rewriteDedup(store, file, JSON.stringify({ id: cur.id, jobId: cur.jobId, expiresAt }));
    return cur.jobId;
  });
}

/** What a replacing add does with the key's holder. */
export type ReplaceStep = { kind: 'replaced'; holder: ReplacedHolder } | { kind: 'keep' } | { kind: 'wait' } | { kind: 'stale' };

/**
 * A key younger than this whose job has no id name yet belongs to an add still running (it takes
 * the key a moment before it links the id); an older one names a job that is gone.
 */
const BEING_ADDED_MS = 500;

/**
 * Takes a held key for job `newId` if its holder is still delayed (see above). `keyAgeMs` is the
 * age of the key as read; `expiresAt` the expiry the key gets. A holder that another add is still
 * adding, or that another replacing add holds, is waited for: the last add wins. A holder that is
 * gone stays named by a ttl key (`keep`, as BullMQ's key outlives its job); a key without a ttl
 * naming a gone job is `stale`: the caller takes it, as BullMQ recovers such a key.
 */
export function replaceHolder(store: QueueStore, file: string, key: DedupKey, keyAgeMs: number, newId: string, expiresAt: number | null): ReplaceStep {
  const loc = locate(store, key.jobId);
  if (!loc) {
    if (keyAgeMs < BEING_ADDED_MS) return { kind: 'wait' };
    return key.expiresAt === null ? { kind: 'stale' } : { kind: 'keep' };
  }
  // Linked but in no set: claimed by a worker (it stays), or held by a move or another replacing
  // add, or still being added (both soon settle).
  if (loc.place === 'active' && loc.path === '') return claimedByWorker(store, key.jobId) ? { kind: 'keep' } : { kind: 'wait' };
  if (loc.place !== 'delayed') return { kind: 'keep' };
  return withKeyLock(store, key.id, file, (): ReplaceStep => {
    // The key as it is now: an extend or another replace may have rewritten it since it was read.
    const current = readDedup(file);
    if (current?.jobId !== key.jobId) return { kind: 'wait' };
    // Holding the job is what makes this add the one that replaces it: another replacing add that
    // read the same key finds the job gone from its set and waits.
    const h = hold(store, loc.path, key.jobId, REPLACE_TAG_PREFIX + uniqueName());
    if (!h) return { kind: 'wait' };
    try {
      rewriteDedup(store, file, JSON.stringify({ id: key.id, jobId: newId, expiresAt }));
    } catch (err) {
      moveHeld(store, h.held, loc.path);
      throw err;
    }
    return { kind: 'replaced', holder: { id: key.jobId, newId, held: h.held, from: loc.path, key: current } };
  });
}

/** True when a worker's claim holds the job (`active/<id>.<tag>.json`). */
function claimedByWorker(store: QueueStore, id: string): boolean {
  return tryReaddir(path.join(store.dir, 'active')).some((n) => n.endsWith('.json') && n.slice(0, tagStartOf(n) - 1) === id);
}

/**
 * The add succeeded: the replaced job goes for good (its file, id name and logs). False when it
 * was no longer held: this add stalled so long that the stalled checker took it for dead and
 * filed the job back (both jobs then stay: nothing is lost).
 */
export function finishReplaced(store: QueueStore, r: ReplacedHolder): boolean {
  if (!discardJobFile(store, r.id, r.held)) return false;
  removeLogs(store, r.id);
  return true;
}

/**
 * For the stalled checker: a job a replacing add held and left (the add's process died). True
 * when the replacement went through, i.e. the key now names another job that exists (published,
 * or linked and published by the same pass): the held job is then to be removed. Otherwise it
 * is to be filed back, and a key left naming a job that never got its id (the add died first)
 * names the held job again.
 */
export function replacementWentThrough(store: QueueStore, id: string, held: string): boolean {
  let dedupId: string | undefined;
  try {
    dedupId = parseJobRecord(fs.readFileSync(held, 'utf8'), held).deduplicationId;
  } catch {
    return false;
  }
  if (dedupId === undefined) return false;
  const file = dedupFile(store, dedupId);
  const key = readDedup(file);
  if (!key || key.jobId === id) return false;
  if (locate(store, key.jobId)) return true;
  try {
    withKeyLock(store, dedupId, file, () => {
      if (readDedup(file)?.jobId === key.jobId) rewriteDedup(store, file, JSON.stringify({ id: key.id, jobId: id, expiresAt: key.expiresAt }));
    });
  } catch {
    // the key names a job that does not exist: the next add finds it not held, or waits its ttl
  }
  return false;
}

/**
 * The add failed: the replaced job goes back to its set and the key to what it was, in place of
 * the key this add wrote (unless another add has rewritten it since). Best effort: a job left
 * held is filed back by the stalled checker.
 */
export function restoreReplaced(store: QueueStore, file: string, r: ReplacedHolder): void {
  try {
    moveHeld(store, r.held, r.from);
  } catch {
    // left to the stalled checker
  }
  try {
    withKeyLock(store, r.key.id, file, () => {
      if (readDedup(file)?.jobId === r.newId) rewriteDedup(store, file, JSON.stringify(r.key));
    });
  } catch {
    // the key stays this add's: it names no job, so the next add finds it not held and takes it
  }
}

/** An extending or replacing add that waited `REPLACE_WAIT_MS` for another add of its deduplication id. */
export function replaceTimeout(id: string): SpoolkitError {
  return new SpoolkitError('ERR_SPOOL_UNWRITABLE', `Could not update deduplication id ${JSON.stringify(id)}: another add of that id kept its key or its job busy for ${REPLACE_WAIT_MS} ms. Nothing was added; add again.`);
}
