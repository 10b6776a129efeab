/**
 * Enqueueing. One job costs one new file (its only inode for life): written in tmp/, hard-linked
 * into the id index (`link` fails with EEXIST when the id is taken: the atomic `jobId` dedup
 * across processes), then renamed into its set, the moment it becomes visible. If the process
 * dies between the link and the rename, the stalled checker finds the temp file and finishes the
 * rename (tmp-recovery.ts); an index entry with no other name is a leftover that `add` replaces once it
 * is older than `STALE_ID_MS`.
 */
import fs from 'node:fs';
import { SpoolkitError } from '../errors.js';
import type { JobsOptions } from '../types.js';
import path from 'node:path';
import { fsyncDir, isErrno, mkdirp, renameInto, rethrowFs, sleepSync, tryStat, tryUnlink } from './fs.js';
import { refileDelayed } from './admin.js';
import { IdAllocator } from './id-alloc.js';
import { storedJobOptions, validateJobOptions, withoutUnsetOptions } from './job-options.js';
import { locate, readJob, type Located } from './lookup.js';
import { RECORD_VERSION, serializeRecord, type JobRecord } from './record.js';
import { delayedRoute, readyRoute, type Route } from './routing.js';
import { readDedup, readDedupWithInode, removeIfSame, type DedupKey } from './dedup-key.js';
import { extendKey, finishReplaced, replaceHolder, replaceTimeout, REPLACE_WAIT_MS, restoreReplaced, type ReplacedHolder } from './dedup-replace.js';
import { dedupFile, type QueueStore } from './store.js';
import { withIdLock } from './id-lock.js';
import { DeadAddRecovery, undoTempJob } from './tmp-recovery.js';
import { keepNext } from './dedup-next.js';
import { parentQueueName } from './deps.js';
import { assertJobId, assertJobName, toJsonStrict } from './validate.js';

/** An id-index entry this old that points at no job is a crash leftover. */
const STALE_ID_MS = 5000;

/** One job to add. */
export interface AddSpec {
  name: string;
  data: unknown;
  opts: JobsOptions;
  /** Spoolkit-made id (may contain ':'). */
  reserved?: boolean;
  /** An automatic id taken earlier (a deduplicated add's, for its job kept by `keepLastIfActive`). */
  presetId?: string;
}

/** What happened to one added job. */
export interface AddOutcome {
  /** The record written, or for a duplicate the record as it would have been (with the existing id). */
  rec: JobRecord;
  added: boolean;
  /** Why it was not added. */
  reason?: 'duplicated' | 'deduplicated';
  /** For `deduplicated`: the id the dropped job would have had. */
  deduplicatedJobId?: string;
  /** Deduplicated without a `deduplicated` event (a replacing add whose holder is no longer delayed, as BullMQ). */
  quiet?: boolean;
}

export interface Prepared {
  spec: AddSpec;
  rec: JobRecord;
  dataJson: string;
  route: Route;
  idTaken?: boolean;
  dedupPath?: string;
  /** The delayed job this add's `deduplication.replace` took out, removed once the add is done. */
  replaced?: ReplacedHolder;
  /** Deduplicated without an event (see AddOutcome.quiet). */
  quietDedup?: boolean;
  /** Deduplicated while the key's holder is active, with `keepLastIfActive`: kept as its next job. */
  keepAsNext?: boolean;
  tmp?: string;
  published?: boolean;
  outcome?: AddOutcome;
}

export function prepare(store: QueueStore, given: AddSpec, nowMs: number): Prepared {
  assertJobName(given.name);
  const checked = withoutUnsetOptions(given.opts);
  validateJobOptions(checked, given.name);
  if (checked.jobId !== undefined) assertJobId(checked.jobId, given.reserved);
  const opts = storedJobOptions(checked);
  const spec: AddSpec = opts === given.opts ? given : { ...given, opts };
  const dataJson = toJsonStrict(spec.data, 'job data');
  // sizeLimit 0 is no limit (BullMQ).
  if (opts.sizeLimit && Buffer.byteLength(dataJson) > opts.sizeLimit) {
    throw new SpoolkitError('ERR_INVALID_JOB', `The size of job ${spec.name} exceeds the limit ${opts.sizeLimit} bytes (${Buffer.byteLength(dataJson)} bytes of JSON data); send less data or store it elsewhere and pass a reference.`);
  }
  // BullMQ: opts.timestamp || Date.now(), so 0 is now too.
  const timestamp = opts.timestamp || nowMs;
  const delay = opts.delay ?? 0;
  const priority = opts.priority ?? 0;
  const rec: JobRecord = {
    v: RECORD_VERSION,
    id: opts.jobId ?? given.presetId ?? '',
    name: spec.name,
    data: spec.data,
    opts,
    timestamp,
    delay,
    priority,
    attemptsMade: 0,
    attemptsStarted: 0,
    stalledCounter: 0,
    progress: 0,
    returnvalue: null,
    stacktrace: [],
    gen: 0,
  };
  if (opts.deduplication) rec.deduplicationId = opts.deduplication.id;
  if (checked.repeatJobKey) rec.repeatJobKey = checked.repeatJobKey;
  if (checked.parent) rec.parent = { id: checked.parent.id, queue: parentQueueName(checked.parent.queue) };
  const route = delay > 0 ? delayedRoute(store, timestamp + delay, priority, !!opts.lifo) : readyRoute(store, priority, !!opts.lifo);
  return { spec, rec, dataJson, route };
}

function destOf(p: Prepared): string {
  return p.route.set.pathFor(p.route.key, p.rec.id);
}

function writeJobTmp(store: QueueStore, p: Prepared, bulk: string | undefined): void {
  p.rec.at = store.rel(destOf(p));
  p.tmp = store.writeJobTmp(serializeRecord(p.rec, p.dataJson), bulk === undefined ? undefined : bulkTmpPath(store, bulk));
}

/**
 * Temp files of a call that adds several jobs are named `b-<tag>-<n>`, where the tag starts with
 * the writer's key (tmp-owner.ts). Before the first of them, the call makes `b-<tag>.open`; once
 * every one of them has its id name, it renames that to `b-<tag>.commit`. Another process that
 * takes the call for dead (tmp-recovery.ts) renames `.open` to `.undo` instead before undoing it:
 * one rename decides, so a call is either published whole or undone whole, even when its
 * producer was only stalled and wakes up later (its commit then fails, and nothing was added).
 */
let bulkTmpCounter = 0;
let bulkCounter = 0;
/** A new bulk tag of this process for `store`'s tmp/. */
export function newBulkTag(store: QueueStore): string {
  return `${store.tmpWriterKey()}-${(bulkCounter++).toString(36)}`;
}
export function bulkTmpPath(store: QueueStore, bulk: string): string {
  return path.join(store.dir, 'tmp', `b-${bulk}-${(bulkTmpCounter++).toString(36)}`);
}

/** A marker of a bulk's temp files: its intent (`open`), its commit, or another process's decision to undo it. */
export function bulkMarkerPath(store: QueueStore, bulk: string, kind: 'open' | 'commit' | 'undo'): string {
  return path.join(store.dir, 'tmp', `b-${bulk}.${kind}`);
}

/** Makes a bulk's `.open` marker (recreating the queue's directories if it was obliterated). */
export function openBulk(store: QueueStore, bulk: string): string {
  const file = bulkMarkerPath(store, bulk, 'open');
  for (let i = 0; ; i++) {
    try {
      fs.closeSync(fs.openSync(file, 'wx', store.modes.file));
      return file;
    } catch (err) {
      if (!isErrno(err, 'ENOENT') || i > 0) return rethrowFs(err, file);
      store.ensureDirs();
    }
  }
}

/**
 * Commits a bulk: renames its `.open` marker to `.commit`. Undefined when another process took the
 * call for dead and renamed the marker to `.undo` first (that process undoes the files).
 */
export function commitBulk(store: QueueStore, bulk: string, intent: string): string | undefined {
  const to = bulkMarkerPath(store, bulk, 'commit');
  try {
    fs.renameSync(intent, to);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) return rethrowFs(err, to);
    return undefined;
  }
  // An empty file: only its name counts, so only its directory is fsynced.
  if (store.durable) fsyncDir(path.dirname(to));
  return to;
}

/**
 * Decides to undo a bulk that failed before its commit: renames its `.open` marker to `.undo`.
 * Returns the `.undo` path, or undefined when another process decided first (it undoes the files).
 */
export function decideUndo(store: QueueStore, bulk: string, intent: string): string | undefined {
  const undo = bulkMarkerPath(store, bulk, 'undo');
  try {
    fs.renameSync(intent, undo);
    return undo;
  } catch {
    return undefined;
  }
}

/** The error of a bulk that another process undid before it could commit. */
export function undoneError(store: QueueStore): SpoolkitError {
  return new SpoolkitError(
    'ERR_ADD_UNDONE',
    `addBulk into queue ${store.name} was undone before it committed, twice: its process stopped writing for seconds each time (stalled or frozen), and another process took it for dead. Nothing was added; add the jobs again.`,
  );
}

/** A simple-mode key this young whose job cannot be found is an add still in progress (its key is taken before its id link). */
const YOUNG_DEDUP_MS = 10_000;

function dedupBody(p: Prepared, nowMs: number): string {
  const d = p.spec.opts.deduplication!;
  // keepLastIfActive: no expiry, the key lives as long as its job (BullMQ ignores the ttl).
  return JSON.stringify({ id: d.id, jobId: p.rec.id, expiresAt: d.ttl !== undefined && d.ttl > 0 && !d.keepLastIfActive ? nowMs + d.ttl : null });
}

/**
 * Takes the deduplication key, or returns the id of the job holding it. The key is created whole
 * (written under a temp name, then hard-linked: `link` fails if the name exists), so no reader
 * ever sees it empty. A key is held while its ttl runs, or in simple mode while its job exists
 * and has not finished (or is younger than `YOUNG_DEDUP_MS`: its add may still be running). A
 * stale key is replaced only if it is still the very file judged stale.
 */
function takeDedup(store: QueueStore, p: Prepared, nowMs: number, recovery: DeadAddRecovery): string | undefined {
  const d = p.spec.opts.deduplication;
  if (!d) return undefined;
  const file = dedupFile(store, d.id);
  // keepLastIfActive: the key has no ttl (as BullMQ, which ignores it then).
  const ttl = d.ttl !== undefined && d.ttl > 0 && !d.keepLastIfActive ? d.ttl : undefined;
  // A replacing or extending add may wait for other adds of the same id (dedup-replace.ts), whose
  // changes to the key are progress; others try 5 times.
  const waitUntil = d.replace || d.extend ? Date.now() + REPLACE_WAIT_MS : 0;
  for (let i = 0; i < 5 || Date.now() < waitUntil; i++) {
    // The key is read first: a held key (the usual case of a deduplicated add) costs no write,
    // and a missing one (a new id) one `access`, not a failed open and its exception.
    const held = fs.existsSync(file) ? readDedupWithInode(file) : undefined;
    if (!held) {
      if (createWhole(store, file, dedupBody(p, nowMs))) {
        p.dedupPath = file;
        return undefined;
      }
      continue; // made meanwhile: read it
    }
    const now = d.replace || d.extend ? Date.now() : nowMs;
    const key = held.key;
    // Where a simple-mode key's job is, looked up once: whether it holds the key and whether a
    // keepLastIfActive add is kept are decided on the same sight of it (a holder that finished
    // between two looks would have the add answered `deduplicated` and its job dropped).
    const loc = key && key.expiresAt === null ? locate(store, key.jobId) : undefined;
    if (key && (key.expiresAt !== null ? key.expiresAt > now : jobHoldsKey(loc, held.ctimeMs, now))) {
      // Held by an add whose process died before publishing (its bulk undone frees the key)? A
      // holder that is visible is a real job: no need to look.
      const visible = key.expiresAt === null ? loc !== undefined && loc.path !== '' : heldByVisibleJob(store, key.jobId);
      if (!visible && recovery.run(now)) continue;
      // keepLastIfActive: an add while the holder runs is kept, to be added once it finishes.
      if (d.keepLastIfActive && loc?.place === 'active') {
        p.keepAsNext = true;
        return key.jobId;
      }
      if (d.replace) {
        // Replacing keeps the key's expiry unless `extend` (or no ttl) restarts it, as BullMQ's KEEPTTL.
        const expiresAt = ttl !== undefined && !d.extend ? key.expiresAt : ttl !== undefined ? now + ttl : null;
        const step = replaceHolder(store, file, key, now - held.ctimeMs, p.rec.id, expiresAt);
        if (step.kind === 'replaced') {
          p.dedupPath = file;
          p.replaced = step.holder;
          return undefined;
        }
        if (step.kind === 'wait') {
          sleepSync(1);
          continue;
        }
        if (step.kind === 'stale') {
          removeIfSame(store, file, held);
          continue;
        }
        p.quietDedup = true;
        return key.jobId;
      }
      // `extend`: the holder stays and its key's ttl starts again.
      if (d.extend && ttl !== undefined) {
        const extended = extendKey(store, file, key.id, now + ttl, now);
        if (extended === undefined) continue;
        return extended;
      }
      return key.jobId;
    }
    removeIfSame(store, file, held);
  }
  if (d.replace || d.extend) throw replaceTimeout(d.id);
  throw new SpoolkitError('ERR_SPOOL_UNWRITABLE', `Could not take deduplication key ${JSON.stringify(d.id)} after several tries; another process keeps replacing it.`);
}

/** True while a key holds its deduplication id: its ttl runs, or (simple mode) its job exists unfinished or may still be being added. */
export function stillHeld(store: QueueStore, key: DedupKey, ctimeMs: number, nowMs: number): boolean {
  if (key.expiresAt !== null) return key.expiresAt > nowMs;
  return jobHoldsKey(locate(store, key.jobId), ctimeMs, nowMs);
}

/** Whether a simple-mode key whose job is at `loc` (undefined: no such job) still holds its id. */
function jobHoldsKey(loc: Located | undefined, ctimeMs: number, nowMs: number): boolean {
  if (!loc) return nowMs - ctimeMs < YOUNG_DEDUP_MS;
  // A finished job gave its key back (a crash between its finish and the release left it here).
  return loc.place !== 'completed' && loc.place !== 'failed';
}

/** Creates `file` with `text`, whole, unless it exists. False when it exists. */
function createWhole(store: QueueStore, file: string, text: string): boolean {
  const tmp = store.writeJobTmp(text);
  try {
    for (let tries = 0; ; tries++) {
      try {
        fs.linkSync(tmp, file);
        if (store.durable) fsyncDir(path.dirname(file));
        return true;
      } catch (err) {
        if (isErrno(err, 'EEXIST')) return false;
        if (isErrno(err, 'ENOENT') && tries === 0) {
          store.ensureDirs();
          continue;
        }
        return rethrowFs(err, file);
      }
    }
  } finally {
    tryUnlink(tmp);
  }
}

/**
 * Points a key this add took at the job's final id (an automatic id was taken again). A key a
 * replacing add took keeps the expiry it was given (BullMQ's KEEPTTL), and the replaced job's
 * put-back, should the add fail, looks for the final id.
 */
function retargetDedup(store: QueueStore, p: Prepared, nowMs: number): void {
  if (!p.dedupPath) return;
  const kept = p.replaced ? readDedup(p.dedupPath) : undefined;
  const text = kept ? JSON.stringify({ id: kept.id, jobId: p.rec.id, expiresAt: kept.expiresAt }) : dedupBody(p, nowMs);
  const tmp = store.writeJobTmp(text);
  renameInto(tmp, p.dedupPath, store.modes);
  if (p.replaced) p.replaced.newId = p.rec.id;
}

/**
 * Links the job's temp file into the id index; false when a live job already holds the id. An
 * id held by the files of an add whose process died before publishing them is freed or settled
 * first (`recovery`), so an app that adds again after a crash is not told its job exists while
 * the stalled checker is about to undo it.
 */
export function takeId(store: QueueStore, p: Prepared, nowMs: number, recovery: DeadAddRecovery): boolean {
  if (store.linkIdEntry(p.tmp!, p.rec.id)) return true;
  if (recovery.run(nowMs) && store.linkIdEntry(p.tmp!, p.rec.id)) return true;
  // An index entry that is the job's only name is a leftover (removal or add interrupted) once
  // old enough. Replacing it takes the id's lock, so two producers never both judge it stale and
  // each replace the other's fresh entry. A producer that finds the lock taken lets the holder win.
  const took = withIdLock(store, p.rec.id, nowMs, () => {
    try {
      const st = fs.statSync(store.idPath(p.rec.id));
      if (st.nlink > 1 || nowMs - st.ctimeMs < STALE_ID_MS) return false;
      store.removeIdEntry(p.rec.id);
    } catch (err) {
      // gone meanwhile: link below
      if (!isErrno(err, 'ENOENT')) throw err;
    }
    return store.linkIdEntry(p.tmp!, p.rec.id);
  });
  return took === true;
}

/**
 * True when the job the id index names for `id` is visible: in a set, completed or failed. Such a
 * job holds its id for as long as it exists, so an add of that id is a duplicate whatever the
 * link would say. A job claimed by a worker, or still in `tmp/` (an add running, or left by a
 * dead producer), is not judged here: the link and the recovery of dead adds decide.
 */
function heldByVisibleJob(store: QueueStore, id: string): boolean {
  // A new id (the usual case) costs one `access`, not a failed open and its exception.
  if (!fs.existsSync(store.idPath(id))) return false;
  const loc = locate(store, id);
  return loc !== undefined && loc.path !== '';
}

/** True when a job holds `id`: its index entry has another name, or is too young to be a leftover. */
function idHeld(store: QueueStore, id: string, nowMs: number, recovery: DeadAddRecovery): boolean {
  const held = (): boolean => {
    const st = tryStat(store.idPath(id));
    return st !== undefined && (st.nlink > 1 || nowMs - st.ctimeMs < STALE_ID_MS);
  };
  return held() && !(recovery.run(nowMs) && !held());
}

/**
 * The error of a call that failed after its first job became visible. Every job of the call has
 * its file and id name by then: those not yet published stay in `tmp/`, and the stalled checker
 * publishes them (tmp-recovery.ts). The error says so, with `details.committed`, so that nobody adds
 * them again.
 */
function committedError(list: Prepared[], err: unknown): SpoolkitError {
  const published = list.filter((p) => p.published).map((p) => p.rec.id);
  const pending = list.filter((p) => p.tmp && p.idTaken && !p.published).map((p) => p.rec.id);
  const cause = err instanceof Error ? err : new Error(String(err));
  const code = err instanceof SpoolkitError ? err.code : 'ERR_SPOOL_UNWRITABLE';
  return new SpoolkitError(
    code,
    `Adding ${list.length} job(s) failed after ${published.length} became visible (${cause.message}). The jobs are added all the same: ${pending.length === 0 ? 'all are visible' : `the other ${pending.length} are published by a worker's stalled check within about five minutes`}, and durability is not confirmed. Do not add them again; fix the cause above.`,
    { cause, details: { committed: true, published, pending } },
  );
}

/** Gives up the deduplication key this add took: removed, or, taken from a replaced job, given back to it with the job. */
function giveBackKey(store: QueueStore, p: Prepared): void {
  if (p.replaced) restoreReplaced(store, p.dedupPath!, p.replaced);
  else if (p.dedupPath) tryUnlink(p.dedupPath);
}

/**
 * The job a replacing add took out goes, now that its successor is published, with BullMQ's
 * events: `removed`, then `deduplicated` naming the new job and the one it replaced.
 */
function finishReplacement(store: QueueStore, p: Prepared): void {
  const r = p.replaced!;
  let removed = false;
  try {
    removed = finishReplaced(store, r);
  } catch (err) {
    store.logger.error('add:replace-cleanup-failed', { queue: store.name, jobId: r.id, err });
  }
  // Its `removed` went into the log with the new job's events (replacementEvents): it was held,
  // so nobody could start it. Not removed only when this add stalled for minutes.
  if (!removed) {
    store.logger.error('add:replaced-job-kept', { queue: store.name, jobId: r.id });
    announceRestored(store, r.id);
  }
}

/** Logs a replaced job that stayed after all (its `removed` was logged before its add's rename) as delayed again. */
function announceRestored(store: QueueStore, id: string): void {
  try {
    const back = readJob(store, id);
    if (back?.loc.place === 'delayed') store.events.append('delayed', { jobId: id, delay: back.rec.timestamp + back.rec.delay });
  } catch {
    // unreadable: the log stays as it is
  }
}

/** The events of a replacement, before the new job's (BullMQ's order): the held job removed, the add deduplicated. */
function replacementEvents(store: QueueStore, p: Prepared): void {
  const r = p.replaced!;
  store.events.append('removed', { jobId: r.id, prev: 'delayed' });
  store.events.append('deduplicated', { jobId: p.rec.id, deduplicationId: p.spec.opts.deduplication!.id, deduplicatedJobId: r.id });
}

function rollback(store: QueueStore, list: Prepared[]): void {
  for (const p of list) {
    try {
      if (p.tmp && !p.published) tryUnlink(p.tmp);
      if (p.published) tryUnlink(destOf(p));
      if (p.idTaken) store.removeIdEntry(p.rec.id);
      giveBackKey(store, p);
    } catch {
      // best effort: the original error is what the caller needs
    }
  }
}

/**
 * Undoes what is left of this call's temp files after another process decided to undo the call:
 * the files it wrote after that process listed them. The same safe way as that process: an id
 * name goes only while it is still this call's file.
 */
function undoLeftovers(store: QueueStore, list: Prepared[], nowMs: number): void {
  for (const p of list) {
    const st = p.tmp && !p.published ? tryStat(p.tmp) : undefined;
    if (st) undoTempJob(store, p.tmp!, st.ino, p.rec, nowMs);
    // The other process dropped this job's key with its files; the replaced job and its key return.
    if (p.replaced) restoreReplaced(store, p.dedupPath!, p.replaced);
  }
}

/**
 * A call may not add two jobs of one deduplication id when one of them replaces (BullMQ would add
 * the first and let the second remove it): refused before anything is written.
 */
function assertOneReplacePerKey(list: Prepared[]): void {
  const seen = new Map<string, boolean>();
  for (const p of list) {
    const d = p.spec.opts.deduplication;
    if (!d) continue;
    const before = seen.get(d.id);
    if (before !== undefined && (before || d.replace)) {
      throw new SpoolkitError('ERR_INVALID_JOB', `Two jobs of deduplication id ${JSON.stringify(d.id)} in one addBulk, one of them with replace: add them in separate calls (the later one replaces the earlier while it is delayed).`);
    }
    seen.set(d.id, (before ?? false) || d.replace === true);
  }
}

/**
 * Adds jobs, all or nothing: every check and every temp file is done before the first job is
 * published; on an error, what was done is undone and the error is thrown. A call whose files
 * vanished before anything was published is undone and made once more: the queue was obliterated
 * under it (its directory renamed away), or the call stalled long enough for another process to
 * take it for dead and undo it (tmp-recovery.ts).
 */
export function addJobs(store: QueueStore, specs: AddSpec[], nowMs = Date.now()): AddOutcome[] {
  try {
    return addJobsOnce(store, specs, nowMs);
  } catch (err) {
    const undone = err instanceof SpoolkitError && err.code === 'ERR_ADD_UNDONE';
    if (!undone && (err instanceof SpoolkitError || !isErrno(err, 'ENOENT'))) throw err;
    store.ensureDirs();
    return addJobsOnce(store, specs, nowMs);
  }
}

function addJobsOnce(store: QueueStore, specs: AddSpec[], nowMs: number): AddOutcome[] {
  const list = specs.map((s) => prepare(store, s, nowMs));
  assertOneReplacePerKey(list);
  const alloc = IdAllocator.for(store);
  // Durable bulk adds fsync each touched directory once per phase instead of once per job.
  const batch = list.length > 1;
  const bulk = batch ? newBulkTag(store) : undefined;
  const recovery = new DeadAddRecovery(store);
  let intent: string | undefined;
  let commit: string | undefined;
  let undoneElsewhere = false;
  let announced: Prepared[] = [];
  if (batch) store.deferDirSyncs();
  try {
    for (const p of list) {
      // Every add takes a number, custom ids too, as BullMQ's counter counts every add.
      const counted = alloc.take();
      if (p.rec.id === '') p.rec.id = counted;
      // A custom id whose job is visible (in a set, completed or failed) is a duplicate, found
      // without writing anything: the usual case of an app adding the same id again.
      const fixedId = p.spec.opts.jobId !== undefined || p.spec.presetId !== undefined;
      if (fixedId && heldByVisibleJob(store, p.rec.id)) {
        p.outcome = { rec: p.rec, added: false, reason: 'duplicated' };
        continue;
      }
      // BullMQ checks a custom id before the deduplication key: a job that repeats both is
      // `duplicated`, not `deduplicated`. The link in takeId stays the atomic check.
      if (p.spec.opts.jobId !== undefined && p.spec.opts.deduplication && idHeld(store, p.rec.id, nowMs, recovery)) {
        p.outcome = { rec: p.rec, added: false, reason: 'duplicated' };
        continue;
      }
      const holder = takeDedup(store, p, nowMs, recovery);
      if (holder !== undefined) {
        p.outcome = { rec: { ...p.rec, id: holder }, added: false, reason: 'deduplicated', deduplicatedJobId: p.rec.id, ...(p.quietDedup ? { quiet: true } : {}) };
        continue;
      }
      if (bulk !== undefined && intent === undefined) intent = openBulk(store, bulk);
      writeJobTmp(store, p, bulk);
      if (fixedId) {
        if (!takeId(store, p, nowMs, recovery)) {
          tryUnlink(p.tmp!);
          p.tmp = undefined;
          giveBackKey(store, p);
          p.dedupPath = undefined;
          p.replaced = undefined;
          p.outcome = { rec: p.rec, added: false, reason: 'duplicated' };
          continue;
        }
      } else {
        for (let i = 0; !store.linkIdEntry(p.tmp!, p.rec.id); i++) {
          if (i > 100) throw new SpoolkitError('ERR_SPOOL_CORRUPT', `The id counter of queue ${store.name} is behind its jobs; fix ${store.dir}/seq.`);
          tryUnlink(p.tmp!);
          alloc.skipPast(Number(p.rec.id));
          p.rec.id = alloc.take();
          writeJobTmp(store, p, bulk);
          retargetDedup(store, p, nowMs);
        }
      }
      p.idTaken = true;
    }
    if (batch) {
      // What can fail is done before the first job becomes visible: the set directories exist
      // (a new bucket is a new directory: it can meet a full disk) and every id name is durable.
      const dirs = new Set<string>();
      for (const p of list) if (p.tmp && p.idTaken) dirs.add(path.dirname(destOf(p)));
      for (const dir of dirs) mkdirp(dir, store.modes, store.onDirCreated);
      // Every job has its file and id name: from here a crash leaves the bulk to be published.
      if (intent && list.some((p) => p.tmp && p.idTaken)) {
        commit = commitBulk(store, bulk!, intent);
        if (commit === undefined) {
          undoneElsewhere = true;
          throw undoneError(store);
        }
        intent = undefined;
      }
      store.syncDeferredDirs();
    }
    // The events of the jobs go into the log before the jobs become visible, as BullMQ writes
    // them in the script that adds the job: a worker in another process cannot start a job (and
    // log `active`, `completed`) before its `added` and `waiting` are in the log.
    announced = list.filter((p) => p.tmp && p.idTaken);
    for (const p of announced) {
      if (p.replaced) replacementEvents(store, p);
      appendAddedEvents(store, [p]);
    }
    store.events.flushQuietly();
    for (const p of list) {
      if (!p.tmp || !p.idTaken) continue;
      try {
        store.publish(p.tmp, destOf(p), () => (p.published = true));
      } catch (err) {
        // A committed bulk is never undone, so a temp file gone from under its rename was
        // published by a stalled check (a bulk that took minutes to publish): so is this job.
        if (!commit || !isErrno(err, 'ENOENT') || fs.existsSync(p.tmp)) throw err;
        p.published = true;
        if (store.durable) store.syncDir(path.dirname(destOf(p)));
      }
    }
    if (batch) store.syncDeferredDirs();
    if (commit) tryUnlink(commit);
    // A bulk with nothing to add (all duplicates) never committed.
    if (intent) tryUnlink(intent);
  } catch (err) {
    // Once a job is visible a worker may have claimed it: nothing is undone from there on.
    if (list.some((p) => p.published)) {
      // A replaced job whose successor is visible goes; one whose successor is not yet stays held
      // for the stalled checker to file back (the successor may still be published by it).
      for (const p of list) if (p.published && p.replaced) finishReplacement(store, p);
      throw committedError(list, err);
    }
    // An uncommitted bulk is undone by whoever renames its `.open` to `.undo`: this call, unless
    // another process decided first (then that process undoes every file and id name).
    let ours = !undoneElsewhere;
    if (intent) {
      intent = decideUndo(store, bulk!, intent);
      if (intent === undefined) ours = false;
    }
    if (ours) rollback(store, list);
    else undoLeftovers(store, list, nowMs);
    // Jobs announced before a failure that undid them (a new bucket refused by a full disk) are
    // said to be gone, so a listener that heard `added` does not wait for them.
    for (const p of announced) {
      store.events.append('removed', { jobId: p.rec.id, prev: p.route.place === 'delayed' ? 'delayed' : 'waiting' });
      // A job this add was replacing, announced removed, is back where it was.
      if (p.replaced) announceRestored(store, p.replaced.id);
    }
    if (intent) tryUnlink(intent);
    if (commit) tryUnlink(commit);
    throw err;
  } finally {
    if (batch) store.stopDeferringDirSyncs();
  }
  // The other events (an existing job stands in) once the whole call has succeeded.
  const out: AddOutcome[] = [];
  const reschedules: [string, JobRecord][] = [];
  const keeps: [string, Prepared][] = [];
  for (const p of list) {
    const o = p.outcome;
    if (o) {
      if (o.reason === 'deduplicated') {
        if (!o.quiet) store.events.append('deduplicated', { jobId: o.rec.id, deduplicationId: p.spec.opts.deduplication!.id, deduplicatedJobId: o.deduplicatedJobId });
        if (p.keepAsNext) keeps.push([o.rec.id, p]);
        // BullMQ ignores `reschedule` when `replace` is set.
        if (p.spec.opts.deduplication!.reschedule && !p.spec.opts.deduplication!.replace) reschedules.push([o.rec.id, p.rec]);
      } else store.events.append('duplicated', { jobId: o.rec.id });
      out.push(o);
      continue;
    }
    if (p.replaced) finishReplacement(store, p);
    out.push({ rec: p.rec, added: true });
  }
  // Jobs kept for when their holder finishes (keepLastIfActive), once the call has succeeded.
  for (const [holderId, p] of keeps) {
    keepNext(store, { dedupId: p.spec.opts.deduplication!.id, id: p.rec.id, name: p.spec.name, data: p.spec.data, opts: p.spec.opts }, holderId);
  }
  // The call has succeeded: a reschedule that fails (a full disk) leaves the holder as it was
  // and is logged; it must not make a caller retry adds that were made.
  for (const [holderId, dropped] of reschedules) {
    try {
      rescheduleHolder(store, holderId, dropped);
    } catch (err) {
      store.logger.error('add:reschedule-failed', { queue: store.name, jobId: holderId, err });
    }
  }
  store.wakeLocal();
  return out;
}

/**
 * `deduplication.reschedule`: a holder that is delayed is re-filed to be due after the dropped
 * add's own delay, counted from its timestamp, with that delay stored (BullMQ's deduplicateJob).
 * A holder that is not delayed is left as it is.
 */
function rescheduleHolder(store: QueueStore, holderId: string, dropped: JobRecord): void {
  refileDelayed(store, holderId, dropped.timestamp + Math.max(0, dropped.delay), dropped.delay);
}

function appendAddedEvents(store: QueueStore, added: Prepared[]): void {
  for (const { rec, route } of added) {
    store.events.append('added', { jobId: rec.id, name: rec.name });
    if (route.place === 'delayed') store.events.append('delayed', { jobId: rec.id, delay: rec.timestamp + rec.delay });
    else store.events.append('waiting', { jobId: rec.id });
  }
}
