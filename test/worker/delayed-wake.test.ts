import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue, Worker } from '../../src/index.js';
import { promoteDue } from '../../src/spool/promote.js';
import { sleep, tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

/** A long poll interval: a job found only by polling would come seconds late, past every bound below. */
const POLL_MS = 5000;

describe('delayed jobs re-filed sooner', () => {
  it('changeDelay to sooner than the first known due time wakes the worker: the job runs then, not at the old time', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const ran: string[] = [];
    const w = track(new Worker('q', async (job) => void ran.push(job.name), { spool, pollIntervalMs: POLL_MS }));
    await w.waitUntilReady();
    await q.add('far', {}, { delay: 60_000 });
    const soon = await q.add('soon', {}, { delay: 60_000 });
    await sleep(100);
    await soon.changeDelay(100);
    await waitFor(() => ran.includes('soon'), 2000, 'the re-filed job to run');
    expect(ran).toEqual(['soon']);
  });

  it('a processor moving its own job to delayed, sooner than another delayed job, sees it again on time', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const runs: number[] = [];
    const w = track(
      new Worker(
        'q',
        async (job, token) => {
          runs.push(Date.now());
          if (runs.length === 1) {
            await job.moveToDelayed(Date.now() + 200, token);
            throw new (await import('../../src/index.js')).DelayedError();
          }
        },
        { spool, pollIntervalMs: POLL_MS },
      ),
    );
    await q.add('far', {}, { delay: 60_000 });
    await sleep(50);
    await q.add('m', {});
    await waitFor(() => runs.length === 2, 2500, 'the second run of the moved job');
    expect(runs[1]! - runs[0]!).toBeGreaterThanOrEqual(190);
    await w.close();
  });

  it('a delayed add within 10 ms of the last check is promoted when due, not a poll interval later', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const ran: string[] = [];
    const w = track(new Worker('q', async (job) => void ran.push(job.name), { spool, pollIntervalMs: POLL_MS }));
    await w.waitUntilReady();
    await sleep(100);
    await q.add('far', {}, { delay: 60_000 });
    await sleep(2);
    await q.add('soon', {}, { delay: 50 });
    await waitFor(() => ran.includes('soon'), 2000, 'the short-delay job');
  });
});

describe('worker loop with every slot busy', () => {
  it('sleeps until a slot frees up instead of spinning on a past delayed-check time', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    let release!: () => void;
    const w = track(new Worker('q', () => new Promise<void>((r) => (release = r)), { spool, concurrency: 1, pollIntervalMs: 200 }));
    const sleeps: number[] = [];
    const loop = w as unknown as { sleep(ms: number): Promise<void> };
    const real = loop.sleep.bind(w);
    loop.sleep = (ms: number) => {
      sleeps.push(ms);
      return real(ms);
    };
    await q.add('busy', {});
    await waitFor(() => release !== undefined, 2000, 'the job to start');
    sleeps.length = 0;
    await sleep(1000);
    // One sleep per poll interval (200 ms) or so; a busy loop makes thousands.
    expect(sleeps.length).toBeLessThan(20);
    release();
  });
});

describe('explicit promotion', () => {
  it('queues a promoted job as if added now: behind the jobs already waiting, ahead of later ones (BullMQ order)', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const d = await q.add('D', {}, { delay: 3_600_000 });
    for (let i = 0; i < 3; i++) await q.add(`before-${i}`, {});
    await sleep(5);
    await d.promote();
    expect(await q.getJobState(d.id!)).toBe('waiting');
    expect((await q.getJob(d.id!))!.delay).toBe(0);
    for (let i = 0; i < 3; i++) await q.add(`after-${i}`, {});
    const order: string[] = [];
    const w = track(new Worker('q', async (job) => void order.push(job.name), { spool, concurrency: 1 }));
    await waitFor(() => order.length === 7, 5000, 'all seven jobs');
    await w.close();
    expect(order).toEqual(['before-0', 'before-1', 'before-2', 'D', 'after-0', 'after-1', 'after-2']);
  });

  it('promoteJobs does the same for every delayed job', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    await q.add('D1', {}, { delay: 3_600_000 });
    await q.add('D2', {}, { delay: 7_200_000, priority: 3 });
    await q.add('before', {});
    await sleep(5);
    await q.promoteJobs();
    await q.add('after', {});
    expect(await q.getJobCounts('delayed', 'waiting', 'prioritized')).toEqual({ delayed: 0, waiting: 3, prioritized: 1 });
    const order: string[] = [];
    const w = track(new Worker('q', async (job) => void order.push(job.name), { spool, concurrency: 1 }));
    await waitFor(() => order.length === 4, 5000, 'all four jobs');
    await w.close();
    expect(order).toEqual(['before', 'D1', 'after', 'D2']);
  });
});

describe('a stray file in delayed/', () => {
  it('is moved to corrupt/ by the promotion pass, which goes on; the worker reports it and keeps running jobs', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const d = await q.add('due', {}, { delay: 1 });
    const [leafFile] = fs.readdirSync(path.join(q.store.dir, 'delayed'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    const leaf = leafFile!.parentPath;
    // A waiting-style name (no destination field) put there by hand.
    const stray = path.join(leaf, `${String(Date.now() - 1000).padStart(13, '0')}-0000001a-k3f9.stray.json`);
    fs.writeFileSync(stray, '{}');
    await sleep(5);
    const res = promoteDue(q.store, Date.now());
    expect(res.promoted).toEqual([d.id]);
    expect(res.quarantined).toHaveLength(1);
    expect(fs.existsSync(stray)).toBe(false);
    expect(fs.readdirSync(path.join(q.store.dir, 'corrupt'))).toEqual(res.quarantined);
    // And a worker meeting one reports it and runs the other jobs.
    fs.writeFileSync(stray, '{}');
    await q.add('now', {});
    const errors: Error[] = [];
    const ran: string[] = [];
    const w = track(new Worker('q', async (job) => void ran.push(job.name), { spool }));
    w.on('error', (e) => errors.push(e));
    await waitFor(() => ran.length === 2 && errors.length === 1, 3000, 'both jobs and one error');
    expect(errors[0]!.message).toMatch(/moved to corrupt\//);
  });
});
