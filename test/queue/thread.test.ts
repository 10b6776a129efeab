import path from 'node:path';
import { Worker as Thread } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Queue, Worker } from '../../src/index.js';
import { sleep, tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

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

  it('a Worker in another thread of this process is alive to a Worker here: its job is not taken while it runs', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const job = await q.add('long', {});
    const file = path.resolve(import.meta.dirname, '../fixtures/core/thread-worker.ts');
    const thread = new Thread(path.resolve(import.meta.dirname, '../fixtures/core/thread-boot.mjs'), { workerData: { spool, file } });
    const messages: string[] = [];
    thread.on('message', (m: string) => messages.push(m));
    try {
      await waitFor(() => messages.includes(`started ${job.id}`), 10_000);
      await sleep(300); // the thread's heartbeat now lists its claim
      const runsHere: string[] = [];
      const stalled: string[] = [];
      const here = track(new Worker('q', async (j) => void runsHere.push(j.id!), { spool, stalledInterval: 100, pollIntervalMs: 50 }));
      here.on('stalled', (id: string) => stalled.push(id));
      await sleep(1500); // many stalled checks
      expect(stalled).toEqual([]);
      expect(runsHere).toEqual([]);
      expect(await q.getJobState(job.id!)).toBe('active');
      thread.postMessage('release');
      await waitFor(() => messages.includes('closed'), 10_000);
      expect(messages.filter((m) => m.startsWith('error'))).toEqual([]);
      const done = (await q.getJob(job.id!))!;
      expect(await done.getState()).toBe('completed');
      expect(done.returnvalue).toEqual({ aborted: false });
    } finally {
      await thread.terminate();
    }
  }, 30_000);
});

