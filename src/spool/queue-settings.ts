/**
 * Small per-queue setting files (`rate-limit.json`, `concurrency.json`): written whole (temp file
 * and rename), read by workers every 50 ms with the pause marker, so a missing file costs one
 * `access(2)` and no exception.
 */
import fs from 'node:fs';
import path from 'node:path';
import { tryReadJson, tryUnlink } from './fs.js';
import type { QueueStore } from './store.js';

/** The parsed setting `name` of the queue, or undefined when it is missing or unreadable. */
export function readSetting(store: QueueStore, name: string): unknown {
  const file = path.join(store.dir, name);
  return fs.existsSync(file) ? tryReadJson(file) : undefined;
}

/** Writes the setting whole; true when the queue had none. */
export function writeSetting(store: QueueStore, name: string, value: unknown): boolean {
  const file = path.join(store.dir, name);
  const had = fs.existsSync(file);
  store.writeAtomic(file, JSON.stringify(value));
  return !had;
}

/** Removes the setting; true when there was one. */
export function removeSetting(store: QueueStore, name: string): boolean {
  return tryUnlink(path.join(store.dir, name));
}
