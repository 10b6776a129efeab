import { afterEach, describe, expect, it } from 'vitest';
import { Queue, QueueEvents, registerInlineProcessor, unregisterInlineProcessor, Worker } from '../../src/index.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

afterEach(() => {
  delete process.env.SPOOLKIT_INLINE;
});

describe('inline mode', () => {
  it('runs the job inside add() with an inline Worker, with the same fields and local events', async () => {
    const spool = tmpSpool();
    const w = track(new Worker('mail', async (job) => ({ sent: job.data.to }), { spool, inline: true }));
    const completed: unknown[] = [];
    w.on('completed', (_job: unknown, result: unknown) => completed.push(result));
    const q = track(new Queue('mail', { spool, inline: true }));
    const job = await q.add('welcome', { to: 'a@b.c' });
    expect(job.returnvalue).toEqual({ sent: 'a@b.c' });
    expect(job.attemptsMade).toBe(1);
    expect(job.finishedOn).toBeGreaterThan(0);
    expect(await job.getState()).toBe('completed');
    expect(completed).toEqual([{ sent: 'a@b.c' }]);
    expect(w.isRunning()).toBe(false);
  });

  it('runs retries back to back and ends failed with the reason', async () => {
    const spool = tmpSpool();
    const tries: number[] = [];
    registerInlineProcessor(
      'q',
      async (job) => {
        tries.push(job.attemptsMade);
        throw new Error(`no ${job.attemptsMade}`);
      },
      { spool },
    );
    try {
      const q = track(new Queue('q', { spool, inline: true }));
      const job = await q.add('x', {}, { attempts: 3, backoff: { type: 'exponential', delay: 60_000 } });
      expect(tries).toEqual([0, 1, 2]);
      expect(await job.getState()).toBe('failed');
      expect(job.failedReason).toBe('no 2');
    } finally {
      unregisterInlineProcessor('q', { spool });
    }
  });

  it('emits QueueEvents like a real worker', async () => {
    const spool = tmpSpool();
    track(new Worker('q', async () => 'r', { spool, inline: true }));
    const q = track(new Queue('q', { spool, inline: true }));
    const events = track(new QueueEvents('q', { spool }));
    await events.waitUntilReady();
    const seen: string[] = [];
    events.on('completed', (a: { returnvalue: string }) => seen.push(a.returnvalue));
    await q.add('x', {});
    await waitFor(() => seen.length === 1, 3000);
    expect(seen).toEqual(['r']);
  });

  it('is switched on by SPOOLKIT_INLINE=1 and says what to do without a processor', async () => {
    process.env.SPOOLKIT_INLINE = '1';
    const spool = tmpSpool();
    const q = track(new Queue('nobody', { spool }));
    await expect(q.add('x', {})).rejects.toThrow(/no processor is registered.*registerInlineProcessor/);
  });
});
