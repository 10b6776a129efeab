import path from 'node:path';
import { Worker as Thread } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { tmpSpool, track } from '../fixtures/core/helpers.js';

describe('a Queue in a worker thread', () => {
  it('adds jobs there (a thread may not set the umask: it is read another way)', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const file = path.resolve(import.meta.dirname, '../fixtures/core/thread-producer.ts');
    const thread = new Thread(path.resolve(import.meta.dirname, '../fixtures/core/thread-boot.mjs'), { workerData: { spool, file } });
    const reply = await new Promise<{ id?: string; error?: string }>((resolve, reject) => {
      thread.once('message', resolve);
      thread.once('error', reject);
    });
    await thread.terminate();
    expect(reply.error).toBeUndefined();
    expect((await q.getJob(reply.id!))!.name).toBe('from-thread');
  });
});
