/**
 * Parent and child jobs (BullMQ's flows). A parent waits in `waiting-children/<id>.json` while
 * any child it depends on is unprocessed. Its record lists its children (`deps`, as
 * `<queue>:<id>`); what became of each child is a file of its own under the parent's queue,
 * `deps/<parent id>/<queue>:<id>.json` (`{ k, s, v?, r?, t }`: the child, its state, its return
 * value or failure reason, when), written whole (temp file and rename) by whoever finished the
 * child. A child without a file is unprocessed; any file accounts for it (`failed`: it failed with
 * `failParentOnFailure`).
 *
 * The parent moves on (one rename out of `waiting-children/`, so one mover wins) when the last
 * unprocessed child is accounted for. Every finisher writes its child's file first and then checks
 * the parent, so of two children finishing together at least one sees the other's file. A process
 * that dies between finishing a child and writing its file leaves the parent waiting: the stalled
 * check of the parent's queue (`sweepParents`) looks up the children of waiting parents and
 * writes the files their finishers did not.
 */
import { assertFileSafeId } from './validate.js';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { isErrno, tryReaddir, tryReadText, tryStat, tryUnlink } from './fs.js';
import { appendHeld, moveHeld, refreshPriority, startedFields } from './finish.js';
import { closeClaim, type Claim } from './claim.js';
import { hold, placeHeld, removeJob } from './admin.js';
import { readJob } from './lookup.js';
import { recycle } from './pool.js';
import { appendPatch, type JobRecord } from './record.js';
import { delayedRoute, readyRoute } from './routing.js';
import { QueueStore } from './store.js';
import { SpoolkitError } from '../errors.js';
import { forgetParentView, readParentView } from './parent-view.js';
import type { JobsOptions } from '../types.js';

/** BullMQ's key prefix, used where BullMQ shows job keys (`bull:<queue>:<id>`). */
export const KEY_PREFIX = 'bull';

/**
 * What became of a child, as its parent sees it: completed (`processed`), failed with
 * `failParentOnFailure` (`failed`: BullMQ's unsuccessful children), failed and ignored
 * (`ignored`: `ignoreDependencyOnFailure` or `continueParentOnFailure`), or no longer awaited
 * (`removed`: `removeDependencyOnFailure`, or the child was removed). A child without a file is
 * unprocessed, failed ones without those options included.
 */
export type DepState = 'processed' | 'failed' | 'ignored' | 'removed';

/** A child's file under its parent. */
export interface DepEntry {
  /** The child, `<queue>:<id>`. */
  k: string;
  s: DepState;
  /** Return value (`processed`). */
  v?: unknown;
  /** Failure reason (`failed`, `ignored`). */
  r?: string;
  /** Set on an `ignored` child that failed with `continueParentOnFailure`: its parent runs at once. */
  c?: true;
  /** When, ms. */
  t: number;
}

/** How long a child may be missing before a sweep takes it for removed (an add linking it may still be under way). */
export const MISSING_CHILD_MS = 5 * 60_000;

/** A child's reference in its parent's record. */
export function childRef(queue: string, id: string): string {
  return `${queue}:${id}`;
}

/** The queue and id of a child reference (queue names hold no ':'). */
export function splitRef(ref: string): { queue: string; id: string } {
  const i = ref.indexOf(':');
  return { queue: ref.slice(0, i), id: ref.slice(i + 1) };
}

/** BullMQ's key of a job: `bull:<queue>:<id>`. */
export function jobKey(queue: string, id: string): string {
  return `${KEY_PREFIX}:${queue}:${id}`;
}

/** BullMQ's key of a child reference (`<queue>:<id>`): `bull:<queue>:<id>`. */
export function keyOfRef(ref: string): string {
  return `${KEY_PREFIX}:${ref}`;
}

/** The store of another queue of the same spool, with the same settings. */
export function siblingStore(store: QueueStore, queue: string): QueueStore {
  if (queue === store.name) return store;
  return QueueStore.open(store.root, queue, { durability: store.durable ? 'durable' : 'fast', modes: store.modes, logger: store.logger });
}

/** The directory of a parent's child files. */
export function depsDir(store: QueueStore, parentId: string): string {
  assertFileSafeId(parentId);
  return path.join(store.dir, 'deps', parentId);
}

/** The file name of a child's file under its parent. */
function entryName(ref: string): string {
  // Queue (100 bytes) and id (200) may not fit one name: a long reference is named by its hash.
  return `${Buffer.byteLength(ref) <= 200 ? ref : `h-${createHash('sha1').update(ref).digest('hex')}`}.json`;
}

function entryFile(store: QueueStore, parentId: string, ref: string): string {
  return path.join(depsDir(store, parentId), entryName(ref));
}

/**
 * Writes (or replaces) what became of a child. Nothing is written for a parent that no longer
 * exists, and a parent removed while the file was being written has the directory removed again,
 * so no file outlives its parent (a later job of the same id would read it).
 */
export function writeEntry(store: QueueStore, parentId: string, entry: DepEntry): void {
  const idFile = store.idPath(parentId);
  const before = tryStat(idFile)?.ino;
  if (before === undefined) return;
  const file = entryFile(store, parentId, entry.k);
  // A spare inode from the queue's pool when there is one (creating one is slow after deletes).
  const tmp = store.writeJobTmp(JSON.stringify(entry));
  try {
    store.publish(tmp, file);
  } catch (err) {
    tryUnlink(tmp);
    throw err;
  }
  const after = tryStat(idFile)?.ino;
  // Removed meanwhile: its directory goes; removed and added again: this file was not the new one's.
  if (after === undefined) removeEntries(store, parentId);
  else if (after !== before) tryUnlink(file);
}

/** One child file, or undefined when it is missing or torn (a torn file is a missing one: the sweep writes it again). */
function readEntryFile(file: string): DepEntry | undefined {
  const text = tryReadText(file);
  if (text === undefined) return undefined;
  try {
    const e = JSON.parse(text) as DepEntry;
    return typeof e.k === 'string' && typeof e.s === 'string' ? e : undefined;
  } catch {
    return undefined;
  }
}

/** The child files of a parent, by child reference. */
export function readEntries(store: QueueStore, parentId: string): Map<string, DepEntry> {
  const dir = depsDir(store, parentId);
  const out = new Map<string, DepEntry>();
  for (const name of tryReaddir(dir)) {
    if (!name.endsWith('.json')) continue;
    const e = readEntryFile(path.join(dir, name));
    if (e) out.set(e.k, e);
  }
  return out;
}

/** Removes a parent's child files (the parent is gone). */
export function removeEntries(store: QueueStore, parentId: string): void {
  const dir = depsDir(store, parentId);
  // Their inodes go to the queue's pool of spare files, for the next child files and jobs.
  for (const name of tryReaddir(dir)) recycle(store, path.join(dir, name));
  try {
    fs.rmdirSync(dir);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return;
    // A file written meanwhile (its writer removes it again: see writeEntry), or something else.
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Whether any child of a parent is unaccounted for, decided by the names in its directory (one
 * listing, no file read: a finished child costs its parent's check the same at 10 or 10,000
 * siblings).
 */
function anyUnprocessed(store: QueueStore, parentId: string, rec: JobRecord): boolean {
  const deps = rec.deps ?? [];
  if (deps.length === 0) return false;
  const names = tryReaddir(depsDir(store, parentId));
  if (names.length < deps.length) return true;
  const present = new Set(names);
  return deps.some((ref) => !present.has(entryName(ref)));
}

/**
 * The quick look a finishing child takes first: true when its parent surely cannot move now,
 * because it is not waiting for children or a child it lists has no file yet. It reads only what
 * was appended to the parent's record since this process last looked (parent-view.ts) and looks
 * for files from the first child it has not yet seen accounted for, so a finish costs a few system
 * calls however many siblings it has. False leaves the decision to the full check.
 */
function surelyWaiting(store: QueueStore, parentId: string): boolean {
  const view = readParentView(store, parentId, store.filePath('waiting-children', parentId));
  // Not waiting for children (or held by a mover, which checks again itself).
  if (view === 'missing') {
    forgetParentView(store, parentId);
    return true;
  }
  if (!view) return false;
  const dir = depsDir(store, parentId);
  while (view.next < view.deps.length) {
    if (!fs.existsSync(path.join(dir, entryName(view.deps[view.next]!)))) return true;
    view.next++;
  }
  return false;
}

/**
 * Moves a parent out of `waiting-children/` once it has no unprocessed child (at once with
 * `force`: a child failed with `continueParentOnFailure`). As BullMQ, a parent whose children are
 * done runs next (the front of the queue) unless it has a priority, or a delay, which starts
 * now; one released by the removal of its last child (`byRemoval`) runs next whatever its delay
 * and priority. With `quick` (not the sweep's), a quick look ends the call when a child surely
 * has no file yet. True when this call moved it.
 */
export function settleParent(store: QueueStore, parentId: string, force = false, byRemoval = false, quick = true): boolean {
  if (!force && quick && surelyWaiting(store, parentId)) return false;
  for (let attempt = 0; attempt < 3; attempt++) {
    const found = readJob(store, parentId);
    if (!found || found.loc.place !== 'waiting-children') return false;
    if (!force && anyUnprocessed(store, parentId, found.rec)) {
      // A child seen accounted for is not any more (retried, or attached again): look from the start next time.
      forgetParentView(store, parentId);
      return false;
    }
    const h = hold(store, found.loc.path, parentId);
    if (!h) return false;
    // Checked again on the record as held: a child attached between the look and the hold
    // (its add may have resolved meanwhile) must be awaited. Back it goes, and the check is made
    // once more (a child that finished while the parent was held saw it as active and left it).
    if (!force && anyUnprocessed(store, parentId, h.rec)) {
      if (!moveHeld(store, h.held, store.filePath('waiting-children', parentId))) return false;
      continue;
    }
    const rec = h.rec;
    const due = Date.now() + rec.delay;
    const route = byRemoval ? readyRoute(store, 0, false, true) : rec.delay > 0 ? delayedRoute(store, due, rec.priority, !!rec.opts.lifo) : readyRoute(store, rec.priority, false, true);
    if (!placeHeld(store, h.held, route, {})) return false;
    // Moved on: its view would only take room until a thousand later parents pushed it out.
    forgetParentView(store, parentId);
    if (route.place === 'delayed') store.events.append('delayed', { jobId: parentId, delay: due });
    else store.events.appendNow('waiting', { jobId: parentId, prev: 'waiting-children' });
    store.wakeLocal();
    return true;
  }
  return false;
}

/** How a child ended, for its parent. */
export type ChildOutcome = { completed: unknown } | { failed: string };

/**
 * Tells a finished child's parent (if it has one) what became of it, by BullMQ's rules:
 * - completed: its return value is recorded (`processed`); the parent moves on if nothing else is left;
 * - failed for good, by the child's option: `failParentOnFailure` records it as failed and sends
 *   the parent to run at once with a deferred failure (its next claimer fails it with
 *   `child bull:<queue>:<id> failed`, and so on up the tree); `continueParentOnFailure` records it
 *   as ignored and sends the parent to run at once; `ignoreDependencyOnFailure` records it as
 *   ignored and `removeDependencyOnFailure` drops it, and the parent moves on if nothing else is
 *   left; with none of them the child stays unprocessed and the parent waits.
 */
export function childFinished(store: QueueStore, rec: JobRecord, outcome: ChildOutcome, removed = false): void {
  if (!rec.parent) return;
  const pstore = siblingStore(store, rec.parent.queue);
  const pid = rec.parent.id;
  const k = childRef(store.name, rec.id);
  const t = Date.now();
  if ('completed' in outcome) {
    writeEntry(pstore, pid, { k, s: 'processed', v: outcome.completed, t });
    settleParent(pstore, pid);
    return;
  }
  const o = rec.opts;
  const r = outcome.failed;
  if (o.failParentOnFailure) {
    writeEntry(pstore, pid, { k, s: 'failed', r, t });
    deferParentFailure(pstore, pid, `child ${jobKey(store.name, rec.id)} failed`);
  } else if (o.continueParentOnFailure) {
    const entry: DepEntry = { k, s: 'ignored', r, t, c: true };
    writeEntry(pstore, pid, entry);
    sendOnFor(pstore, pid, entry);
  } else if (o.ignoreDependencyOnFailure) {
    writeEntry(pstore, pid, { k, s: 'ignored', r, t });
    settleParent(pstore, pid);
  } else if (o.removeDependencyOnFailure) {
    writeEntry(pstore, pid, { k, s: 'removed', t });
    settleParent(pstore, pid);
  } else if (removed) {
    // Failed and not kept (`removeOnFail: true`): as a removed child, no longer awaited.
    writeEntry(pstore, pid, { k, s: 'removed', t });
    settleParent(pstore, pid, false, true);
  }
}

/**
 * Sends a parent on at once for a child that failed with `continueParentOnFailure`, then clears
 * the child's mark (`c`): a parent that comes back to wait for its other children is not sent
 * again. A crash before the mark is cleared has the sweep send it (a parent no longer waiting is
 * left alone).
 */
function sendOnFor(store: QueueStore, parentId: string, entry: DepEntry): boolean {
  const moved = settleParent(store, parentId, true);
  const { c: _c, ...sent } = entry;
  writeEntry(store, parentId, sent);
  return moved;
}

/**
 * A child failed with `failParentOnFailure`: the parent is to fail. As BullMQ, it is sent to run
 * at once (from waiting for children, or delayed) with a deferred failure, which its claimer
 * turns into its failure; a parent elsewhere (running, waiting) gets the deferred failure only.
 */
function deferParentFailure(store: QueueStore, parentId: string, reason: string): void {
  for (let attempt = 0; attempt < 5; attempt++) {
    const found = readJob(store, parentId);
    if (!found || found.loc.place === 'failed' || found.loc.place === 'completed') return;
    if (found.loc.place !== 'waiting-children' && found.loc.place !== 'delayed') {
      try {
        appendPatch(store.idPath(parentId), { deferredFailure: reason, i: parentId });
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
      }
      return;
    }
    const h = hold(store, found.loc.path, parentId);
    if (!h) continue;
    // A delayed parent runs now; one waiting for its children runs next, or after its delay.
    const delay = found.loc.place === 'delayed' ? 0 : h.rec.delay;
    const due = Date.now() + delay;
    const route = delay > 0 ? delayedRoute(store, due, h.rec.priority, false) : readyRoute(store, h.rec.priority, false, true);
    if (!placeHeld(store, h.held, route, { deferredFailure: reason, delay })) return;
    if (route.place === 'delayed') store.events.append('delayed', { jobId: parentId, delay: due });
    else store.events.appendNow('waiting', { jobId: parentId, prev: 'waiting-children' });
    store.wakeLocal();
    return;
  }
}

/**
 * Tells a removed child's parent: the child no longer counts, and a parent left with nothing to
 * wait for runs next (BullMQ's removeParentDependencyKey). A child accounted for already stays so.
 */
export function childRemoved(store: QueueStore, rec: JobRecord): void {
  if (!rec.parent) return;
  const pstore = siblingStore(store, rec.parent.queue);
  const k = childRef(store.name, rec.id);
  const parent = readJob(pstore, rec.parent.id);
  if (!parent || !(parent.rec.deps ?? []).includes(k) || readEntryFile(entryFile(pstore, rec.parent.id, k)) !== undefined) return;
  writeEntry(pstore, rec.parent.id, { k, s: 'removed', t: Date.now() });
  settleParent(pstore, rec.parent.id, false, true);
}

/** A child retried after it finished is awaited again (its parent is not moved back, as in BullMQ). */
export function childRetried(store: QueueStore, rec: JobRecord): void {
  if (!rec.parent) return;
  const pstore = siblingStore(store, rec.parent.queue);
  tryUnlink(entryFile(pstore, rec.parent.id, childRef(store.name, rec.id)));
}

/** What one sweep pass may look at, over all parents: a child costs one, a parent `PARENT_COST`. */
const SWEEP_BUDGET = 2000;
const PARENT_COST = 5;
/** Where this process's next pass goes on in the listing of waiting parents, per queue directory. */
const parentCursors = new Map<string, number>();
/** Where this process's next pass goes on in each parent's list of children. */
const sweepCursors = new Map<string, number>();
const CURSORS_MAX = 10_000;

/**
 * The stalled check's pass over the parents of a queue: a child that finished (or went) without
 * its file being written (its finisher died) is accounted for now, a child failure whose parent
 * was not yet sent on (`failParentOnFailure`, `continueParentOnFailure`) sends it, and a parent with
 * nothing left to wait for moves on. At most `max` parents per pass, from where this process's
 * last pass stopped in the listing (a listing's order changes little between passes), so every
 * parent is reached in turn however many wait; and at most `budget` children looked at, each
 * parent's from where the last pass left off, so a parent of 100,000 children costs a pass a
 * slice of them, not all (the stalled check runs on a worker's event loop). Returns the parents
 * moved.
 */
export function sweepParents(store: QueueStore, nowMs = Date.now(), max = 1000, budget = SWEEP_BUDGET): number {
  const dir = path.join(store.dir, 'waiting-children');
  const names = tryReaddir(dir).filter((n) => n.endsWith('.json'));
  if (names.length === 0) return 0;
  // On from where this process's last pass stopped (a new one starts at random).
  const start = (parentCursors.get(store.dir) ?? Math.floor(Math.random() * names.length)) % names.length;
  let moved = 0;
  let left = budget;
  let i = 0;
  for (; i < Math.min(max, names.length) && left > 0; i++) {
    const pid = names[(start + i) % names.length]!.slice(0, -5);
    left -= PARENT_COST;
    try {
      const r = sweepParent(store, pid, path.join(dir, `${pid}.json`), nowMs, Math.max(1, left));
      left -= r.looked;
      if (r.moved) moved++;
    } catch (err) {
      // One unreadable parent or child does not stop the pass.
      store.logger.warn('flow:sweep-failed', { queue: store.name, parent: pid, err });
    }
  }
  parentCursors.set(store.dir, start + i);
  return moved;
}

function sweepParent(store: QueueStore, pid: string, file: string, nowMs: number, budget: number): { moved: boolean; looked: number } {
  const st = tryStat(file);
  if (!st) return { moved: false, looked: 0 };
  const found = readJob(store, pid);
  if (!found || found.loc.place !== 'waiting-children') return { moved: false, looked: 0 };
  // A parent that got its deferred failure here (see below) is sent now.
  if (found.rec.deferredFailure) {
    deferParentFailure(store, pid, found.rec.deferredFailure);
    return { moved: false, looked: 0 };
  }
  const deps = found.rec.deps ?? [];
  const key = `${store.dir}\0${pid}`;
  // A parent new to this process is taken up at a random child, so that processes share the work.
  let at = sweepCursors.get(key) ?? Math.floor(Math.random() * deps.length);
  if (at >= deps.length) at = 0;
  const n = Math.min(deps.length, budget);
  const dir = depsDir(store, pid);
  const slice: { ref: string; entry: DepEntry | undefined }[] = [];
  for (let i = 0; i < n; i++) {
    const ref = deps[(at + i) % deps.length]!;
    const file = path.join(dir, entryName(ref));
    // Most children without a file: one look each, no failed open. A file not naming its child
    // (one reused from the pool under a reader) counts as none.
    const entry = fs.existsSync(file) ? readEntryFile(file) : undefined;
    slice.push({ ref, entry: entry?.k === ref ? entry : undefined });
  }
  const next = deps.length === 0 ? 0 : (at + n) % deps.length;
  // Whether this slice ended a round of the whole list (or the list is empty).
  const roundDone = deps.length === 0 || at + n >= deps.length;
  sweepCursors.delete(key);
  sweepCursors.set(key, next);
  if (sweepCursors.size > CURSORS_MAX) sweepCursors.delete(sweepCursors.keys().next().value!);
  // A finisher that wrote a failParentOnFailure child's file and died before sending the parent
  // on: a parent still waiting with such a child is sent now. (It cannot have come back on its
  // own: a job with such a child cannot move to wait for children again.)
  const failed = slice.find((c) => c.entry?.s === 'failed');
  if (failed) {
    deferParentFailure(store, pid, `child ${keyOfRef(failed.ref)} failed`);
    return { moved: false, looked: n };
  }
  // A continueParentOnFailure child whose finisher died before sending the parent on: its file
  // still carries the mark the finisher clears once the parent is sent.
  const unsent = slice.find((c) => c.entry?.c);
  if (unsent) return { moved: sendOnFor(store, pid, unsent.entry!), looked: n };
  for (const { ref, entry } of slice) {
    if (entry) continue;
    const { queue, id } = splitRef(ref);
    const cstore = siblingStore(store, queue);
    // Most unprocessed children are still waiting or running: two stats tell, no read.
    const done = fs.existsSync(cstore.filePath('completed', id)) || fs.existsSync(cstore.filePath('failed', id));
    if (!done && fs.existsSync(cstore.idPath(id))) continue;
    const child = readJob(cstore, id);
    if (!child) {
      // Added after its parent listed it (Queue.add with `parent`), or removed by an older version.
      if (nowMs - Math.max(st.mtimeMs, st.ctimeMs) >= MISSING_CHILD_MS) writeEntry(store, pid, { k: ref, s: 'removed', t: nowMs });
      continue;
    }
    // Listed, but not naming this parent: an existing job an add or a flow took for a child,
    // whose linking did not happen (its process died): linked now.
    if (child.rec.parent?.id !== pid || child.rec.parent.queue !== store.name) {
      linkDuplicate(cstore, id, { id: pid, queue: store.name });
      continue;
    }
    if (child.loc.place === 'completed') childFinished(cstore, child.rec, { completed: child.rec.returnvalue });
    else if (child.loc.place === 'failed') childFinished(cstore, child.rec, { failed: child.rec.failedReason ?? '' });
  }
  // The full check once a round (a parent left with nothing to wait for moves whatever this
  // process's view of it says); between rounds the quick look first, as a finishing child's.
  return { moved: settleParent(store, pid, false, false, !roundDone), looked: n };
}

/** The bare queue name of a `parent.queue` option (`<prefix>:<name>` or the name itself). */
export function parentQueueName(queue: string): string {
  return queue.slice(queue.lastIndexOf(':') + 1);
}

/**
 * The children a job lists (as `<queue>:<id>`), read through this process's view of its record
 * (so a parent given 10,000 children one add at a time is not read whole 10,000 times);
 * undefined when the job does not exist or is being removed.
 */
function childrenListed(store: QueueStore, parentId: string): ReadonlySet<string> | undefined {
  // Only the index name left: being removed (as readJob).
  const view = readParentView(store, parentId, store.idPath(parentId), 2);
  return view === 'missing' ? undefined : view?.known;
}

/** A child added by `Queue.add` with a `parent` option, attached to its parent before the add. */
export interface AttachedChild {
  index: number;
  parent: { id: string; queue: string };
  id: string;
  /** The child's queue. */
  queue: string;
  /** The parent listed it before this add (a repeated add): undoing the add leaves it listed. */
  listed?: boolean;
}

/**
 * Lists each job of an add that names a parent among the parent's children, before the job is
 * added (so that it cannot finish before its parent awaits it). The parent must exist (BullMQ's
 * error otherwise); its shape was checked by the caller. `idFor` gives the id a job without a
 * custom id will have.
 */
export function attachChildren(store: QueueStore, specs: { opts: JobsOptions }[], idFor: (index: number) => string, queueFor: (index: number) => string = () => store.name): AttachedChild[] {
  const out: AttachedChild[] = [];
  const byParent = new Map<string, AttachedChild[]>();
  const listedBy = new Map<string, ReadonlySet<string>>();
  specs.forEach((spec, index) => {
    // Checked by the caller (validateJobOptions).
    const p = spec.opts.parent;
    if (!p) return;
    const parent = { id: p.id, queue: parentQueueName(p.queue) };
    const key = childRef(parent.queue, parent.id);
    let group = byParent.get(key);
    if (!group) {
      const listing = childrenListed(siblingStore(store, parent.queue), parent.id);
      if (!listing) {
        throw new SpoolkitError('ERR_PARENT_NOT_FOUND', `Missing key for parent job ${jobKey(parent.queue, parent.id)}. addJob`, { details: { parent } });
      }
      listedBy.set(key, listing);
      byParent.set(key, (group = []));
    }
    const a: AttachedChild = { index, parent, id: idFor(index), queue: queueFor(index) };
    // A child the parent lists already (an add repeated) is not this add's to undo.
    if (listedBy.get(key)!.has(childRef(a.queue, a.id))) a.listed = true;
    group.push(a);
    out.push(a);
  });
  // One patch per parent, however many children an add gives it.
  const done: AttachedChild[] = [];
  for (const group of byParent.values()) {
    const { parent } = group[0]!;
    const pstore = siblingStore(store, parent.queue);
    const refs = group.map((a) => childRef(a.queue, a.id));
    // Attached again after its add was undone: that undo's `removed` file goes (first, so no
    // settler takes it for the new listing).
    clearRemoved(pstore, parent.id, refs);
    try {
      appendPatch(pstore.idPath(parent.id), { addDeps: refs, i: parent.id });
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
      detachChildren(store, done);
      throw new SpoolkitError('ERR_PARENT_NOT_FOUND', `Missing key for parent job ${jobKey(parent.queue, parent.id)}. addJob`, { details: { parent } });
    }
    done.push(...group);
    noteAttached(`${pstore.dir}\0${parent.id}`);
  }
  return out;
}

/**
 * Parents this process attached children to (their runs here may have read their records before
 * the children came: their completion checks their children again). Cleared as those runs end.
 */
const attachedHere = new Set<string>();
/** Entries kept at most: a producer that never runs the parents it feeds forgets the oldest. */
const ATTACHED_MAX = 10_000;

function noteAttached(key: string): void {
  attachedHere.add(key);
  if (attachedHere.size > ATTACHED_MAX) attachedHere.delete(attachedHere.values().next().value!);
}

/** True (once) when this process attached children to `id` since the last call: its record must be read again. */
export function takeAttached(store: QueueStore, id: string): boolean {
  return attachedHere.size > 0 && attachedHere.delete(`${store.dir}\0${id}`);
}

/** Undoes `attachChildren` for an add that failed: its parents no longer await those jobs. */
export function detachChildren(store: QueueStore, attached: AttachedChild[]): void {
  for (const a of attached) {
    if (a.listed) continue;
    try {
      const pstore = siblingStore(store, a.parent.queue);
      writeEntry(pstore, a.parent.id, { k: childRef(a.queue, a.id), s: 'removed', t: Date.now() });
      settleParent(pstore, a.parent.id, false, true);
    } catch {
      // best effort: the add's own error is what the caller needs
    }
  }
}

/**
 * After an add with `parent` options: a job that was not added because its id exists (a
 * duplicate) is linked to the parent as BullMQ does: a completed one counts as processed with its
 * return value, an unfinished one without a parent takes this one, and any other is not awaited.
 */
export function settleAttached(store: QueueStore, attached: AttachedChild[], added: (index: number) => boolean): void {
  for (const a of attached) {
    if (!added(a.index)) linkDuplicate(store, a.id, a.parent);
  }
}

/**
 * Links an existing job of `store` to a parent that lists it as a child though the job does not
 * name that parent (an add or a flow found its id taken), by BullMQ's rule for a duplicate child:
 * a completed one counts as processed with its return value, an unfinished one without a parent
 * takes this one, and any other (failed, or another parent's) is not awaited.
 */
export function linkDuplicate(store: QueueStore, id: string, parent: { id: string; queue: string }): void {
  const pstore = siblingStore(store, parent.queue);
  const k = childRef(store.name, id);
  const existing = readJob(store, id);
  if (existing && existing.rec.parent?.id === parent.id && existing.rec.parent.queue === parent.queue) return;
  if (existing?.loc.place === 'completed') {
    writeEntry(pstore, parent.id, { k, s: 'processed', v: existing.rec.returnvalue, t: Date.now() });
  } else if (existing && existing.loc.place !== 'failed' && !existing.rec.parent) {
    try {
      appendPatch(store.idPath(id), { parent, i: id });
      return;
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err;
      writeEntry(pstore, parent.id, { k, s: 'removed', t: Date.now() });
    }
  } else {
    writeEntry(pstore, parent.id, { k, s: 'removed', t: Date.now() });
  }
  settleParent(pstore, parent.id);
}

/**
 * Before children listed already are added again: the `removed` files an undone add (or a
 * removal) left for them go, so that their parent awaits them afresh; what a child that exists
 * became stays; `mayClear` may keep others. Returns the children whose file went.
 */
export function clearRemoved(store: QueueStore, parentId: string, refs: string[], mayClear: (ref: string) => boolean = () => true): string[] {
  const cleared: string[] = [];
  for (const k of refs) {
    const file = entryFile(store, parentId, k);
    if (readEntryFile(file)?.s === 'removed' && mayClear(k) && tryUnlink(file)) cleared.push(k);
  }
  return cleared;
}

/** A parent's children by what became of them (BullMQ's dependency sets), in the order its record lists them. */
export interface Dependencies {
  processed: [string, unknown][];
  unprocessed: string[];
  /** Failed with `failParentOnFailure` (BullMQ's unsuccessful children). */
  failed: string[];
  /** Failed and ignored: child and reason. */
  ignored: [string, string][];
}

/** What became of each child of a parent (an unknown parent has none). */
export function dependenciesOf(store: QueueStore, parentId: string): Dependencies {
  const out: Dependencies = { processed: [], unprocessed: [], failed: [], ignored: [] };
  const found = readJob(store, parentId);
  if (!found) return out;
  const entries = readEntries(store, parentId);
  for (const ref of found.rec.deps ?? []) {
    const e = entries.get(ref);
    if (!e) out.unprocessed.push(ref);
    else if (e.s === 'processed') out.processed.push([ref, e.v ?? null]);
    else if (e.s === 'failed') out.failed.push(ref);
    else if (e.s === 'ignored') out.ignored.push([ref, e.r ?? '']);
  }
  return out;
}

/**
 * Moves a job this process runs to `waiting-children/` (BullMQ's moveToWaitingChildren), keeping
 * the fields of its start; then checks at once whether its children are done already (one may have
 * finished between the caller's look and the move). False when the lease was lost.
 */
export function moveClaimToWaitingChildren(store: QueueStore, claim: Claim): boolean {
  refreshPriority(claim.path, claim.rec);
  const dest = store.filePath('waiting-children', claim.id);
  const gen = claim.gen + 1;
  if (!appendHeld(store, claim.path, { ...startedFields(claim.rec), gen, at: store.rel(dest), st: null, g: claim.gen })) return false;
  if (!moveHeld(store, claim.path, dest)) return false;
  closeClaim(claim);
  claim.moved = true;
  claim.rec.gen = gen;
  takeAttached(store, claim.id);
  store.events.append('waiting-children', { jobId: claim.id, prev: 'active' });
  settleParent(store, claim.id);
  return true;
}

/**
 * Takes a child out of its parent's list while it is unprocessed (BullMQ's removeChildDependency):
 * the parent no longer waits for it, and moves on if nothing else is left. True when it was
 * listed and unprocessed.
 */
export function removeChildDependency(store: QueueStore, rec: JobRecord): boolean {
  if (!rec.parent) return false;
  const pstore = siblingStore(store, rec.parent.queue);
  const k = childRef(store.name, rec.id);
  const parent = readJob(pstore, rec.parent.id);
  if (!parent || !(parent.rec.deps ?? []).includes(k) || readEntryFile(entryFile(pstore, rec.parent.id, k)) !== undefined) return false;
  writeEntry(pstore, rec.parent.id, { k, s: 'removed', t: Date.now() });
  try {
    appendPatch(store.idPath(rec.id), { parent: null, i: rec.id });
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
  settleParent(pstore, rec.parent.id, false, true);
  return true;
}

/**
 * Removes the children of a removed parent, each with its own children (BullMQ's removeChildren),
 * or with `onlyUnprocessed` those of a parent that have not started (BullMQ's
 * removeUnprocessedChildren). Children active under a live lease stay. Returns how many went.
 */
export function removeChildrenOf(store: QueueStore, rec: JobRecord, onlyUnprocessed = false): number {
  const entries = onlyUnprocessed ? readEntries(store, rec.id) : undefined;
  let n = 0;
  for (const ref of rec.deps ?? []) {
    if (entries?.has(ref)) continue;
    const { queue, id } = splitRef(ref);
    const cstore = siblingStore(store, queue);
    const child = readJob(cstore, id);
    if (!child || child.rec.parent?.id !== rec.id || child.rec.parent.queue !== store.name) continue;
    const place = child.loc.place;
    if (onlyUnprocessed && (place === 'active' || place === 'reclaiming' || place === 'completed' || place === 'failed')) continue;
    n += removeJob(cstore, id, { removeChildren: true });
  }
  return n;
}

/** Removes the children of a parent that have not started (see removeChildrenOf). */
export function removeUnprocessedChildren(store: QueueStore, parentId: string): number {
  const found = readJob(store, parentId);
  return found ? removeChildrenOf(store, found.rec, true) : 0;
}
