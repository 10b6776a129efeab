import { describe, expect, it } from 'vitest';
import { builtinDelay, normalizeBackoff } from '../../src/backoff.js';
import { DelayedError, Queue, QueueEvents, UnrecoverableError, Worker } from '../../src/index.js';
import type { Job } from '../../src/index.js';
import { once, tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

describe('backoff formulas (BullMQ)', () => {
  it('fixed returns the delay; a number means fixed', () => {
    expect(normalizeBackoff(250)).toEqual({ type: 'fixed', delay: 250 });
    expect(builtinDelay({ type: 'fixed', delay: 250 }, 1)).toBe(250);
    expect(builtinDelay({ type: 'fixed', delay: 250 }, 7)).toBe(250);
  });

  it('exponential doubles: round(2^(n-1) * delay)', () => {
    expect([1, 2, 3, 4].map((n) => builtinDelay({ type: 'exponential', delay: 100 }, n))).toEqual([100, 200, 400, 800]);
    expect(builtinDelay({ type: 'exponential', delay: 3 }, 2)).toBe(6);
  });

  it('jitter spreads the delay between delay*(1-j) and delay', () => {
    expect(builtinDelay({ type: 'fixed', delay: 1000, jitter: 0.5 }, 1, () => 0)).toBe(500);
    expect(builtinDelay({ type: 'fixed', delay: 1000, jitter: 0.5 }, 1, () => 0.999)).toBe(999);
    expect(builtinDelay({ type: 'exponential', delay: 100, jitter: 1 }, 3, () => 0.25)).toBe(100);
    expect(builtinDelay({ type: 'exponential', delay: 100, jitter: 0.2 }, 3, () => 0)).toBe(320);
  });

  it('leaves custom types to the strategy', () => {
    expect(builtinDelay({ type: 'linear', delay: 10 }, 2)).toBeUndefined();
  });
});

function setup() {
  const spool = tmpSpool();
  const q = track(new Queue('q', { spool }));
  return { spool, q };
}

describe('attempts and retries', () => {
  it('retries until attempts are used up, counting attemptsMade, then fails with the last reason', async () => {
    const { spool, q } = setup();
    const events = track(new QueueEvents('q', { spool }));
    await events.waitUntilReady();
    const failedEvents: string[] = [];
    const exhausted = once<[{ jobId: string; attemptsMade: number }]>(events, 'retries-exhausted');
    events.on('failed', (a: { failedReason: string }) => failedEvents.push(a.failedReason));
    const seen: number[] = [];
    const w = track(
      new Worker(
        'q',
        async (job) => {
          seen.push(job.attemptsMade);
          throw new Error(`try ${job.attemptsMade + 1}`);
        },
        { spool },
      ),
    );
    const localFails: number[] = [];
    w.on('failed', (job: Job | undefined) => localFails.push(job!.attemptsMade));
    const job = await q.add('x', {}, { attempts: 3 });
    await waitFor(async () => (await q.getJobState(job.id!)) === 'failed', 5000);
    const final = (await q.getJob(job.id!))!;
    expect(seen).toEqual([0, 1, 2]);
    expect(final.attemptsMade).toBe(3);
    expect(final.failedReason).toBe('try 3');
    expect(final.stacktrace).toHaveLength(3);
    expect(final.finishedOn).toBeGreaterThan(0);
    expect(localFails).toEqual([1, 2, 3]);
    expect((await exhausted)[0]).toMatchObject({ jobId: job.id, attemptsMade: 3 });
    await waitFor(() => failedEvents.length === 1, 2000);
    expect(failedEvents).toEqual(['try 3']);
  });

  it('waits the backoff delay between tries (fixed)', async () => {
    const { spool, q } = setup();
    const starts: number[] = [];
    track(
      new Worker(
        'q',
        async () => {
          starts.push(Date.now());
          if (starts.length < 3) throw new Error('again');
          return 'ok';
        },
        { spool },
      ),
    );
    const job = await q.add('x', {}, { attempts: 3, backoff: { type: 'fixed', delay: 120 } });
    await waitFor(async () => (await q.getJobState(job.id!)) === 'completed', 5000);
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(120);
    expect(starts[2]! - starts[1]!).toBeGreaterThanOrEqual(120);
    const done = (await q.getJob(job.id!))!;
    expect(done.returnvalue).toBe('ok');
    expect(done.attemptsMade).toBe(3);
  });

  it('goes to delayed between exponential tries and emits delayed with the due time', async () => {
    const { spool, q } = setup();
    const events = track(new QueueEvents('q', { spool }));
    await events.waitUntilReady();
    const delayed: number[] = [];
    events.on('delayed', (a: { delay: number }) => delayed.push(a.delay));
    let n = 0;
    track(
      new Worker(
        'q',
        async () => {
          if (++n < 3) throw new Error('x');
        },
        { spool },
      ),
    );
    const job = await q.add('x', {}, { attempts: 3, backoff: { type: 'exponential', delay: 50 } });
    await waitFor(async () => (await q.getJobState(job.id!)) === 'completed', 5000);
    await waitFor(() => delayed.length === 2, 2000);
    expect(delayed[0]).toBeGreaterThan(job.timestamp);
  });

  it('uses settings.backoffStrategy for custom types; -1 fails at once', async () => {
    const { spool, q } = setup();
    const calls: [number, string | undefined][] = [];
    track(
      new Worker(
        'q',
        async () => {
          throw new Error('nope');
        },
        {
          spool,
          settings: {
            backoffStrategy: (attemptsMade, type) => {
              calls.push([attemptsMade, type]);
              return attemptsMade >= 2 ? -1 : 10;
            },
          },
        },
      ),
    );
    const job = await q.add('x', {}, { attempts: 10, backoff: { type: 'custom-one' } });
    await waitFor(async () => (await q.getJobState(job.id!)) === 'failed', 5000);
    expect(calls).toEqual([
      [1, 'custom-one'],
      [2, 'custom-one'],
    ]);
    expect((await q.getJob(job.id!))!.attemptsMade).toBe(2);
  });

  it('fails at once on an unknown backoff type without a strategy', async () => {
    const { spool, q } = setup();
    track(new Worker('q', async () => Promise.reject(new Error('x')), { spool }));
    const job = await q.add('x', {}, { attempts: 3, backoff: { type: 'mystery' } });
    await waitFor(async () => (await q.getJobState(job.id!)) === 'failed', 5000);
    expect((await q.getJob(job.id!))!.failedReason).toMatch(/Unknown backoff strategy mystery/);
  });

  it('fails at once, saying so, when settings.backoffStrategy returns no delay (a string or NaN retried at once)', async () => {
    const { spool, q } = setup();
    let runs = 0;
    const returned: unknown[] = ['soon', Number.NaN];
    track(
      new Worker(
        'q',
        async () => {
          runs++;
          throw new Error('nope');
        },
        { spool, settings: { backoffStrategy: (() => returned.shift()) as unknown as () => number } },
      ),
    );
    const first = await q.add('x', {}, { attempts: 5, backoff: { type: 'custom-one' } });
    await waitFor(async () => (await q.getJobState(first.id!)) === 'failed', 5000);
    expect((await q.getJob(first.id!))!.failedReason).toBe('settings.backoffStrategy returned "soon" for backoff type "custom-one"; return a delay in ms, 0 to retry now or -1 to fail now.');
    const second = await q.add('x', {}, { attempts: 5, backoff: { type: 'custom-one' } });
    await waitFor(async () => (await q.getJobState(second.id!)) === 'failed', 5000);
    expect((await q.getJob(second.id!))!.failedReason).toMatch(/^settings.backoffStrategy returned NaN/);
    expect(runs).toBe(2);
  });

  it('reads a string of digits from settings.backoffStrategy as that delay, as BullMQ does ("-1" fails now; it failed the job since 8a7a469)', async () => {
    const { spool, q } = setup();
    const returned = ['150', '-1'];
    track(
      new Worker(
        'q',
        async () => {
          throw new Error('nope');
        },
        { spool, settings: { backoffStrategy: (() => returned.shift()) as unknown as () => number } },
      ),
    );
    const job = await q.add('x', {}, { attempts: 5, backoff: { type: 'custom-one' } });
    await waitFor(async () => (await q.getJobState(job.id!)) === 'delayed', 5000);
    await waitFor(async () => (await q.getJobState(job.id!)) === 'failed', 5000);
    const failed = (await q.getJob(job.id!))!;
    expect(failed.attemptsMade).toBe(2);
    expect(failed.failedReason).toBe('nope');
  });

  it('UnrecoverableError fails the job at once despite remaining attempts', async () => {
    const { spool, q } = setup();
    let runs = 0;
    track(
      new Worker(
        'q',
        async () => {
          runs++;
          throw new UnrecoverableError('bad input');
        },
        { spool },
      ),
    );
    const job = await q.add('x', {}, { attempts: 5 });
    await waitFor(async () => (await q.getJobState(job.id!)) === 'failed', 5000);
    expect(runs).toBe(1);
    expect((await q.getJob(job.id!))!.failedReason).toBe('bad input');
  });

  it('an error named UnrecoverableError (from a sandbox) is unrecoverable too', async () => {
    const { spool, q } = setup();
    let runs = 0;
    track(
      new Worker(
        'q',
        async () => {
          runs++;
          throw Object.assign(new Error('plain'), { name: 'UnrecoverableError' });
        },
        { spool },
      ),
    );
    const job = await q.add('x', {}, { attempts: 5 });
    await waitFor(async () => (await q.getJobState(job.id!)) === 'failed', 5000);
    expect(runs).toBe(1);
  });

  it('moveToDelayed + DelayedError delays the job without counting the attempt', async () => {
    const { spool, q } = setup();
    const starts: number[] = [];
    track(
      new Worker(
        'q',
        async (job, token) => {
          starts.push(Date.now());
          if (job.data.step === 0) {
            await job.updateData({ step: 1 });
            await job.moveToDelayed(Date.now() + 100, token);
            throw new DelayedError();
          }
          return 'done';
        },
        { spool },
      ),
    );
    const job = await q.add('x', { step: 0 }, { attempts: 1 });
    await waitFor(async () => (await q.getJobState(job.id!)) === 'delayed', 2000);
    await waitFor(async () => (await q.getJobState(job.id!)) === 'completed', 5000);
    const done = (await q.getJob(job.id!))!;
    expect(done.attemptsMade).toBe(1);
    expect(done.data).toEqual({ step: 1 });
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(100);
  });

  it('keeps data and progress written after moveToDelayed, before the DelayedError', async () => {
    const { spool, q } = setup();
    const seen: unknown[] = [];
    track(
      new Worker(
        'q',
        async (job, token) => {
          seen.push(job.data);
          if (job.data.step === 0) {
            await job.moveToDelayed(Date.now() + 300, token);
            await job.updateData({ step: 1 });
            await job.updateProgress(50);
            throw new DelayedError();
          }
          return 'done';
        },
        { spool },
      ),
    );
    const job = await q.add('x', { step: 0 });
    await waitFor(async () => (await q.getJobState(job.id!)) === 'delayed', 2000);
    const delayed = (await q.getJob(job.id!))!;
    expect(delayed.data).toEqual({ step: 1 });
    expect(delayed.progress).toBe(50);
    await waitFor(async () => (await q.getJobState(job.id!)) === 'completed', 5000);
    expect(seen).toEqual([{ step: 0 }, { step: 1 }]);
  });

  it('fails a job whose return value does not survive JSON', async () => {
    const { spool, q } = setup();
    track(new Worker('q', async () => ({ when: new Date() }), { spool }));
    const job = await q.add('x', {});
    await waitFor(async () => (await q.getJobState(job.id!)) === 'failed', 5000);
    expect((await q.getJob(job.id!))!.failedReason).toMatch(/return value\.when is a Date/);
  });

  it('stackTraceLimit keeps the last N stacks; 0 keeps none', async () => {
    const { spool, q } = setup();
    track(new Worker('q', async () => Promise.reject(new Error('e')), { spool }));
    const a = await q.add('x', {}, { attempts: 3, stackTraceLimit: 1 });
    const b = await q.add('x', {}, { attempts: 2, stackTraceLimit: 0 });
    await waitFor(async () => (await q.getJobCounts('failed')).failed === 2, 5000);
    expect((await q.getJob(a.id!))!.stacktrace).toHaveLength(1);
    expect((await q.getJob(b.id!))!.stacktrace).toHaveLength(0);
  });
});

describe('started attempts (BullMQ attemptsStarted, maxStartedAttempts)', () => {
  it('a job that delays itself keeps counting its starts', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const seen: number[] = [];
    const w = track(
      new Worker(
        'q',
        async (job, token) => {
          seen.push(job.attemptsStarted);
          if (seen.length < 4) {
            await job.moveToDelayed(Date.now() + 10, token);
            throw new DelayedError();
          }
          return 'done';
        },
        { spool, pollIntervalMs: 20 },
      ),
    );
    const job = await q.add('d', {});
    await waitFor(async () => (await q.getJobState(job.id!)) === 'completed', 10_000, 'completed');
    expect(seen).toEqual([1, 2, 3, 4]);
    const done = (await q.getJob(job.id!))!;
    expect(done.attemptsStarted).toBe(4);
    expect(done.attemptsMade).toBe(1); // the completing run; the delays did not count
    await w.close();
  });

  it('maxStartedAttempts: the last start allowed fails with its own error, no retry past it (BullMQ: hasReachedMaxStartedAttempts)', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    let calls = 0;
    const w = track(
      new Worker(
        'q',
        async () => {
          calls++;
          throw new Error('boom');
        },
        { spool, maxStartedAttempts: 2 },
      ),
    );
    const job = await q.add('r', {}, { attempts: 5 });
    await waitFor(async () => (await q.getJobState(job.id!)) === 'failed', 10_000, 'failed');
    const failed = (await q.getJob(job.id!))!;
    expect(calls).toBe(2);
    expect(failed.failedReason).toBe('boom');
    expect(failed.attemptsStarted).toBe(2);
    expect(failed.attemptsMade).toBe(2);
    await w.close();
  });

  it('maxStartedAttempts also stops a job that keeps delaying itself', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    let calls = 0;
    const w = track(
      new Worker(
        'q',
        async (job, token) => {
          calls++;
          await job.moveToDelayed(Date.now() + 10, token);
          throw new DelayedError();
        },
        { spool, maxStartedAttempts: 2, pollIntervalMs: 20 },
      ),
    );
    const job = await q.add('loop', {});
    await waitFor(async () => (await q.getJobState(job.id!)) === 'failed', 10_000, 'failed');
    expect(calls).toBe(2);
    expect((await q.getJob(job.id!))!.failedReason).toBe('job started more than allowable limit');
    await w.close();
  });
});
