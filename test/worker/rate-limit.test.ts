import { describe, expect, it } from 'vitest';
import { ConfigError, Queue, QueueEvents, RateLimitError, WaitingError, Worker, type Job } from '../../src/index.js';
import { isRateLimitError } from '../../src/errors.js';
import { sleep, tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

/** Timers fire a little late, and a start is noted a moment after its slot was taken. */
const SLACK_MS = 25;

function setup() {
  const spool = tmpSpool();
  const q = track(new Queue('q', { spool }));
  return { spool, q };
}

/** Runs the queue's jobs with a worker noting each start's time and job; resolves when `n` have completed. */
async function runAll(spool: string, n: number, opts: ConstructorParameters<typeof Worker>[2], body?: (job: Job, w: Worker) => Promise<unknown>) {
  const starts: { at: number; data: unknown }[] = [];
  let done = 0;
  const w: Worker = track(
    new Worker(
      'q',
      async (job) => {
        starts.push({ at: Date.now(), data: job.data });
        return body?.(job, w);
      },
      { spool, pollIntervalMs: 5000, ...opts },
    ),
  );
  w.on('completed', () => done++);
  await waitFor(() => done === n, 10_000, `${n} completions`);
  return { w, starts };
}

/** True when no `max + 1` starts fall within `durationMs` of each other. */
function withinLimit(times: number[], max: number, durationMs: number): boolean {
  const sorted = [...times].sort((a, b) => a - b);
  return sorted.every((t, i) => i < max || t - sorted[i - max]! >= durationMs - SLACK_MS);
}

describe('Worker limiter', () => {
  it('starts at most max jobs per duration, in the order they were added', async () => {
    const { spool, q } = setup();
    await q.addBulk(Array.from({ length: 8 }, (_, i) => ({ name: 'j', data: i })));
    const t0 = Date.now();
    const { starts } = await runAll(spool, 8, { concurrency: 4, limiter: { max: 2, duration: 300 } });
    expect(withinLimit(starts.map((s) => s.at), 2, 300)).toBe(true);
    // Four windows: the last two jobs start when the third window has ended.
    expect(starts[7]!.at - t0).toBeGreaterThanOrEqual(900 - SLACK_MS);
    // Jobs claimed over the limit went back where they were: FIFO order is kept.
    expect(starts.map((s) => s.data)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('is not drained while jobs wait for the limit', async () => {
    const { spool, q } = setup();
    await q.addBulk([{ name: 'a', data: 1 }, { name: 'b', data: 2 }]);
    let completed = 0;
    const drainedAt: number[] = [];
    const w = track(new Worker('q', async () => undefined, { spool, limiter: { max: 1, duration: 300 } }));
    w.on('completed', () => completed++);
    w.on('drained', () => drainedAt.push(completed));
    await waitFor(() => completed === 2, 5000, 'both jobs');
    await waitFor(() => drainedAt.length > 0, 2000, 'drained');
    expect(drainedAt[0]).toBe(2);
  });

  it('obeys a global rate limit without a limiter of its own, until it is removed', async () => {
    const { spool, q } = setup();
    expect(await q.getGlobalRateLimit()).toBeNull();
    expect(await q.setGlobalRateLimit(1, 250)).toBe(2);
    expect(await q.getGlobalRateLimit()).toEqual({ max: 1, duration: 250 });
    await q.addBulk(Array.from({ length: 3 }, (_, i) => ({ name: 'j', data: i })));
    const { w, starts } = await runAll(spool, 3, { concurrency: 3 });
    expect(withinLimit(starts.map((s) => s.at), 1, 250)).toBe(true);
    await w.close();
    expect(await q.removeGlobalRateLimit()).toBe(2);
    expect(await q.removeGlobalRateLimit()).toBe(0);
    await q.addBulk(Array.from({ length: 3 }, (_, i) => ({ name: 'k', data: i })));
    const t0 = Date.now();
    const again = await runAll(spool, 3, { concurrency: 3 });
    expect(Math.max(...again.starts.map((s) => s.at)) - t0).toBeLessThan(250);
  });

  it('a global max overrides the worker max, and the worker duration the global one', async () => {
    const { spool, q } = setup();
    await q.setGlobalRateLimit(1, 10);
    await q.addBulk(Array.from({ length: 3 }, (_, i) => ({ name: 'j', data: i })));
    const { starts } = await runAll(spool, 3, { concurrency: 3, limiter: { max: 5, duration: 250 } });
    expect(withinLimit(starts.map((s) => s.at), 1, 250)).toBe(true);
  });

  it('Queue.rateLimit holds back workers with a limit, and only those (as BullMQ)', async () => {
    const { spool, q } = setup();
    await q.rateLimit(400);
    expect(await q.getRateLimitTtl()).toBeGreaterThan(300);
    expect(await q.getRateLimitTtl(1)).toBeGreaterThan(300);
    const t0 = Date.now();
    await q.add('free', { kind: 'free' });
    const free = await runAll(spool, 1, {});
    expect(free.starts[0]!.at - t0).toBeLessThan(300);
    await free.w.close();
    await q.add('held', { kind: 'held' });
    const held = await runAll(spool, 1, { limiter: { max: 100, duration: 1000 } });
    expect(held.starts[0]!.at - t0).toBeGreaterThanOrEqual(400 - SLACK_MS);
  });

  it('removeRateLimitKey lets held workers start at once', async () => {
    const { spool, q } = setup();
    await q.rateLimit(60_000);
    await q.add('j', {});
    let started = 0;
    track(new Worker('q', async () => { started++; }, { spool, limiter: { max: 1, duration: 1000 }, maximumRateLimitDelay: 100 }));
    await sleep(300);
    expect(started).toBe(0);
    expect(await q.removeRateLimitKey()).toBe(1);
    await waitFor(() => started === 1, 2000, 'the start after removal');
  });

  it('waits at most maximumRateLimitDelay before looking again', async () => {
    const { spool, q } = setup();
    await q.rateLimit(60_000);
    await q.add('j', {});
    let started = 0;
    track(new Worker('q', async () => { started++; }, { spool, limiter: { max: 1, duration: 1000 }, maximumRateLimitDelay: 150 }));
    await sleep(200);
    // Removed behind its back (another process's removeRateLimitKey): seen within the delay.
    await q.removeRateLimitKey();
    const t = Date.now();
    await waitFor(() => started === 1, 2000, 'the start');
    expect(Date.now() - t).toBeLessThan(400);
  });
});

describe('RateLimitError', () => {
  it('puts the job back at the front without counting the attempt, and the worker waits out rateLimit(ms)', async () => {
    const { spool, q } = setup();
    const events = track(new QueueEvents('q', { spool }));
    const seen: string[] = [];
    for (const e of ['waiting', 'failed', 'completed'] as const) events.on(e, ({ jobId }: { jobId: string }) => seen.push(`${e}:${jobId}`));
    await events.waitUntilReady();
    const job = await q.add('call', { n: 1 }, { attempts: 1 });
    const { starts } = await runAll(spool, 1, { concurrency: 2 }, async (j, worker) => {
      if (j.attemptsStarted === 1) {
        await worker.rateLimit(300);
        throw Worker.RateLimitError();
      }
      return 'ok';
    });
    expect(starts).toHaveLength(2);
    expect(starts[1]!.at - starts[0]!.at).toBeGreaterThanOrEqual(300 - SLACK_MS);
    const done = (await q.getJob(job.id!))!;
    expect(await done.getState()).toBe('completed');
    // attempts: 1 and still completed: the limited start did not use the attempt.
    expect(done.attemptsMade).toBe(1);
    expect(done.attemptsStarted).toBe(2);
    await waitFor(() => seen.includes(`completed:${job.id}`), 3000, 'the completed event');
    expect(seen).toContain(`waiting:${job.id}`);
    expect(seen.some((s) => s.startsWith('failed:'))).toBe(false);
  });

  it('is known by its message, as one thrown in a sandboxed child arrives', () => {
    const err = new RateLimitError();
    expect(err.message).toBe('bullmq:rateLimitExceeded');
    expect(err.name).toBe('RateLimitError');
    expect(Worker.RateLimitError()).toBeInstanceOf(RateLimitError);
    expect(isRateLimitError({ name: 'Error', message: 'bullmq:rateLimitExceeded' })).toBe(true);
    expect(isRateLimitError(new Error('rate limited'))).toBe(false);
  });

  it('job.moveToWait answers what is left of the rate limit, as BullMQ', async () => {
    const { spool, q } = setup();
    await q.add('j', {});
    let answer = -1;
    await runAll(spool, 1, {}, async (job) => {
      if (job.attemptsStarted === 1) {
        await q.rateLimit(400);
        answer = await job.moveToWait(job.token);
        throw new WaitingError();
      }
      return 'ok';
    });
    expect(answer).toBeGreaterThan(300);
    expect(answer).toBeLessThanOrEqual(400);
  });
});

describe('rate-limit options are checked', () => {
  it('a bad limiter is refused with the fix', () => {
    const spool = tmpSpool();
    expect(() => new Worker('q', async () => undefined, { spool, autorun: false, limiter: { max: 0, duration: 1000 } })).toThrow(ConfigError);
    expect(() => new Worker('q', async () => undefined, { spool, autorun: false, limiter: { max: 2, duration: -1 } })).toThrow(/duration.*limiter: \{ max: 10, duration: 1000 \}/s);
  });

  it('setGlobalRateLimit and rateLimit refuse numbers that limit nothing', async () => {
    const { q } = setup();
    await expect(q.setGlobalRateLimit(0, 1000)).rejects.toMatchObject({ code: 'ERR_CONFIG' });
    await expect(q.rateLimit(0)).rejects.toMatchObject({ code: 'ERR_CONFIG' });
    const w = track(new Worker('q', async () => undefined, { spool: q.opts.spool as string, autorun: false }));
    await expect(w.rateLimit(Number.NaN)).rejects.toMatchObject({ code: 'ERR_CONFIG' });
    expect(await q.getRateLimitTtl()).toBe(-2);
    expect(await q.getGlobalRateLimit()).toBeNull();
  });
});
