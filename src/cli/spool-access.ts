/**
 * How CLI commands reach the spool: the root must already exist (an operator command never
 * creates a stray spool at a mistyped path), and the queue core is imported only when a command
 * runs.
 */
import { existsSync, statSync } from 'node:fs';
import { spoolRootFrom } from '../config.js';
import { ConfigError, UsageError } from '../errors.js';
import { readUsableSpoolMarker } from '../spool/root.js';
import type { SpoolStatusInput } from '../health/evaluate.js';
import type { Queue } from '../queue.js';

/**
 * The spool root from `--spool` / SPOOLKIT_SPOOL / ./.spool; a ConfigError when it is not a
 * directory, or its spool.json is of a newer format or not a format marker.
 */
export function existingSpoolRoot(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const root = spoolRootFrom(flag, env);
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new ConfigError(`There is no spool at ${root}; pass --spool <path> or set SPOOLKIT_SPOOL to the directory your web and worker processes use.`);
  }
  // Every command refuses a spool of a newer or unknown format before it reads or writes anything.
  readUsableSpoolMarker(root);
  return root;
}

/**
 * The spool root for a command that creates it when missing (`worker`): a ConfigError when the
 * path is there but is not a directory.
 */
export function creatableSpoolRoot(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const root = spoolRootFrom(flag, env);
  if (existsSync(root) && !statSync(root).isDirectory()) {
    throw new ConfigError(`The spool path ${root} is a file, not a directory; pass --spool <path> or set SPOOLKIT_SPOOL to the directory your web and worker processes share.`);
  }
  return root;
}

/**
 * Refuses queue names the spool does not have, naming those it has: a mistyped name must neither
 * create a queue nor read as an empty one.
 */
export async function assertQueuesExist(root: string, names: readonly string[]): Promise<void> {
  const [{ listQueues }, { unknownQueuesMessage }] = await Promise.all([import('../spool/status.js'), import('../status/unknown-queues.js')]);
  const message = unknownQueuesMessage(root, listQueues(root), names);
  if (message !== undefined) throw new UsageError(message);
}

/**
 * Opens `queueName` on `root`, runs `fn` and closes the queue whatever happens. Only `create`
 * (adding a job, pausing or resuming) makes a queue that does not exist; otherwise an unknown
 * queue is refused.
 */
export async function withQueue<T>(root: string, queueName: string, fn: (queue: Queue) => Promise<T>, { create = false } = {}): Promise<T> {
  if (!create) await assertQueuesExist(root, [queueName]);
  const { Queue: CoreQueue } = await import('../queue.js');
  const queue = new CoreQueue(queueName, { spool: root });
  try {
    return await fn(queue);
  } finally {
    await queue.close();
  }
}

/** Reads the spool status through the core (of the queues named, which must exist, or of all). */
export async function readStatus(root: string, queues?: string[]): Promise<SpoolStatusInput> {
  if (queues) await assertQueuesExist(root, queues);
  const { readSpoolStatus } = await import('../spool/status.js');
  return readSpoolStatus(root, queues ? { queues } : {});
}
