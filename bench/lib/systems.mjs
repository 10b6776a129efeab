// @ts-check
// One way to open either queue system. spoolkit's API is BullMQ's, so every benchmark case is
// written once against these classes; only the options that say where the queue lives differ:
// spoolkit takes a spool directory, BullMQ a Redis connection.
import { pathToFileURL } from 'node:url';

/**
 * @typedef {{ system: 'spoolkit' | 'bullmq'; mode?: 'durable' | 'fast'; spool?: string; redisPort?: number }} SystemParams
 * @typedef {{
 *   label: string;
 *   Queue: any; Worker: any; QueueEvents: any; FlowProducer: any;
 *   queueOpts: Record<string, unknown>;
 *   workerOpts: Record<string, unknown>;
 * }} SystemHandle
 */

/**
 * Where spoolkit is loaded from: `SPOOLKIT_BENCH_ENTRY` (an absolute path to a built index.js; the
 * bench sets it to a build of the committed sources) or the package itself (dist/ of this repo).
 */
export function spoolkitEntry() {
  const entry = process.env.SPOOLKIT_BENCH_ENTRY;
  return entry ? pathToFileURL(entry).href : 'spoolkit';
}

/**
 * spoolkit options for a durability mode. `durable` fsyncs every file and directory before a job is
 * visible; `fast` skips fsync (a host crash may lose the last jobs; a process crash loses nothing).
 * @param {'durable' | 'fast' | undefined} mode
 */
export function spoolkitModeOptions(mode) {
  if (mode === undefined) return {};
  return { durability: mode };
}

/**
 * @param {SystemParams} p
 * @returns {Promise<SystemHandle>}
 */
export async function openSystem(p) {
  if (p.system === 'bullmq') {
    if (!p.redisPort) throw new Error('bullmq needs redisPort');
    const mod = await import('bullmq');
    const connection = { host: '127.0.0.1', port: p.redisPort, maxRetriesPerRequest: null };
    return {
      label: 'bullmq',
      Queue: mod.Queue,
      Worker: mod.Worker,
      QueueEvents: mod.QueueEvents,
      FlowProducer: mod.FlowProducer,
      queueOpts: { connection },
      workerOpts: { connection },
    };
  }
  if (!p.spool) throw new Error('spoolkit needs a spool directory');
  const mod = await import(spoolkitEntry());
  const extra = spoolkitModeOptions(p.mode);
  return {
    label: p.mode ? `spoolkit-${p.mode}` : 'spoolkit',
    Queue: mod.Queue,
    Worker: mod.Worker,
    QueueEvents: mod.QueueEvents,
    FlowProducer: mod.FlowProducer,
    queueOpts: { spool: p.spool, ...extra },
    workerOpts: { spool: p.spool, ...extra },
  };
}

/** Adds `n` no-op jobs in batches with `addBulk` (the fast way to build a backlog). */
export async function prefill(queue, n, batch = 1000, name = 'noop') {
  for (let i = 0; i < n; i += batch) {
    const size = Math.min(batch, n - i);
    await queue.addBulk(Array.from({ length: size }, (_, k) => ({ name, data: { i: i + k } })));
  }
}

/** Removes everything the run put in Redis (BullMQ) so the next run starts empty. */
export async function resetBullmq(redisPort) {
  const { Redis } = await import('ioredis');
  const client = new Redis({ host: '127.0.0.1', port: redisPort, lazyConnect: true });
  try {
    await client.connect();
    await client.flushall();
  } finally {
    client.disconnect();
  }
}
