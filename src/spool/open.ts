/**
 * Resolving spool options once at a class boundary: the root path, durability, file modes, and
 * the queue's store.
 */
import { ConfigError } from '../errors.js';
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

const INLINE_ON = ['1', 'true', 'yes', 'on'];
/** `off` too: before values were checked it read as off, as meant, and a .env may say so. */
const INLINE_OFF = ['', '0', 'false', 'no', 'off'];

/**
 * True when `SPOOLKIT_INLINE` asks for inline mode. Any other value than those listed is refused:
 * one such as `enabled` read as off, and add() then queued jobs a test expected to run at once.
 */
export function inlineFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const raw = env.SPOOLKIT_INLINE ?? '';
  const v = raw.trim().toLowerCase();
  if (INLINE_ON.includes(v)) return true;
  if (INLINE_OFF.includes(v)) return false;
  throw new ConfigError(`SPOOLKIT_INLINE must be 1, true, yes or on (inline mode) or 0, false, no, off or unset; got ${JSON.stringify(raw)}. Fix or unset the variable.`);
}
