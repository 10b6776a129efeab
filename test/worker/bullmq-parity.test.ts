import { describe, expect, it } from 'vitest';
import { Queue, Worker, type Job } from '../../src/index.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

// Worker behaviour compared with BullMQ 6 (each value below was read from BullMQ with the same scenario).
describe('Worker, as BullMQ shows it', () => {
  it('fills in BullMQ\'s option defaults and keeps concurrency as given', () => {
    const spool = tmpSpool();
    const w = track(new Worker('q', async () => undefined, { spool, autorun: false, concurrency: 2.5 }));
    expect(w.opts).toMatchObject({ drainDelay: 5, lockDuration: 30_000, lockRenewTime: 15_000, stalledInterval: 30_000, maxStalledCount: 1, autorun: false, runRetryDelay: 15_000 });
    expect(w.concurrency).toBe(2.5);
  });

  it('resume() starts a worker that was never run; run() after close() resolves; closing says "closing queue"', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const done: string[] = [];
    const w = track(new Worker('q', async (job) => void done.push(job.id!), { spool, autorun: false, pollIntervalMs: 50 }));
    const job = await q.add('x', {});
    const resumed: unknown[] = [];
    w.on('resumed', () => resumed.push(true));
    await w.resume();
    await waitFor(() => done.includes(job.id!), 3000);
    expect(w.isRunning()).toBe(true);
    expect(resumed).toHaveLength(1);
    const closing: unknown[] = [];
    w.on('closing', (m: unknown) => closing.push(m));
    await w.close();
    expect(closing).toEqual(['closing queue']);
    await expect(w.run()).resolves.toBeUndefined();
  });

  it('isRunning() is false once a waiting pause() has let the running jobs end, true again after resume()', async () => {
    const spool = tmpSpool();
    const w = track(new Worker('q', async () => undefined, { spool }));
    expect(w.isRunning()).toBe(true);
    await w.pause();
    expect(w.isPaused()).toBe(true);
    expect(w.isRunning()).toBe(false);
    await w.resume();
    expect(w.isRunning()).toBe(true);
  });

  it('a delayed job runs with delay 0, a job without attempts shows attempts 0, and an undefined result stays undefined on the completed job', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const seen: number[] = [];
    const completed: Job[] = [];
    const w = track(new Worker('q', async (job) => void seen.push(job.delay), { spool, pollIntervalMs: 20 }));
    w.on('completed', (job: Job) => completed.push(job));
    const job = await q.add('x', {}, { delay: 100 });
    expect(job.opts.attempts).toBe(0);
    await waitFor(() => completed.length === 1, 5000);
    expect(seen).toEqual([0]);
    expect(completed[0]!.returnvalue).toBeUndefined();
    const stored = (await q.getJob(job.id!))!;
    expect(stored.delay).toBe(0);
    expect(stored.returnvalue).toBeNull();
  });
});
