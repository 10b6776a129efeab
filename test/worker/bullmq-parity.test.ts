import { describe, expect, it } from 'vitest';
import { ConfigError, Queue, Worker, type Job, type WorkerOptions } from '../../src/index.js';
import { envSpool, tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

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

describe('Worker options that would break jobs later are refused by the constructor', () => {
  const make = (opts: Record<string, unknown>) => () => new Worker('q', async () => undefined, { spool: tmpSpool(), autorun: false, ...(opts as WorkerOptions) });

  it('maxStartedAttempts below 0 or not a number (BullMQ refuses a negative one; -1 failed every job at its first start)', () => {
    expect(make({ maxStartedAttempts: -1 })).toThrow(ConfigError);
    expect(make({ maxStartedAttempts: -1 })).toThrow(/`maxStartedAttempts` to be a number >= 0, got `-1`.*leave it out/);
    expect(make({ maxStartedAttempts: 'three' })).toThrow(ConfigError);
    expect(make({ maxStartedAttempts: Number.NaN })).toThrow(ConfigError);
    track(make({ maxStartedAttempts: 0 })());
    track(make({ maxStartedAttempts: 3 })());
  });

  it('maxStartedAttempts null (no limit) or a string of digits, and settings null, as BullMQ takes them (refused since 29031ee)', () => {
    track(make({ maxStartedAttempts: null })());
    track(make({ maxStartedAttempts: '3' })());
    track(make({ settings: null })());
  });

  it('settings that is not an object, or a backoffStrategy that is not a function (each retry of a custom backoff type failed with a TypeError)', () => {
    expect(make({ settings: 'x' })).toThrow(/`settings` must be an object/);
    expect(make({ settings: { backoffStrategy: 'linear' } })).toThrow(ConfigError);
    expect(make({ settings: { backoffStrategy: 'linear' } })).toThrow(/`settings.backoffStrategy` must be a function, got string/);
    track(make({ settings: {} })());
    track(make({ settings: { backoffStrategy: () => 10 } })());
  });

  it('a lockRenewTime at or past lockDuration (each running job looked stalled to the other workers, ran again and failed as stalled; BullMQ accepts it)', () => {
    expect(make({ lockDuration: 300, lockRenewTime: 5000 })).toThrow(ConfigError);
    expect(make({ lockDuration: 300, lockRenewTime: 5000 })).toThrow(/^Expected `lockRenewTime` \(5000 ms\) to be below `lockDuration` \(300 ms\).*Leave lockRenewTime out/);
    expect(make({ lockRenewTime: 30_000 })).toThrow(/below `lockDuration` \(30000 ms\)/);
    track(make({ lockDuration: 300, lockRenewTime: 5000, skipLockRenewal: true })());
    track(make({ lockDuration: 300, lockRenewTime: 299 })());
    track(make({ lockDuration: 1 })());
  });

  it('takes what BullMQ reads as not given: removeOnComplete/removeOnFail null, lockRenewTime null or 0 (half of lockDuration)', () => {
    const spool = tmpSpool();
    const opts = { spool, autorun: false, lockDuration: 10_000, lockRenewTime: null, removeOnComplete: null, removeOnFail: null } as unknown as WorkerOptions;
    const w = track(new Worker('q', async () => undefined, opts));
    expect(w.opts.lockRenewTime).toBe(5000);
    expect(w.opts.removeOnComplete).toBeUndefined();
    expect((opts as { lockRenewTime: unknown }).lockRenewTime).toBeNull(); // the caller's object is left as it was
    const zero = track(new Worker('q', async () => undefined, { spool, autorun: false, lockRenewTime: 0 }));
    expect(zero.opts.lockRenewTime).toBe(15_000);
  });

  it('a drainDelay longer than a Node timer holds (a blocking getNextJob returned at once)', () => {
    expect(make({ drainDelay: 1e9 })).toThrow(ConfigError);
    expect(make({ drainDelay: 1e9 })).toThrow(/`drainDelay` to be at most 2147483 seconds/);
    track(make({ drainDelay: 2_147_483 })());
  });
});

describe('null options', () => {
  it('new Worker(name, processor, null) reads as no options (a TypeError before)', () => {
    const spool = envSpool();
    const w = track(new Worker('q', null, null as never));
    expect(w.opts).toMatchObject({ concurrency: 1, autorun: true });
    expect(w.store.root).toBe(spool);
  });
});
