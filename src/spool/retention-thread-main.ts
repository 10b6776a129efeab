/**
 * Entry of the retention helper thread (retention-thread.ts): runs one retention pass (or one
 * published count) per request and answers with its result or the error, as plain data. The
 * thread's count cache (counts.ts) lives as long as the thread, so a count re-lists only the
 * leaves that changed since the last one.
 */
import { parentPort } from 'node:worker_threads';
import { serializeError } from '../serialized-error.js';
import { countAndPublish } from './published-counts.js';
import { runRetention } from './retention.js';
import { QueueStore } from './store.js';
import type { RetentionReply, RetentionRequest } from './retention-thread.js';

const port = parentPort;
if (port) {
  port.on('message', (req: RetentionRequest) => {
    let reply: RetentionReply;
    try {
      const store = QueueStore.open(req.root, req.name, { durability: req.durability, modes: req.modes });
      const stop = new Int32Array(req.stop);
      const result = req.task === 'count' ? countAndPublish(store, req.only ? new Set(req.only) : undefined) : runRetention(store, req.nowMs, req.defaults, undefined, () => Atomics.load(stop, 0) === 1);
      reply = { seq: req.seq, result };
    } catch (err) {
      const details = (err as { details?: unknown } | null)?.details;
      reply = { seq: req.seq, error: { ...serializeError(err), ...(details && typeof details === 'object' ? { details: details as Record<string, unknown> } : {}) } };
    }
    port.postMessage(reply);
  });
}
