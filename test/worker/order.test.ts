import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue, Worker } from '../../src/index.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';
import { reclaimStalled } from '../../src/spool/reclaim.js';
import { openQueueStore } from '../../src/spool/open.js';

async function runAll(spool: string, n: number, opts: { concurrency?: number } = {}): Promise<string[]> {
  const order: string[] = [];
  track(new Worker('q', async (job) => void order.push(String(job.data)), { spool, ...opts }));
  await waitFor(() => order.length >= n, 10_000, `${n} jobs`);
  return order;
}

describe('processing order', () => {
  it('is FIFO within one producer', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    for (let i = 0; i < 50; i++) await q.add('j', String(i));
    expect(await runAll(spool, 50)).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
  });

  it('runs no-priority jobs first, then lower priority numbers first, FIFO within a priority', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    await q.add('j', 'p5-a', { priority: 5 });
    await q.add('j', 'p1-a', { priority: 1 });
    await q.add('j', 'none-a');
    await q.add('j', 'p5-b', { priority: 5 });
    await q.add('j', 'p1-b', { priority: 1 });
    await q.add('j', 'none-b', { priority: 0 });
    expect(await runAll(spool, 6)).toEqual(['none-a', 'none-b', 'p1-a', 'p1-b', 'p5-a', 'p5-b']);
  });

  it('runs lifo jobs before the others, newest first', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    await q.add('j', 'a');
    await q.add('j', 'l1', { lifo: true });
    await q.add('j', 'b');
    await q.add('j', 'l2', { lifo: true });
    expect(await runAll(spool, 4)).toEqual(['l2', 'l1', 'a', 'b']);
  });

  it('never starts a delayed job before its due time, and promotes it with its priority', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const started = new Map<string, number>();
    const due = new Map<string, number>();
    track(
      new Worker(
        'q',
        async (job) => {
          started.set(job.id!, Date.now());
        },
        { spool, concurrency: 4 },
      ),
    );
    for (const [i, delay] of [150, 40, 300, 90].entries()) {
      const job = await q.add('d', i, { delay, priority: i % 2 });
      due.set(job.id!, job.timestamp + delay);
      expect(await q.getJobState(job.id!)).toBe('delayed');
    }
    await waitFor(() => started.size === 4, 5000, 'delayed jobs');
    for (const [id, at] of started) expect(at).toBeGreaterThanOrEqual(due.get(id)!);
  });

  it('claims at most `concurrency` jobs at a time', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    for (let i = 0; i < 12; i++) await q.add('j', i);
    let running = 0;
    let peak = 0;
    let done = 0;
    const w = track(
      new Worker(
        'q',
        async () => {
          running++;
          peak = Math.max(peak, running);
          expect((await q.getJobCounts('active')).active).toBeLessThanOrEqual(3);
          await new Promise((r) => setTimeout(r, 20));
          running--;
          done++;
        },
        { spool, concurrency: 3 },
      ),
    );
    await waitFor(() => done === 12, 5000);
    expect(peak).toBe(3);
    expect(w.concurrency).toBe(3);
  });
});

describe('a job sent back to the queue', () => {
  /** Adds p1..p3 (priority 1), lets a worker take p1 and hang, then adds w1, w2 (no priority). */
  async function setup() {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    await q.addBulk(['p1', 'p2', 'p3'].map((name) => ({ name, data: {}, opts: { priority: 1 } })));
    const hung = track(new Worker('q', async (_job, _token, signal) => new Promise((_r, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted')))), { spool }));
    await waitFor(async () => (await q.getActiveCount()) === 1, 3000);
    await q.addBulk(['w1', 'w2'].map((name) => ({ name, data: {} })));
    return { spool, q, hung };
  }

  async function runOrder(spool: string): Promise<string[]> {
    const order: string[] = [];
    track(new Worker('q', async (job) => void order.push(job.name), { spool }));
    await waitFor(() => order.length === 5, 5000);
    return order;
  }

  it('runs first, a prioritized one too, when its worker closes with force (BullMQ: the front of wait)', async () => {
    const { spool, hung } = await setup();
    await hung.close(true);
    expect(await runOrder(spool)).toEqual(['p1', 'w1', 'w2', 'p2', 'p3']);
  });

  it('runs first, a prioritized one too, when the stalled check takes it back', async () => {
    const { spool, hung } = await setup();
    reclaimStalled(openQueueStore('q', { spool }), { nowMs: Date.now() + 120_000, lockDurationMs: 30_000, maxStalledCount: 5 });
    await hung.close(true);
    expect(await runOrder(spool)).toEqual(['p1', 'w1', 'w2', 'p2', 'p3']);
  });
});

describe('promote', () => {
  it('puts a lifo delayed job at the back, as BullMQ\'s promote (its lifo applies when added, not when promoted)', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    await q.add('a', {});
    await q.add('b', {});
    const d = await q.add('d', {}, { delay: 60_000, lifo: true });
    await d.promote();
    const order: string[] = [];
    track(new Worker('q', async (job) => void order.push(job.name), { spool }));
    await waitFor(() => order.length === 3, 5000);
    expect(order).toEqual(['a', 'b', 'd']);
  });
});

describe('one worker after removals in its listing', () => {
  it('keeps FIFO order when two neighbouring waiting jobs are removed while it runs', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const added = await q.addBulk(Array.from({ length: 200 }, (_, i) => ({ name: 'j', data: { i } })));
    const order: number[] = [];
    track(
      new Worker(
        'q',
        async (job) => {
          order.push((job.data as { i: number }).i);
          // Its listing of the leaf is cached: two entries in it go before it reaches them.
          if (order.length === 5) for (const k of [20, 21]) await q.remove(added[k]!.id!);
        },
        { spool },
      ),
    );
    await waitFor(() => order.length === 198, 10_000);
    expect(order).toEqual([...Array.from({ length: 20 }, (_, i) => i), ...Array.from({ length: 178 }, (_, i) => i + 22)]);
  });
});

describe('priorities no longer used', () => {
  it('lose their directories once empty, so claims do not walk every priority ever used', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    await q.addBulk(Array.from({ length: 300 }, (_, i) => ({ name: 'j', data: {}, opts: { priority: i + 1 } })));
    let done = 0;
    track(new Worker('q', async () => void done++, { spool }));
    await waitFor(() => done === 300, 10_000);
    // Another claim after the grace lets the claimer look at the empty priorities again.
    await new Promise((r) => setTimeout(r, 250));
    await q.add('late', {}, { priority: 5 });
    await waitFor(() => done === 301, 5000);
    await new Promise((r) => setTimeout(r, 250));
    await q.add('later', {}, { priority: 7 });
    await waitFor(() => done === 302, 5000);
    const dirs = fs.readdirSync(path.join(spool, 'queues', 'q', 'prioritized'));
    expect(dirs.length, dirs.join(' ')).toBeLessThanOrEqual(2);
  });
});
