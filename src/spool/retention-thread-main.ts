/**
 * Entry of the retention helper thread (retention-thread.ts): runs one retention pass per
 * request and answers with the number of jobs removed or the error, as plain data.
 */
import { parentPort } from 'node:worker_threads';
import { runRetention } from './retention.js';
import { QueueStore } from './store.js';
import type { RetentionReply, RetentionRequest } from './retention-thread.js';

const port = parentPort;
if (port) {
  port.on('message', (req: RetentionRequest) => {
    let reply: RetentionReply;
    try {
      const store = QueueStore.open(req.root, req.name, { durability: req.durability, modes: req.modes });
      reply = { seq: req.seq, removed: runRetention(store, req.nowMs, req.defaults) };
    } catch (err) {
      const e = err as { message?: unknown; code?: unknown; stack?: unknown; details?: unknown };
      reply = {
        seq: req.seq,
        error: {
          message: String(e?.message ?? err),
          ...(typeof e?.code === 'string' ? { code: e.code } : {}),
          ...(typeof e?.stack === 'string' ? { stack: e.stack } : {}),
          ...(e?.details && typeof e.details === 'object' ? { details: e.details as Record<string, unknown> } : {}),
        },
      };
    }
    port.postMessage(reply);
  });
}
