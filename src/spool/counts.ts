/**
 * Job counts without listing big directories: ordered sets are counted leaf by leaf with a cache
 * keyed by each leaf's mtime (ordered-set.ts), so only leaves that changed are re-listed. The
 * flat directories (active, completed, failed) are bounded by concurrency and retention.
 * Short-lived processes (the health check) keep the cache in `<queue>/counts-cache.json`.
 */
import path from 'node:path';
import { tryReadText, tryReaddir } from './fs.js';
import type { CountCache } from './ordered-set.js';
import { isDiscardName } from './keys.js';
import type { QueueStore } from './store.js';

/** Counts per BullMQ v6 state. */
export interface JobCounts {
  waiting: number;
  active: number;
  delayed: number;
  prioritized: number;
  completed: number;
  failed: number;
  'waiting-children': number;
}

const memo = new Map<string, CountCache>();

function cacheFor(store: QueueStore): CountCache {
  let c = memo.get(store.dir);
  if (!c) {
    c = new Map();
    memo.set(store.dir, c);
  }
  return c;
}

function countJsonFiles(dir: string): number {
  let n = 0;
  for (const name of tryReaddir(dir)) if (name.endsWith('.json') && !isDiscardName(name)) n++;
  return n;
}

/**
 * True when the queue is drained as BullMQ's event log means it: nothing active and nothing
 * delayed (the caller has just found nothing waiting). Read when a worker goes idle, not per job.
 */
export function isDrained(store: QueueStore): boolean {
  if (countJsonFiles(path.join(store.dir, 'active')) + countJsonFiles(path.join(store.dir, 'reclaiming')) > 0) return false;
  return store.delayed.entries(false).next().done === true;
}

/**
 * Jobs waiting to run at each of `priorities` (0: jobs without a priority, LIFO ones included),
 * through the same cached leaf counts as countJobs; only the sets asked for are read.
 */
export function countPerPriority(store: QueueStore, priorities: number[], nowMs = Date.now()): Record<string, number> {
  const cache = cacheFor(store);
  const known = new Set(store.priorities());
  const out: Record<string, number> = {};
  for (const p of new Set(priorities)) {
    if (p === 0) out[`${p}`] = store.waiting.count(cache, nowMs, store.dir) + store.lifo.count(cache, nowMs, store.dir);
    else out[`${p}`] = known.has(p) ? store.prioritized(p).count(cache, nowMs, store.dir) : 0;
  }
  return out;
}

/** Counts every state of a queue. */
export function countJobs(store: QueueStore, nowMs = Date.now(), cache: CountCache = cacheFor(store)): JobCounts {
  let prioritized = 0;
  for (const p of store.priorities()) prioritized += store.prioritized(p).count(cache, nowMs, store.dir);
  return {
    waiting: store.waiting.count(cache, nowMs, store.dir) + store.lifo.count(cache, nowMs, store.dir),
    active: countJsonFiles(path.join(store.dir, 'active')) + countJsonFiles(path.join(store.dir, 'reclaiming')),
    delayed: store.delayed.count(cache, nowMs, store.dir),
    prioritized,
    completed: countJsonFiles(path.join(store.dir, 'completed')),
    failed: countJsonFiles(path.join(store.dir, 'failed')),
    'waiting-children': 0,
  };
}

/** Loads the persisted count cache of a queue (empty when missing or unreadable). */
export function loadCountCache(store: QueueStore): CountCache {
  const text = tryReadText(path.join(store.dir, 'counts-cache.json'));
  const cache: CountCache = new Map();
  if (!text) return cache;
  try {
    const obj = JSON.parse(text) as Record<string, [string, number]>;
    for (const [k, v] of Object.entries(obj)) if (Array.isArray(v)) cache.set(k, { mtimeNs: String(v[0]), count: Number(v[1]) });
  } catch {
    // a torn cache is just a cold cache
  }
  return cache;
}

/** Persists the count cache (best effort). */
export function saveCountCache(store: QueueStore, cache: CountCache): void {
  const obj: Record<string, [string, number]> = {};
  for (const [k, v] of cache) obj[k] = [v.mtimeNs, v.count];
  try {
    store.writeAtomic(path.join(store.dir, 'counts-cache.json'), JSON.stringify(obj));
  } catch {
    // read-only spool or a race with obliterate: the next run recounts
  }
}
