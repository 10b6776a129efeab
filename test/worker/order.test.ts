import { describe, expect, it } from 'vitest';
import { Queue, Worker } from '../../src/index.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

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
