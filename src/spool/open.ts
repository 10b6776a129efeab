/**
 * Resolving spool options once at a class boundary: the root path, durability, file modes, and
 * the queue's store.
 */
import type { Logger } from '../log.js';
import type { SpoolOptions } from '../types.js';
import { resolveModes } from './fs.js';
import { resolveDurability, resolveSpoolRoot } from './root.js';
import { QueueStore } from './store.js';
import { assertQueueName } from './validate.js';

/** Opens the store for queue `name` with the spool options of a Queue, Worker or QueueEvents. */
export function openQueueStore(name: string, opts: SpoolOptions, logger?: Logger): QueueStore {
  assertQueueName(name);
  const root = resolveSpoolRoot(opts.spool);
  const durability = resolveDurability(opts.durability);
  const modes = resolveModes(opts.umask);
  return QueueStore.open(root, name, { durability, modes, ...(logger ? { logger } : {}) });
}

/** True when `SPOOLKIT_INLINE` asks for inline mode. */
export function inlineFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env.SPOOLKIT_INLINE ?? '').toLowerCase();
  return v === '1' || v === 'true' || v === 'yes';
}
