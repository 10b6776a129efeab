/**
 * The two systems a scenario runs against. spoolkit runs from source on a fresh temporary spool;
 * BullMQ runs on a private redis-server that the test starts on 127.0.0.1. Both expose the same
 * classes, so the runner is written once; the values here are typed loosely on purpose, because
 * the point of the test is to observe what each implementation does at run time.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The surface of a queue library that the runner uses (BullMQ's, which spoolkit mirrors). */
export interface Backend {
  kind: 'spoolkit' | 'bullmq';
  /* eslint-disable @typescript-eslint/no-explicit-any */
  Queue: any;
  Worker: any;
  QueueEvents: any;
  FlowProducer: any;
  UnrecoverableError: any;
  DelayedError: any;
  /* eslint-enable @typescript-eslint/no-explicit-any */
  /** Options given to every Queue, Worker and QueueEvents (where the queue lives). */
  options: Record<string, unknown>;
  /**
   * Extra QueueEvents options. BullMQ's QueueEvents reads its stream from `$` once its first
   * blocking read is issued, which may be after `waitUntilReady()` resolves; reading the fresh,
   * just-flushed stream from the start makes sure the first adds' events are seen.
   */
  queueEventsOptions: Record<string, unknown>;
  /** Removes everything this backend stored. */
  dispose(): Promise<void>;
}

/** A spoolkit backend on a fresh temporary spool directory. */
export async function spoolkitBackend(): Promise<Backend> {
  const mod = await import('../../src/index.js');
  const spool = await mkdtemp(join(tmpdir(), 'spoolkit-diff-'));
  const lib = mod as Record<string, unknown>;
  for (const name of ['Queue', 'Worker', 'QueueEvents', 'FlowProducer', 'UnrecoverableError', 'DelayedError']) {
    if (typeof lib[name] !== 'function') throw new Error(`spoolkit's index does not export ${name}`);
  }
  return {
    kind: 'spoolkit',
    Queue: lib.Queue,
    Worker: lib.Worker,
    QueueEvents: lib.QueueEvents,
    FlowProducer: lib.FlowProducer,
    UnrecoverableError: lib.UnrecoverableError,
    DelayedError: lib.DelayedError,
    options: { spool },
    queueEventsOptions: {},
    dispose: () => rm(spool, { recursive: true, force: true, maxRetries: 3 }),
  };
}

/** A BullMQ backend on the redis-server listening on `port`; dispose() flushes it. */
export async function bullmqBackend(port: number): Promise<Backend> {
  const mod = await import('bullmq');
  const { Redis } = await import('ioredis');
  const connection = { host: '127.0.0.1', port, maxRetriesPerRequest: null };
  return {
    kind: 'bullmq',
    Queue: mod.Queue,
    Worker: mod.Worker,
    QueueEvents: mod.QueueEvents,
    FlowProducer: mod.FlowProducer,
    UnrecoverableError: mod.UnrecoverableError,
    DelayedError: mod.DelayedError,
    options: { connection },
    queueEventsOptions: { lastEventId: '0-0' },
    async dispose() {
      const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true });
      try {
        await client.connect();
        await client.flushall();
      } finally {
        client.disconnect();
      }
    },
  };
}
