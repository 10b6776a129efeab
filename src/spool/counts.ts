/**
 * Job counts without listing big directories: ordered sets are counted leaf by leaf with a cache
 * keyed by each leaf's mtime (ordered-set.ts), so only leaves that changed are re-listed. The
 * flat directories (active, completed, failed) are bounded by concurrency and retention.
 * Short-lived processes (the health check) keep the cache in `<queue>/counts-cache.json`.
 */
import path from 'node:path';
import { tryReadText, tryReaddir } from './fs.js';
import type { CountCache, LeafCount } from './ordered-set.js';
import { isDiscardName, isSetHoldName } from './keys.js';
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

/**
 * This process's count cache of a queue. The first use starts from the queue's persisted cache
 * (`counts-cache.json`, kept by health checks and by earlier processes), so a process that has
 * just started re-lists only the leaves that changed since, not every leaf of a big backlog.
 */
function cacheFor(store: QueueStore): { cache: CountCache; cold: boolean } {
  let cache = memo.get(store.dir);
  if (cache) return { cache, cold: false };
  cache = loadCountCache(store);
  memo.set(store.dir, cache);
  return { cache, cold: true };
}

/** A count cache that notes whether a pass changed it (cheaper than comparing tens of thousands of entries). */
export class WatchedCache extends Map<string, LeafCount> {
  changed = false;
  override set(key: string, value: LeafCount): this {
    this.changed = true;
    return super.set(key, value);
  }
  override delete(key: string): boolean {
    const had = super.delete(key);
    if (had) this.changed = true;
    return had;
  }
}

/** Counts of some states, and what the count cost. */
export interface CountResult {
  counts: JobCounts;
  /** Leaf directories stat'ed. */
  leaves: number;
}

/**
 * Counts states with this process's count cache: with `only` the states asked for (others are 0,
 * and not read). Also says how many leaf directories the count stat'ed (what it cost).
 */
export function countStates(store: QueueStore, only?: ReadonlySet<string>): CountResult {
  const { cache, cold } = cacheFor(store);
  const walked = { leaves: 0 };
  const counts = countJobs(store, Date.now(), cache, only, walked);
  // The first pass of a process may have listed many leaves: it leaves them to the next process.
  if (cold && cache instanceof WatchedCache && cache.changed) saveCountCache(store, cache);
  return { counts, leaves: walked.leaves };
}

function countJsonFiles(dir: string): number {
  let n = 0;
  for (const name of tryReaddir(dir)) if (name.endsWith('.json') && !isDiscardName(name)) n++;
  return n;
}

/** Active jobs held in `reclaiming/` (by a stalled check, or a move of an active job), not jobs held between two sets. */
function countActiveHolds(dir: string): number {
  let n = 0;
  for (const name of tryReaddir(dir)) if (name.endsWith('.json') && !isDiscardName(name) && !isSetHoldName(name)) n++;
  return n;
}

/**
 * True when the queue is drained as BullMQ's event log means it: nothing waiting (a paused
 * queue's jobs, or one added since the caller's empty claim, count), nothing prioritized, nothing
 * active and nothing delayed. Read when a worker goes idle, not per job: each set's first entry.
 */
export function isDrained(store: QueueStore): boolean {
  return !hasActiveOrDelayedJobs(store) && !hasReadyJobs(store);
}

/** True when a job is active (or held by a stalled check) or delayed: isDrained's part besides hasReadyJobs. */
export function hasActiveOrDelayedJobs(store: QueueStore): boolean {
  if (countJsonFiles(path.join(store.dir, 'active')) + countJsonFiles(path.join(store.dir, 'reclaiming')) > 0) return true;
  return store.delayed.entries(false).next().done !== true;
}

/** True when a job waits to run now: waiting, LIFO or prioritized (a paused queue's jobs count). Each set's first entry. */
export function hasReadyJobs(store: QueueStore): boolean {
  const sets = [store.waiting, store.lifo, ...store.priorities().map((p) => store.prioritized(p))];
  return sets.some((set) => set.entries(false).next().done !== true);
}

/**
 * Jobs waiting to run at each of `priorities` (0: jobs without a priority, LIFO ones included),
 * through the same cached leaf counts as countJobs; only the sets asked for are read.
 */
export function countPerPriority(store: QueueStore, priorities: number[], nowMs = Date.now()): Record<string, number> {
  const { cache } = cacheFor(store);
  const known = new Set(store.priorities());
  const out: Record<string, number> = {};
  for (const p of new Set(priorities)) {
    if (p === 0) out[`${p}`] = store.waiting.count(cache, nowMs, store.dir) + store.lifo.count(cache, nowMs, store.dir);
    else out[`${p}`] = known.has(p) ? store.prioritized(p).count(cache, nowMs, store.dir) : 0;
  }
  return out;
}

/**
 * Counts every state of a queue, or with `only` just those states (the others are 0 and nothing
 * of theirs is read: a single count does not pay for every set).
 */
export function countJobs(
  store: QueueStore,
  nowMs = Date.now(),
  cache: CountCache = cacheFor(store).cache,
  only?: ReadonlySet<string>,
  walked?: { leaves: number },
): JobCounts {
  const want = (state: keyof JobCounts): boolean => !only || only.has(state);
  let prioritized = 0;
  if (want('prioritized')) for (const p of store.priorities()) prioritized += store.prioritized(p).count(cache, nowMs, store.dir, walked);
  return {
    waiting: want('waiting') ? store.waiting.count(cache, nowMs, store.dir, walked) + store.lifo.count(cache, nowMs, store.dir, walked) : 0,
    active: want('active') ? countJsonFiles(path.join(store.dir, 'active')) + countActiveHolds(path.join(store.dir, 'reclaiming')) : 0,
    delayed: want('delayed') ? store.delayed.count(cache, nowMs, store.dir, walked) : 0,
    prioritized,
    completed: want('completed') ? countJsonFiles(path.join(store.dir, 'completed')) : 0,
    failed: want('failed') ? countJsonFiles(path.join(store.dir, 'failed')) : 0,
    'waiting-children': want('waiting-children') ? countJsonFiles(path.join(store.dir, 'waiting-children')) : 0,
  };
}

/** Loads the persisted count cache of a queue (empty when missing or unreadable). */
export function loadCountCache(store: QueueStore): WatchedCache {
  const text = tryReadText(path.join(store.dir, 'counts-cache.json'));
  const cache = new WatchedCache();
  if (!text) return cache;
  try {
    const obj = JSON.parse(text) as Record<string, [string, number]>;
    for (const [k, v] of Object.entries(obj)) if (Array.isArray(v)) cache.set(k, { mtimeNs: String(v[0]), count: Number(v[1]) });
  } catch {
    // a torn cache is just a cold cache
  }
  cache.changed = false;
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
