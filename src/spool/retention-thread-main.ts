/**
 * Entry of the retention helper thread (retention-thread.ts): runs one retention pass per
 * request and answers with the number of jobs removed or the error, as plain data.
 */
import { parentPort } from 'node:worker_threads';
import { serializeError } from '../serialized-error.js';
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
      reply = { seq: req.seq, result: runRetention(store, req.nowMs, req.defaults, undefined, () => Atomics.load(stop, 0) === 1) };
    } catch (err) {
      const details = (err as { details?: unknown } | null)?.details;
      reply = { seq: req.seq, error: { ...serializeError(err), ...(details && typeof details === 'object' ? { details: details as Record<string, unknown> } : {}) } };
    }
    port.postMessage(reply);
  });
}
