/**
 * Counts for the Queue API without stalling the caller's event loop on a big backlog.
 *
 * A count stats every leaf directory of the sets it reads (counts.ts): about 4 us each here, so a
 * queue whose backlog spans a day of one-second leaves costs a web process a third of a second per
 * `getJobCounts`. Once a count of the same states has walked many leaves (or, before this
 * process's first count, the queue's published counts say so), the count runs on the process's
 * helper thread (retention-thread.ts) instead; a small count stays here, where it costs less than
 * the round trip. Either way the counts are exact when the call resolves.
 */
import { countStates, type CountResult, type JobCounts } from './counts.js';
import { readPublishedCounts } from './published-counts.js';
import { countOnThread } from './retention-thread.js';
import type { QueueStore } from './store.js';

/** A count expected to stat this many leaves or more runs on the helper thread (about 4 ms of stats here). */
export const OFF_THREAD_MIN_LEAVES = 1024;

/** Leaves walked by the last count of each queue and set of states in this process. */
const lastWalk = new Map<string, number>();

/** Counts states of `store` (all, or `only` those) as countStates does, off this thread when the count is big. */
export async function countStatesAsync(store: QueueStore, only?: ReadonlySet<string>): Promise<JobCounts> {
  const key = `${store.dir}\0${only ? [...only].sort().join(',') : '*'}`;
  const expected = lastWalk.get(key) ?? readPublishedCounts(store)?.leaves ?? 0;
  let result: CountResult | undefined;
  if (expected >= OFF_THREAD_MIN_LEAVES) {
    // A thread that cannot run, or ended mid-count, leaves the count to this thread (which
    // also reports a spool error the thread met, as a count here would have).
    result = await countOnThread(store, only).catch(() => undefined);
  }
  result ??= countStates(store, only);
  lastWalk.set(key, result.leaves);
  return result.counts;
}
