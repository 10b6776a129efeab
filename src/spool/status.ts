/**
 * `readSpoolStatus`: a cheap summary of a spool for health checks and `spoolkit status`. It lists
 * no directory whose size grows with the backlog: counts come from the per-leaf cache (one stat
 * per leaf), or for a big queue, when the caller allows it, from the counts live Workers publish
 * (published-counts.ts). It writes only those two caches, and reads each heartbeat file once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { countJobs, loadCountCache, saveCountCache, type JobCounts } from './counts.js';
import { isUsable, publishCounts, readPublishedCounts } from './published-counts.js';
import { resolveModes, rethrowFs, tryReaddir } from './fs.js';
import { readHeartbeats, type WorkerHeartbeat } from './heartbeat.js';
import { keyMs, lifoKeyTime } from './keys.js';
import { SetCursor } from './ordered-set.js';
import { readUsableSpoolMarker } from './root.js';
import { QueueStore } from './store.js';

/** Status of one queue. */
export interface QueueStatus {
  counts: JobCounts;
  /** Age in ms of the job that has waited longest to run, or null when none waits. */
  oldestWaitingAgeMs: number | null;
  paused: boolean;
  /** Completions in the last minute, as reported by live workers' heartbeats. */
  completedLastMinute: number;
  /** Final failures in the last minute, as reported by live workers' heartbeats. */
  failedLastMinute: number;
  /** Files quarantined as unparseable. */
  corrupt: number;
  /**
   * Age of `counts`: 0 when counted for this call, else the age of the counts a Worker published
   * for a big queue (published-counts.ts), read when the caller allows it.
   */
  countsAgeMs: number;
}

/** Status of a spool. */
export interface SpoolStatus {
  root: string;
  /** Format version from spool.json; null when spool.json is missing. */
  formatVersion: number | null;
  queues: Record<string, QueueStatus>;
  /** Every heartbeat file, with its age. */
  workers: WorkerHeartbeat[];
}

/** Queue names present in a spool. */
export function listQueues(root: string): string[] {
  return tryReaddir(path.join(root, 'queues'))
    .filter((n) => !n.startsWith('.'))
    .sort();
}

function oldestWaiting(store: QueueStore, nowMs: number): number | null {
  let oldest = Infinity;
  const head = new SetCursor(store.waiting, () => nowMs).peek();
  if (head) oldest = Math.min(oldest, keyMs(head.key));
  for (const p of store.priorities()) {
    const h = new SetCursor(store.prioritized(p), () => nowMs).peek();
    if (h) oldest = Math.min(oldest, keyMs(h.key));
  }
  const lastLifo = store.lifo.entries(true).next();
  if (!lastLifo.done) oldest = Math.min(oldest, lifoKeyTime(lastLifo.value.key));
  // A delayed job past its due time waits since then (only a worker promotes it).
  const firstDelayed = store.delayed.entries(false).next();
  if (!firstDelayed.done && keyMs(firstDelayed.value.key) <= nowMs) oldest = Math.min(oldest, keyMs(firstDelayed.value.key));
  return oldest === Infinity ? null : Math.max(0, nowMs - oldest);
}

/** Options of {@link readSpoolStatus}. */
export interface SpoolStatusOptions {
  /** Only these queues (default: every queue of the spool). */
  queues?: string[];
  nowMs?: number;
  /**
   * Take a big queue's counts from what live Workers published in the last few seconds instead
   * of counting them (the health check: a count stats every leaf of a big backlog). Default false:
   * every count is made for this call.
   */
  publishedCounts?: boolean;
}

/**
 * A queue's counts: published ones when allowed and usable, else counted now (and published for
 * the next reader when the queue is big). The persisted leaf cache is read and written back only
 * when counting.
 */
function queueCounts(store: QueueStore, nowMs: number, allowPublished: boolean): { counts: JobCounts; ageMs: number } {
  const published = readPublishedCounts(store);
  if (allowPublished && published && isUsable(published, nowMs)) return { counts: published.counts, ageMs: Math.max(0, nowMs - published.countedAt) };
  const started = Date.now();
  const cache = loadCountCache(store);
  const walked = { leaves: 0 };
  const counts = countJobs(store, nowMs, cache, undefined, walked);
  if (cache.changed) saveCountCache(store, cache);
  publishCounts(store, { countedAt: started, counts, leaves: walked.leaves, tookMs: Date.now() - started }, published);
  return { counts, ageMs: 0 };
}

/**
 * Checks readSpoolStatus's arguments: a queue list given as a string was read letter by letter
 * (a status per letter, each an empty queue), and a root that is not a path threw a Node TypeError.
 */
function checkStatusArgs(root: unknown, queues: unknown): void {
  if (typeof root !== 'string' || root === '') throw new ConfigError(`readSpoolStatus: pass the spool root as a path, e.g. readSpoolStatus(resolveSpoolRoot()); got ${typeof root}.`);
  // null is every queue, as it was before the list was checked (`queues ?? listQueues(root)`).
  if (queues !== undefined && queues !== null && !(Array.isArray(queues) && queues.every((q) => typeof q === 'string'))) {
    throw new ConfigError(`readSpoolStatus: queues must be an array of queue names, e.g. { queues: ['emails'] }; got ${JSON.stringify(queues) ?? typeof queues}.`);
  }
}

/** Reads the status of a spool (all queues, or those named). */
export async function readSpoolStatus(root: string, opts: SpoolStatusOptions = {}): Promise<SpoolStatus> {
  checkStatusArgs(root, opts.queues);
  const nowMs = opts.nowMs ?? Date.now();
  // A spool of a newer format is refused before its count caches are written.
  const formatVersion = readUsableSpoolMarker(root)?.version ?? null;
  const workers = readHeartbeats(root, nowMs);
  const names = opts.queues ?? listQueues(root);
  const modes = resolveModes(undefined);
  const queues: Record<string, QueueStatus> = {};
  for (const name of names) {
    const dir = path.join(root, 'queues', name);
    const exists = fs.existsSync(dir);
    let completedLastMinute = 0;
    let failedLastMinute = 0;
    for (const w of workers) {
      const r = w.recent?.[name];
      if (r && w.ageMs < 60_000) {
        completedLastMinute += r.completed;
        failedLastMinute += r.failed;
      }
    }
    if (!exists) {
      queues[name] = {
        counts: { waiting: 0, active: 0, delayed: 0, prioritized: 0, completed: 0, failed: 0, 'waiting-children': 0 },
        oldestWaitingAgeMs: null,
        paused: false,
        completedLastMinute,
        failedLastMinute,
        corrupt: 0,
        countsAgeMs: 0,
      };
      continue;
    }
    // A queue directory this uid cannot read is named as such (not as a cache it cannot write).
    try {
      fs.accessSync(dir, fs.constants.R_OK | fs.constants.X_OK);
    } catch (err) {
      rethrowFs(err, dir);
    }
    const store = QueueStore.openReadOnly(root, name, modes);
    const { counts, ageMs } = queueCounts(store, nowMs, opts.publishedCounts === true);
    queues[name] = {
      counts,
      countsAgeMs: ageMs,
      oldestWaitingAgeMs: oldestWaiting(store, nowMs),
      paused: store.isPaused(),
      completedLastMinute,
      failedLastMinute,
      corrupt: tryReaddir(path.join(dir, 'corrupt')).length,
    };
  }
  return { root, formatVersion, queues, workers };
}
