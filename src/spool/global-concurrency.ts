/**
 * The queue's global concurrency (BullMQ's `setGlobalConcurrency`): at most N jobs active at once
 * across every worker of the queue, in any process sharing the spool.
 *
 * The limit lives in `<queue>/concurrency.json`. A worker under it claims only while holding
 * `<queue>/concurrency.lock` (created exclusively, held for a listing and a few renames; one left
 * by a killed process is broken once 10 s old): it counts `active/` and claims no more than the
 * room left. Jobs enter `active/` only by such claims, and leave it in any order, so the count is
 * never exceeded.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isErrno, rethrowFs, tryUnlink } from './fs.js';
import { readSetting, removeSetting, writeSetting } from './queue-settings.js';
import { takeLock } from './id-lock.js';
import type { QueueStore } from './store.js';

const SETTING = 'concurrency.json';

/** The queue's global concurrency, or undefined. */
export function readGlobalConcurrency(store: QueueStore): number | undefined {
  const v = (readSetting(store, SETTING) as { concurrency?: unknown } | undefined)?.concurrency;
  return typeof v === 'number' && Number.isInteger(v) && v >= 1 ? v : undefined;
}

/** Sets the queue's global concurrency. True when there was none. */
export function writeGlobalConcurrency(store: QueueStore, concurrency: number): boolean {
  return writeSetting(store, SETTING, { concurrency });
}

/** Removes the queue's global concurrency. True when there was one. */
export function removeGlobalConcurrency(store: QueueStore): boolean {
  return removeSetting(store, SETTING);
}

/** Jobs in `active/` now (claimed, whoever holds them, including a dead worker's until reclaimed). */
export function activeCount(store: QueueStore): number {
  let names: string[];
  try {
    names = fs.readdirSync(path.join(store.dir, 'active'));
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return 0;
    return rethrowFs(err, path.join(store.dir, 'active'));
  }
  let n = 0;
  for (const name of names) if (name.endsWith('.json')) n++;
  return n;
}

/**
 * Runs `fn` with the room left under the global concurrency `limit` while holding the claim lock;
 * undefined when another process holds it (try again shortly).
 */
export function withClaimRoom<T>(store: QueueStore, limit: number, fn: (room: number) => T): T | undefined {
  const lock = path.join(store.dir, 'concurrency.lock');
  if (!takeLock(store, lock, Date.now())) return undefined;
  try {
    return fn(Math.max(0, limit - activeCount(store)));
  } finally {
    tryUnlink(lock);
  }
}
