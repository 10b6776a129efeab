/**
 * Finishing or undoing the adds that did not finish. An `add` that dies between linking a job's
 * id and the publishing rename leaves the job's file in `tmp/` with two names.
 *
 * - A single job's file is published to its `at` path once it is five minutes old, or at once when
 *   its writer is known gone (tmp-owner.ts).
 * - A bulk's files (`b-<tag>-<n>`) are judged together, by the newest change among them and their
 *   markers (add.ts): a bulk still being written is alive while its newest file is young.
 *   - Committed (`b-<tag>.commit`): published, once five minutes idle or its writer gone.
 *   - Open (`b-<tag>.open`): once idle for `OPEN_IDLE_MS` (`QUICK_OPEN_IDLE_MS` in a quick pass)
 *     or its writer gone, this process renames `.open` to `.undo`, which decides: the bulk is
 *     undone, and its producer, should it wake up, finds its commit refused.
 *   - Being undone (`b-<tag>.undo`): undone at once, by whoever sees it.
 *   - No marker (a bulk of an older version, or one whose marker a power loss took): undone once
 *     five minutes idle or its writer gone, as before markers decided.
 *   Undoing removes each file's id name (under the id's lock, only while it is still that file),
 *   its deduplication key and the file: a bulk is all or nothing across a crash too.
 *
 * Files with one name are garbage. The stalled checker runs a full pass; an `add` whose id or
 * deduplication key turns out to be held runs a quick pass (`DeadAddRecovery`) over the adds of
 * gone writers and the open bulks idle for two seconds, so that an app adding again after a crash
 * gets its job rather than a duplicate that is about to be undone.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readDedupWithInode, removeIfSame } from './dedup-key.js';
import { moveHeld } from './finish.js';
import { isErrno, tryReaddir, tryStat, tryUnlink } from './fs.js';
import { withIdLock } from './id-lock.js';
import { parseJobRecord, type JobRecord } from './record.js';
import { dedupFile, type QueueStore } from './store.js';
import { siblingStore } from './deps.js';
import { OWNER_FILE_PREFIX, OWNER_IDLE_MS, TmpOwners, ownerKeyOf } from './tmp-owner.js';

/** Temp files this old are leftovers (a large addBulk writes every file before publishing any). */
const TMP_LEFTOVER_MS = 5 * 60_000;
/** An open bulk none of whose files changed for this long is taken for dead by the stalled checker. */
export const OPEN_IDLE_MS = 30_000;
/** The same, for an add that finds its id or deduplication key held (a live bulk writes a file every few milliseconds). */
export const QUICK_OPEN_IDLE_MS = 2_000;

interface TmpFile {
  name: string;
  file: string;
  st: fs.Stats;
}

interface BulkFiles {
  files: TmpFile[];
  /** Marker kinds present: open, commit, undo. */
  markers: Set<string>;
  /** Newest change among the files and markers, ms. */
  newest: number;
}

/** The later of mtime and ctime: a spare file renamed in from the pool keeps its old mtime until rewritten, but the rename set its ctime (and a bulk's link sets it too). */
function changedAt(st: fs.Stats): number {
  return Math.max(st.mtimeMs, st.ctimeMs);
}

const MARKER = /^b-(.+)\.(open|commit|undo)$/;

/**
 * Settles the leftovers in `tmp/` (see above); `quick` limits the pass to gone writers and idle
 * open bulks. Also removes markers and owner files that have done their work. True when some add
 * was published or undone.
 */
export function recoverTmp(store: QueueStore, nowMs: number, quick = false): boolean {
  const dir = path.join(store.dir, 'tmp');
  const owners = new TmpOwners(dir);
  const gone = (name: string): boolean => {
    const key = ownerKeyOf(name);
    return key !== undefined && owners.gone(key);
  };
  const names = tryReaddir(dir);
  const ownerFiles: string[] = [];
  const singles: TmpFile[] = [];
  const bulks = new Map<string, BulkFiles>();
  const bulkOf = (tag: string): BulkFiles => {
    let b = bulks.get(tag);
    if (!b) bulks.set(tag, (b = { files: [], markers: new Set(), newest: 0 }));
    return b;
  };
  // A quick pass looks only at gone writers' files and at bulks that are open or being undone.
  const undecided = new Set<string>();
  if (quick) for (const n of names) if (n.endsWith('.open') || n.endsWith('.undo')) undecided.add(n.slice(2, n.lastIndexOf('.')));
  for (const name of names) {
    if (name.startsWith(OWNER_FILE_PREFIX)) {
      ownerFiles.push(name);
      continue;
    }
    const marker = MARKER.exec(name);
    const tag = marker ? marker[1]! : name.startsWith('b-') ? name.slice(2, name.lastIndexOf('-')) : undefined;
    if (quick && !gone(name) && !(tag !== undefined && undecided.has(tag))) continue;
    const file = path.join(dir, name);
    const st = tryStat(file);
    if (!st) continue;
    if (tag === undefined) {
      singles.push({ name, file, st });
      continue;
    }
    const b = bulkOf(tag);
    b.newest = Math.max(b.newest, changedAt(st));
    if (marker) b.markers.add(marker[2]!);
    else b.files.push({ name, file, st });
  }
  const idleFor = (ms: number, since: number): boolean => nowMs - since >= ms;
  const writersLeft = new Set<string>();
  const keep = (name: string): void => {
    const key = ownerKeyOf(name);
    if (key) writersLeft.add(key);
  };
  let settled = false;
  for (const f of singles) {
    if ((gone(f.name) || idleFor(TMP_LEFTOVER_MS, changedAt(f.st))) && settle(store, f, false, nowMs)) settled = true;
    else keep(f.name);
  }
  for (const [tag, b] of bulks) {
    const writerGone = gone(`b-${tag}`);
    const action = bulkAction(store, tag, b, writerGone, quick ? QUICK_OPEN_IDLE_MS : OPEN_IDLE_MS, nowMs);
    let left = 0;
    for (const f of b.files) {
      if (action !== 'wait' && settle(store, f, action === 'undo', nowMs)) settled = true;
      else {
        left++;
        keep(f.name);
      }
    }
    // Markers whose bulk has no temp file left have done their work (a commit or intent marker
    // only once its writer is gone or it is old: its producer may still be between steps).
    for (const kind of b.markers) {
      const file = path.join(dir, `b-${tag}.${kind}`);
      if (left === 0 && (kind === 'undo' || writerGone || idleFor(TMP_LEFTOVER_MS, b.newest))) tryUnlink(file);
      else keep(`b-${tag}`);
    }
  }
  // An owner file whose writer has no temp file left: done once the writer is gone, or idle for
  // a day (a writer out of judging reach). A quick pass has not looked at every file: it keeps them.
  if (!quick) {
    for (const name of ownerFiles) {
      const key = name.slice(OWNER_FILE_PREFIX.length);
      if (writersLeft.has(key)) continue;
      const file = path.join(dir, name);
      if (owners.gone(key)) tryUnlink(file);
      else {
        const st = tryStat(file);
        if (st && nowMs - st.mtimeMs > OWNER_IDLE_MS) tryUnlink(file);
      }
    }
  }
  return settled;
}

/** What to do with a bulk's files now: publish them, undo them, or wait. */
function bulkAction(store: QueueStore, tag: string, b: BulkFiles, writerGone: boolean, openIdleMs: number, nowMs: number): 'publish' | 'undo' | 'wait' {
  const idle = (ms: number): boolean => nowMs - b.newest >= ms;
  if (b.markers.has('commit')) return writerGone || idle(TMP_LEFTOVER_MS) ? 'publish' : 'wait';
  if (b.markers.has('undo')) return 'undo';
  if (b.markers.has('open')) {
    if (!writerGone && !idle(openIdleMs)) return 'wait';
    const open = path.join(store.dir, 'tmp', `b-${tag}.open`);
    const undo = path.join(store.dir, 'tmp', `b-${tag}.undo`);
    try {
      fs.renameSync(open, undo);
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
      // Decided meanwhile: committed (published later, by the rule above), or being undone.
      return fs.existsSync(undo) ? 'undo' : 'wait';
    }
    b.markers.delete('open');
    b.markers.add('undo');
    return 'undo';
  }
  return writerGone || idle(TMP_LEFTOVER_MS) ? 'undo' : 'wait';
}

/**
 * Publishes or undoes one temp file, or drops it when it is not an interrupted add. False when it
 * must stay for a later pass (its id is being judged by another process, or the move failed).
 */
function settle(store: QueueStore, f: TmpFile, undo: boolean, nowMs: number): boolean {
  let rec: JobRecord | undefined;
  if (undo || f.st.nlink >= 2) {
    try {
      rec = parseJobRecord(fs.readFileSync(f.file, 'utf8'), f.file);
    } catch {
      // not a job file (or gone): drop it
    }
  }
  // A flow's file names its own queue (flow-add.ts): its id name and set are there.
  const target = rec?.q !== undefined && rec.q !== store.name ? siblingStore(store, rec.q) : store;
  // Undone even without its id name: its deduplication key is taken before its id.
  if (rec && undo) return undoTempJob(target, f.file, f.st.ino, rec, nowMs);
  if (rec?.at && f.st.nlink >= 2 && tryStat(target.idPath(rec.id))?.ino === f.st.ino) {
    try {
      if (moveHeld(target, f.file, path.join(target.dir, rec.at))) return true;
    } catch {
      return false;
    }
  }
  tryUnlink(f.file);
  return true;
}

/**
 * Undoes a job an unfinished add left in `tmp/`: its id name (under the id's lock, and only while
 * it is still this file: a producer may link the id afresh the moment it is free), its
 * deduplication key if it names the job, and the file. False when another process holds the
 * id's lock (the file stays for a later pass).
 */
export function undoTempJob(store: QueueStore, file: string, ino: number, rec: JobRecord, nowMs: number): boolean {
  const idFile = store.idPath(rec.id);
  if (tryStat(idFile)?.ino === ino) {
    const undone = withIdLock(store, rec.id, nowMs, () => {
      if (tryStat(idFile)?.ino === ino) store.removeIdEntry(rec.id);
      return true;
    });
    if (!undone) return false;
  }
  dropDedupKey(store, rec);
  tryUnlink(file);
  return true;
}

/** Removes the deduplication key of an undone job, if it names that job. */
function dropDedupKey(store: QueueStore, rec: JobRecord): void {
  if (!rec.deduplicationId) return;
  const file = dedupFile(store, rec.deduplicationId);
  const held = readDedupWithInode(file);
  if (held?.key?.jobId === rec.id) removeIfSame(store, file, held);
}

/** The quick pass an add runs when an id or deduplication key it wants is held: at most once per call. */
export class DeadAddRecovery {
  private ran = false;

  constructor(private readonly store: QueueStore) {}

  /** Settles the adds of gone writers and idle open bulks, the first time only; true when one was settled. */
  run(nowMs: number): boolean {
    if (this.ran) return false;
    this.ran = true;
    return recoverTmp(this.store, nowMs, true);
  }
}
