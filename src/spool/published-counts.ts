/**
 * Counts published for cheap readers: `<queue>/counts.json`.
 *
 * A count stats every leaf of every set (counts.ts), about 4 us each here: a day of delayed jobs
 * spread over 86,400 one-second leaves costs a third of a second, and the health check runs every
 * few seconds in every container. So a full count leaves its result behind, and once a count has
 * walked many leaves, live Workers refresh it on their helper thread (retention-thread.ts) and
 * health reads it instead of counting. A small queue is always counted by its reader: exact, and
 * cheaper than the file is worth.
 */
import path from 'node:path';
import { tryReadText } from './fs.js';
import { countStates, type JobCounts } from './counts.js';
import type { QueueStore } from './store.js';

/** What `counts.json` holds. */
export interface PublishedCounts {
  /** When the count started (ms since the epoch). */
  countedAt: number;
  counts: JobCounts;
  /** Leaf directories the count walked: what a reader would pay for counting itself. */
  leaves: number;
  /** How long the count took, in ms. */
  tookMs: number;
}

/** Below this many leaves a reader counts for itself (about 20 ms of stats here). */
export const PUBLISH_MIN_LEAVES = 4096;

/** Workers recount at most this often, and at least 20 times less often than a count takes. */
const MIN_INTERVAL_MS = 5000;
/** How often a Worker reads `counts.json` to see whether a count is due. */
export const WORKER_CHECK_MS = 5000;
/** Slack a reader allows past the interval: the Workers' check period plus a count's own time. */
const READER_SLACK_MS = WORKER_CHECK_MS + 5000;

const STATES: readonly (keyof JobCounts)[] = ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed', 'waiting-children'];

function countsFile(store: QueueStore): string {
  return path.join(store.dir, 'counts.json');
}

/** The published counts of a queue, or undefined when missing, torn or not this shape. */
export function readPublishedCounts(store: QueueStore): PublishedCounts | undefined {
  const text = tryReadText(countsFile(store));
  if (!text) return undefined;
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!obj || typeof obj !== 'object') return undefined;
  const o = obj as Record<string, unknown>;
  const c = o.counts as Record<string, unknown> | undefined;
  if (!isCount(o.countedAt) || !isCount(o.leaves) || !isCount(o.tookMs) || !c || typeof c !== 'object') return undefined;
  const counts = {} as JobCounts;
  for (const s of STATES) {
    const v = c[s] ?? 0;
    if (!isCount(v)) return undefined;
    counts[s] = v;
  }
  return { countedAt: o.countedAt, counts, leaves: o.leaves, tookMs: o.tookMs };
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** How often Workers refresh a count that took `tookMs`: at most 5 % of a core. */
export function publishIntervalMs(p: Pick<PublishedCounts, 'tookMs'>): number {
  return Math.max(MIN_INTERVAL_MS, 20 * p.tookMs);
}

/** True when a reader may use `p` instead of counting: the queue is big and the count is recent. */
export function isUsable(p: PublishedCounts, nowMs: number): boolean {
  if (p.leaves < PUBLISH_MIN_LEAVES) return false;
  const age = nowMs - p.countedAt;
  return age >= -1000 && age <= publishIntervalMs(p) + READER_SLACK_MS;
}

/** True when a Worker should refresh `p`: the queue is big and the count is due. */
export function isDue(p: PublishedCounts, nowMs: number): boolean {
  if (p.leaves < PUBLISH_MIN_LEAVES) return false;
  const age = nowMs - p.countedAt;
  return age < -1000 || age >= publishIntervalMs(p);
}

/**
 * Publishes a full count (best effort: a read-only spool or a race with obliterate only means the
 * next reader counts). A small count is written only over a published big one, so that Workers
 * stop refreshing a queue that has shrunk; otherwise nobody needs it.
 */
export function publishCounts(store: QueueStore, p: PublishedCounts, previous = readPublishedCounts(store)): void {
  if (p.leaves < PUBLISH_MIN_LEAVES && !(previous && previous.leaves >= PUBLISH_MIN_LEAVES)) return;
  try {
    store.writeAtomic(countsFile(store), JSON.stringify(p));
  } catch {
    // the next reader counts for itself
  }
}

/**
 * Counts states of `store` (all, or `only` those) with this process's count cache; a count of
 * every state is published.
 */
export function countAndPublish(store: QueueStore, only?: ReadonlySet<string>): PublishedCounts {
  const countedAt = Date.now();
  const { counts, leaves } = countStates(store, only);
  const p: PublishedCounts = { countedAt, counts, leaves, tookMs: Date.now() - countedAt };
  if (!only) publishCounts(store, p);
  return p;
}
