import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, Queue, QueueEvents, registerInlineProcessor, unregisterInlineProcessor, Worker } from '../../src/index.js';
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

  it('a job removed on finishing still carries its result or failure; a delayed job runs at once, with delay 0 once run as under a Worker', async () => {
    const spool = tmpSpool();
    track(new Worker('q', async (job) => {
      if (job.name === 'bad') throw new Error('boom');
      return { ok: job.name };
    }, { spool, inline: true }));
    const q = track(new Queue('q', { spool, inline: true }));
    const done = await q.add('good', {}, { removeOnComplete: true });
    expect(done.returnvalue).toEqual({ ok: 'good' });
    expect(done.finishedOn).toBeGreaterThan(0);
    expect(done.attemptsMade).toBe(1);
    expect(await q.getJob(done.id!)).toBeUndefined();
    const failed = await q.add('bad', {}, { removeOnFail: true });
    expect(failed.failedReason).toBe('boom');
    expect(failed.finishedOn).toBeGreaterThan(0);
    const later = await q.add('later', {}, { delay: 50 });
    expect(later.returnvalue).toEqual({ ok: 'later' });
    expect(later.delay).toBe(0);
  });

  it('runs nothing on a paused queue: the job waits for resume and a worker', async () => {
    const spool = tmpSpool();
    const ran: string[] = [];
    track(new Worker('q', async (job) => void ran.push(job.id!), { spool, inline: true }));
    const q = track(new Queue('q', { spool, inline: true }));
    await q.pause();
    const job = await q.add('x', {});
    expect(ran).toEqual([]);
    expect(await job.getState()).toBe('waiting');
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

  it('refuses a SPOOLKIT_INLINE it cannot read (on read as off: add() queued the job instead of running it), unless inline is given', () => {
    const spool = tmpSpool();
    for (const value of ['on', '2', 'enabled']) {
      process.env.SPOOLKIT_INLINE = value;
      expect(() => new Queue('q', { spool })).toThrow(ConfigError);
      expect(() => new Queue('q', { spool })).toThrow(`SPOOLKIT_INLINE must be 1, true or yes (inline mode) or 0, false, no or unset; got "${value}". Fix or unset the variable.`);
      track(new Queue('q', { spool, inline: false }));
    }
    for (const value of ['0', 'false', 'No', '', ' 1 ']) {
      process.env.SPOOLKIT_INLINE = value;
      track(new Queue('q', { spool }));
    }
  });
});
