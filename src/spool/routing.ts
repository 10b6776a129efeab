/**
 * Which ordered set a job goes to, under which key (BullMQ's routing):
 * - delay > 0: `delayed`, keyed by due time, with the set it is promoted to encoded in the key's
 *   last field (`w` waiting, `l` lifo, `p<priority>` prioritized), so promotion needs no read;
 * - priority > 0: `prioritized/<priority>`, FIFO within a priority;
 * - lifo: `lifo`, served before `waiting`;
 * - else `waiting`, FIFO.
 */
import { fifoKey, keyMs, lifoKey } from './keys.js';
import type { OrderedSet } from './ordered-set.js';
import type { Place, QueueStore } from './store.js';

/** A destination set and the key to file the job under. */
export interface Route {
  place: Place;
  set: OrderedSet;
  key: string;
}

const MAX_MS = 9_999_999_999_999;
const COUNTER_MAX = 36 ** 8 - 1;

/** Routes a job that is ready to run now. `front` puts a FIFO job first (stalled jobs, as in BullMQ). */
export function readyRoute(store: QueueStore, priority: number, lifo: boolean, front = false): Route {
  if (priority > 0) return { place: 'prioritized', set: store.prioritized(priority), key: fifoKey() };
  if (lifo || front) return { place: 'lifo', set: store.lifo, key: lifoKey() };
  return { place: 'waiting', set: store.waiting, key: fifoKey() };
}

/**
 * Routes a job to the front of the whole queue, whatever its priority: a stalled job, as BullMQ's
 * stalled check pushes it to the front of its wait list (a prioritized one too).
 */
export function frontRoute(store: QueueStore): Route {
  return { place: 'lifo', set: store.lifo, key: lifoKey() };
}

/** Routes a job due at `dueMs`. */
export function delayedRoute(store: QueueStore, dueMs: number, priority: number, lifo: boolean): Route {
  const dest = priority > 0 ? `p${priority}` : lifo ? 'l' : 'w';
  return { place: 'delayed', set: store.delayed, key: `${fifoKey(dueMs)}-${dest}` };
}

/** The LIFO key a delayed key maps to on promotion (deterministic, so lookups can follow it). */
export function lifoKeyFromDelayed(key: string): string {
  const parts = key.split('-');
  const ms = keyMs(key);
  const n = Number.parseInt(parts[1] ?? '0', 36);
  return `${String(MAX_MS - ms).padStart(13, '0')}-${(COUNTER_MAX - n).toString(36).padStart(8, '0')}-${parts[2] ?? '0000'}-l`;
}
