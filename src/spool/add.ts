/**
 * Enqueueing. One job costs one new file (its only inode for life): written in tmp/, hard-linked
 * into the id index (`link` fails with EEXIST when the id is taken: the atomic `jobId` dedup
 * across processes), then renamed into its set, the moment it becomes visible. If the process
 * dies between the link and the rename, the stalled checker finds the temp file and finishes the
 * rename (reclaim.ts); an index entry with no other name is a leftover that `add` replaces once it
 * is older than `STALE_ID_MS`.
 */
import fs from 'node:fs';
import { SpoolkitError } from '../errors.js';
import type { JobsOptions } from '../types.js';
import { isErrno, rethrowFs, tryReadText, tryUnlink, writeNewFileQuick } from './fs.js';
import { IdAllocator } from './id-alloc.js';
import { validateJobOptions } from './job-options.js';
import { locate } from './lookup.js';
import { RECORD_VERSION, serializeRecord, type JobRecord } from './record.js';
import { delayedRoute, readyRoute, type Route } from './routing.js';
import { dedupFile, type QueueStore } from './store.js';
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
}

interface Prepared {
  spec: AddSpec;
  rec: JobRecord;
  dataJson: string;
  route: Route;
  idTaken?: boolean;
  dedupPath?: string;
  tmp?: string;
  published?: boolean;
  outcome?: AddOutcome;
}

function prepare(store: QueueStore, spec: AddSpec, nowMs: number): Prepared {
  assertJobName(spec.name);
  const opts = spec.opts;
  validateJobOptions(opts, spec.name);
  if (opts.jobId !== undefined) assertJobId(opts.jobId, spec.reserved);
  const dataJson = toJsonStrict(spec.data, 'job data');
  if (opts.sizeLimit !== undefined && Buffer.byteLength(dataJson) > opts.sizeLimit) {
    throw new SpoolkitError('ERR_INVALID_JOB', `The size of job ${spec.name} exceeds the limit ${opts.sizeLimit} bytes (${Buffer.byteLength(dataJson)} bytes of JSON data); send less data or store it elsewhere and pass a reference.`);
  }
  const timestamp = opts.timestamp ?? nowMs;
  const delay = opts.delay ?? 0;
  const priority = opts.priority ?? 0;
  const rec: JobRecord = {
    v: RECORD_VERSION,
    id: opts.jobId ?? '',
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
  if (opts.repeatJobKey) rec.repeatJobKey = opts.repeatJobKey;
  const route = delay > 0 ? delayedRoute(store, timestamp + delay, priority, !!opts.lifo) : readyRoute(store, priority, !!opts.lifo);
  return { spec, rec, dataJson, route };
}

function destOf(p: Prepared): string {
  return p.route.set.pathFor(p.route.key, p.rec.id);
}

function writeJobTmp(store: QueueStore, p: Prepared): void {
  p.rec.at = store.rel(destOf(p));
  p.tmp = store.writeJobTmp(serializeRecord(p.rec, p.dataJson));
}

/** Takes the deduplication key, or returns the id of the job holding it. */
function takeDedup(store: QueueStore, p: Prepared, nowMs: number): string | undefined {
  const d = p.spec.opts.deduplication;
  if (!d) return undefined;
  const file = dedupFile(store, d.id);
  const body = JSON.stringify({ id: d.id, jobId: p.rec.id, expiresAt: d.ttl ? nowMs + d.ttl : null });
  for (let i = 0; i < 5; i++) {
    try {
      writeNewFileQuick(file, body, store.modes, store.durable);
      p.dedupPath = file;
      return undefined;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) {
        store.ensureDirs();
        continue;
      }
      if (!isErrno(err, 'EEXIST')) rethrowFs(err, file);
    }
    const held = readDedup(file);
    if (held && (held.expiresAt === null || held.expiresAt > nowMs)) {
      // Simple mode holds the key until the job finishes; a key whose job is gone is stale.
      if (held.expiresAt !== null || locate(store, held.jobId)) return held.jobId;
    }
    tryUnlink(file);
  }
  throw new SpoolkitError('ERR_SPOOL_UNWRITABLE', `Could not take deduplication key ${JSON.stringify(d.id)} after several tries; another process keeps replacing it.`);
}

/** Reads a deduplication key file; undefined when missing or unreadable. */
export function readDedup(file: string): { id: string; jobId: string; expiresAt: number | null } | undefined {
  const text = tryReadText(file);
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as { id: string; jobId: string; expiresAt: number | null };
    return typeof v.jobId === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Links the job's temp file into the id index; false when a live job already holds the id. */
function takeId(store: QueueStore, p: Prepared, nowMs: number): boolean {
  if (store.linkIdEntry(p.tmp!, p.rec.id)) return true;
  // An index entry that is the job's only name is a leftover (removal or add interrupted) once old enough.
  try {
    const st = fs.statSync(store.idPath(p.rec.id));
    if (st.nlink > 1 || nowMs - st.ctimeMs < STALE_ID_MS) return false;
  } catch {
    // gone meanwhile: try again below
  }
  store.removeIdEntry(p.rec.id);
  return store.linkIdEntry(p.tmp!, p.rec.id);
}

function rollback(store: QueueStore, list: Prepared[]): void {
  for (const p of list) {
    try {
      if (p.tmp && !p.published) tryUnlink(p.tmp);
      if (p.published) tryUnlink(destOf(p));
      if (p.idTaken) store.removeIdEntry(p.rec.id);
      if (p.dedupPath) tryUnlink(p.dedupPath);
    } catch {
      // best effort: the original error is what the caller needs
    }
  }
}

/**
 * Adds jobs, all or nothing: every check and every temp file is done before the first job is
 * published; on an error, what was done is undone and the error is thrown.
 */
export function addJobs(store: QueueStore, specs: AddSpec[], nowMs = Date.now()): AddOutcome[] {
  const list = specs.map((s) => prepare(store, s, nowMs));
  const alloc = IdAllocator.for(store);
  // Durable bulk adds fsync each touched directory once per phase instead of once per job.
  const batch = list.length > 1;
  if (batch) store.deferDirSyncs();
  try {
    for (const p of list) {
      if (p.rec.id === '') p.rec.id = alloc.take();
      const holder = takeDedup(store, p, nowMs);
      if (holder !== undefined) {
        p.outcome = { rec: { ...p.rec, id: holder }, added: false, reason: 'deduplicated', deduplicatedJobId: p.rec.id };
        continue;
      }
      writeJobTmp(store, p);
      if (p.spec.opts.jobId !== undefined) {
        if (!takeId(store, p, nowMs)) {
          tryUnlink(p.tmp!);
          p.tmp = undefined;
          if (p.dedupPath) tryUnlink(p.dedupPath);
          p.dedupPath = undefined;
          p.outcome = { rec: p.rec, added: false, reason: 'duplicated' };
          continue;
        }
      } else {
        for (let i = 0; !store.linkIdEntry(p.tmp!, p.rec.id); i++) {
          if (i > 100) throw new SpoolkitError('ERR_SPOOL_CORRUPT', `The id counter of queue ${store.name} is behind its jobs; fix ${store.dir}/seq.`);
          tryUnlink(p.tmp!);
          p.rec.id = alloc.take();
          writeJobTmp(store, p);
        }
      }
      p.idTaken = true;
    }
    // Every id name is durable before any job becomes visible.
    if (batch) store.syncDeferredDirs();
    for (const p of list) {
      if (!p.tmp || !p.idTaken) continue;
      store.publish(p.tmp, destOf(p));
      p.published = true;
    }
    if (batch) store.syncDeferredDirs();
  } catch (err) {
    rollback(store, list);
    throw err;
  } finally {
    if (batch) store.stopDeferringDirSyncs();
  }
  // Events only once the whole call has succeeded: a call that was undone told nobody anything.
  const out: AddOutcome[] = [];
  for (const p of list) {
    const o = p.outcome;
    if (o) {
      if (o.reason === 'deduplicated') store.events.append('deduplicated', { jobId: o.rec.id, deduplicationId: p.spec.opts.deduplication!.id, deduplicatedJobId: o.deduplicatedJobId });
      else store.events.append('duplicated', { jobId: o.rec.id });
      out.push(o);
      continue;
    }
    const { rec } = p;
    store.events.append('added', { jobId: rec.id, name: rec.name });
    if (p.route.place === 'delayed') store.events.append('delayed', { jobId: rec.id, delay: rec.timestamp + rec.delay });
    else store.events.append('waiting', { jobId: rec.id });
    out.push({ rec, added: true });
  }
  store.wakeLocal();
  return out;
}
