import { describe, expect, it } from 'vitest';
import { Queue, Worker } from '../../src/index.js';
import { sleep, tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

describe('Worker.close() while the loop awaits', () => {
  it('starts no job added while close() runs, and resolves only when nothing runs', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const started: string[] = [];
    const w = new Worker('q', async (job) => void started.push(job.id!), { spool, stalledInterval: 20 });
    await new Promise<void>((resolve) => w.once('ready', () => resolve()));
    // The loop awaits its scheduler pass once per stalled interval: close() is called, and a job
    // lands, while it waits there (as a SIGTERM handler and a web process could).
    let closing: Promise<void> | undefined;
    let lateId = '';
    const inLoop = w as unknown as { runSchedulers(nowMs: number): Promise<void> };
    const pass = inLoop.runSchedulers.bind(w);
    inLoop.runSchedulers = async (nowMs: number) => {
      await pass(nowMs);
      if (closing) return;
      closing = w.close();
      lateId = (await q.add('late', {})).id!;
      await sleep(20);
    };
    await waitFor(() => closing !== undefined && lateId !== '', 5000, 'close during a pass');
    await closing;
    expect(started).toEqual([]);
    expect(await q.getJobState(lateId)).toBe('waiting');
  });
});

describe('Worker.close() waiting for a long job', () => {
  it('keeps one wake-up listener however long it waits (none left over)', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const w = new Worker('q', () => held, { spool, pollIntervalMs: 20 });
    await q.add('long', {});
    await waitFor(async () => (await q.getActiveCount()) === 1, 3000, 'the job to start');
    const closing = w.close();
    // Each wait of 250 ms used to add a listener and leave it behind.
    await sleep(1300);
    expect(w.listenerCount('_slot')).toBeLessThanOrEqual(1);
    release();
    await closing;
    expect(w.listenerCount('_slot')).toBe(0);
  });
});
