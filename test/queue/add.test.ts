import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ConfigError, NotSupportedError, Queue, QueueEvents, type JobsOptions } from '../../src/index.js';
import { once, tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

function queue(spool = tmpSpool(), name = 'q'): Queue {
  return track(new Queue(name, { spool }));
}

describe('Queue.add', () => {
  it('gives automatic ids 1, 2, 3 and stores name, data, options and timestamp', async () => {
    const q = queue();
    const before = Date.now();
    const a = await q.add('email', { to: 'a@b.c' });
    const b = await q.add('email', { to: 'd@e.f' }, { attempts: 3 });
    const c = await q.add('sms', [1, 2, 3]);
    expect([a.id, b.id, c.id]).toEqual(['1', '2', '3']);
    const stored = await q.getJob('2');
    expect(stored?.name).toBe('email');
    expect(stored?.data).toEqual({ to: 'd@e.f' });
    expect(stored?.opts.attempts).toBe(3);
    expect(stored?.timestamp).toBeGreaterThanOrEqual(before);
    expect(stored?.attemptsMade).toBe(0);
    expect(stored?.progress).toBe(0);
    expect(await q.getJobState('3')).toBe('waiting');
  });

  it('continues the id sequence in a new Queue on the same spool', async () => {
    const spool = tmpSpool();
    const q1 = queue(spool);
    await q1.add('a', {});
    await q1.add('a', {});
    await q1.close();
    const q2 = queue(spool);
    expect((await q2.add('a', {})).id).toBe('3');
  });

  it('merges defaultJobOptions under job options', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool, defaultJobOptions: { attempts: 5, priority: 2 } }));
    const job = await q.add('x', {}, { priority: 7 });
    expect(job.opts).toMatchObject({ attempts: 5, priority: 7 });
    expect(await q.getJobState(job.id!)).toBe('prioritized');
  });

  it('routes by delay and priority', async () => {
    const q = queue();
    await q.add('a', {});
    await q.add('b', {}, { priority: 1 });
    await q.add('c', {}, { delay: 60_000 });
    await q.add('d', {}, { delay: 60_000, priority: 4 });
    expect(await q.getJobCounts()).toEqual({ active: 0, completed: 0, delayed: 2, failed: 0, prioritized: 1, waiting: 1, 'waiting-children': 0 });
    expect(await q.getJobCounts('waiting', 'wait', 'delayed')).toEqual({ waiting: 1, wait: 1, delayed: 2 });
  });

  it('ignores a duplicate jobId in any state and returns a job with the existing id', async () => {
    const spool = tmpSpool();
    const q = queue(spool);
    const events = track(new QueueEvents('q', { spool }));
    await events.waitUntilReady();
    const first = await q.add('a', { v: 1 }, { jobId: 'order-7' });
    const dup = once<[{ jobId: string }]>(events, 'duplicated');
    const second = await q.add('a', { v: 2 }, { jobId: 'order-7' });
    expect(second.id).toBe('order-7');
    expect((await dup)[0].jobId).toBe('order-7');
    expect((await q.getJob('order-7'))?.data).toEqual({ v: 1 });
    expect(await q.getJobCounts('waiting')).toEqual({ waiting: 1 });
    expect(first.id).toBe('order-7');
  });

  it('finds a duplicate of a visible job without writing a file or listing tmp/', async () => {
    const q = queue();
    await q.add('a', { v: 1 }, { jobId: 'seen' });
    await q.add('b', { v: 1 }, { jobId: 'later', delay: 60_000 });
    const writes = vi.spyOn(q.store, 'writeJobTmp');
    const listings = vi.spyOn(fs, 'readdirSync');
    try {
      expect((await q.add('a', { v: 2 }, { jobId: 'seen' })).id).toBe('seen');
      expect((await q.add('b', { v: 2 }, { jobId: 'later' })).id).toBe('later');
      expect(writes).not.toHaveBeenCalled();
      expect(listings.mock.calls.filter(([dir]) => String(dir).endsWith(`${path.sep}tmp`))).toEqual([]);
    } finally {
      vi.restoreAllMocks();
    }
    expect((await q.getJob('seen'))?.data).toEqual({ v: 1 });
    expect(await q.getJobCounts('waiting', 'delayed')).toEqual({ waiting: 1, delayed: 1 });
  });

  it('deduplicates against a visible job without writing a file or listing tmp/', async () => {
    const q = queue();
    const simple = await q.add('a', { v: 1 }, { deduplication: { id: 's' } });
    const throttled = await q.add('b', { v: 1 }, { deduplication: { id: 't', ttl: 60_000 } });
    const writes = vi.spyOn(q.store, 'writeJobTmp');
    const listings = vi.spyOn(fs, 'readdirSync');
    try {
      expect((await q.add('a', { v: 2 }, { deduplication: { id: 's' } })).id).toBe(simple.id);
      expect((await q.add('b', { v: 2 }, { deduplication: { id: 't', ttl: 60_000 } })).id).toBe(throttled.id);
      expect(writes).not.toHaveBeenCalled();
      expect(listings.mock.calls.filter(([dir]) => String(dir).endsWith(`${path.sep}tmp`))).toEqual([]);
    } finally {
      vi.restoreAllMocks();
    }
    expect(await q.getJobCounts('waiting')).toEqual({ waiting: 2 });
  });

  it('frees a jobId once the job is removed', async () => {
    const q = queue();
    await q.add('a', { v: 1 }, { jobId: 'k' });
    expect(await q.remove('k')).toBe(1);
    await q.add('a', { v: 2 }, { jobId: 'k' });
    expect((await q.getJob('k'))?.data).toEqual({ v: 2 });
  });

  it('counts every add in the automatic ids, custom ids and duplicates too, as BullMQ does', async () => {
    const q = queue();
    const ids: string[] = [];
    ids.push((await q.add('a', {})).id!);
    ids.push((await q.add('b', {}, { jobId: 'custom-1' })).id!);
    ids.push((await q.add('c', {})).id!);
    ids.push((await q.add('d', {}, { jobId: 'custom-1' })).id!);
    ids.push((await q.add('e', {})).id!);
    expect(ids).toEqual(['1', 'custom-1', '3', 'custom-1', '5']);
  });

  it('refuses invalid custom ids with BullMQ messages or a path reason', async () => {
    const q = queue();
    await expect(q.add('a', {}, { jobId: '42' })).rejects.toThrow(/Custom Id cannot be integers/);
    await expect(q.add('a', {}, { jobId: 'a:b' })).rejects.toThrow(/Custom Id cannot contain :/);
    await expect(q.add('a', {}, { jobId: 'a/b' })).rejects.toThrow(/path separator/);
    await expect(q.add('a', {}, { jobId: 'a\\b' })).rejects.toThrow(/path separator/);
    await expect(q.add('a', {}, { jobId: '..x' })).rejects.toThrow(/'\.\.'/);
    await expect(q.add('a', {}, { jobId: 'a\u0001b' })).rejects.toThrow(/control character/);
    await expect(q.add('a', {}, { jobId: 'x'.repeat(201) })).rejects.toThrow(/longer than 200 bytes/);
    await expect(q.add('a', {}, { jobId: 'x'.repeat(200) })).resolves.toBeTruthy();
  });

  it('refuses a timestamp that is not a finite number of ms (it would file the job where no reader looks)', async () => {
    const q = queue();
    for (const bad of [NaN, -5, Infinity, '1700000000000', new Date()]) {
      await expect(q.add('a', {}, { timestamp: bad as unknown as number, delay: 1000 })).rejects.toMatchObject({ code: 'ERR_INVALID_JOB', message: expect.stringMatching(/timestamp must be a time in ms since the epoch/) });
    }
    expect(await q.getJobCounts('waiting', 'delayed')).toEqual({ waiting: 0, delayed: 0 });
    const ok = await q.add('a', {}, { timestamp: 1_700_000_000_000 });
    expect(ok.timestamp).toBe(1_700_000_000_000);
  });

  it('refuses data that does not survive JSON, naming the field', async () => {
    const q = queue();
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    await expect(q.add('a', { f: () => 1 })).rejects.toThrow(/job data\.f is a function/);
    await expect(q.add('a', { n: 10n })).rejects.toThrow(/job data\.n is a BigInt/);
    await expect(q.add('a', { x: NaN })).rejects.toThrow(/job data\.x is NaN/);
    await expect(q.add('a', { d: new Date() })).rejects.toThrow(/job data\.d is a Date.*toISOString/);
    await expect(q.add('a', { m: new Map() })).rejects.toThrow(/is a Map/);
    await expect(q.add('a', cyclic)).rejects.toThrow(/cycle/);
    await expect(q.add('a', [1, undefined])).rejects.toThrow(/job data\[1\] is undefined/);
    await expect(q.add('a', undefined)).rejects.toThrow(/job data is undefined/);
    await expect(q.add('a', { nested: { 'odd key': Symbol('s') } })).rejects.toThrow(/job data\.nested\["odd key"\] is a symbol/);
    expect(await q.count()).toBe(0);
    const ok = await q.add('a', { fine: undefined, s: 'x', n: null });
    expect((await q.getJob(ok.id!))?.data).toEqual({ s: 'x', n: null });
  });

  it('has no 64 KiB limit but honours sizeLimit', async () => {
    const q = queue();
    const big = 'x'.repeat(300_000);
    const job = await q.add('big', { big });
    expect(((await q.getJob(job.id!))?.data as { big: string }).big.length).toBe(300_000);
    await expect(q.add('big', { big }, { sizeLimit: 1000 })).rejects.toThrow(/The size of job big exceeds the limit 1000 bytes/);
  });

  it('validates priority, delay, attempts and backoff', async () => {
    const q = queue();
    await expect(q.add('a', {}, { priority: 1.5 })).rejects.toThrow(/Priority should not be float/);
    await expect(q.add('a', {}, { priority: 2 ** 21 })).rejects.toThrow(/Priority should be between 0 and 2097151/);
    await expect(q.add('a', {}, { delay: -1 })).rejects.toThrow(/delay must be/);
    await expect(q.add('a', {}, { attempts: 1.5 })).rejects.toThrow(/attempts must be an integer/);
    await expect(q.add('a', {}, { backoff: { type: 'fixed', jitter: 2 } })).rejects.toThrow(/jitter/);
    await expect(q.add('a', {}, { removeOnComplete: 1.5 })).rejects.toThrow(/removeOnComplete/);
    // The object form too: { count: 1.5 } was accepted and kept a count no one asked for.
    await expect(q.add('a', {}, { removeOnComplete: { count: 1.5 } })).rejects.toMatchObject({ code: 'ERR_INVALID_JOB', message: 'removeOnComplete.count must be a whole number of jobs (-1 keeps all), got 1.5.' });
    await expect(q.add('a', {}, { removeOnFail: { count: Infinity, age: 60 } })).rejects.toThrow(/removeOnFail.count must be a whole number/);
  });

  it('refuses a backoff delay that is not a finite number, which retried at once with no backoff', async () => {
    const q = queue();
    const add = (backoff: unknown) => q.add('a', {}, { attempts: 3, backoff: backoff as number });
    await expect(add(Infinity)).rejects.toMatchObject({ code: 'ERR_INVALID_JOB', message: expect.stringMatching(/^backoff must be a delay in ms, a finite number >= 0.*backoff Infinity/) });
    await expect(add({ type: 'fixed', delay: '5000' })).rejects.toMatchObject({ code: 'ERR_INVALID_JOB', message: expect.stringMatching(/^backoff.delay must be a finite number of ms, such as 1000 \(job "a", got "5000"\)/) });
    await expect(add({ type: 'exponential', delay: Infinity })).rejects.toThrow(/backoff.delay must be a finite number/);
    await expect(add({ type: 'exponential', delay: Number.NaN })).rejects.toThrow(/backoff.delay must be a finite number/);
    expect(await q.count()).toBe(0);
    // A custom type needs no delay, and a negative one retries at once, as in BullMQ.
    for (const ok of [{ type: 'custom' }, { type: 'fixed', delay: -40 }, 0, 1000]) await add(ok);
    expect(await q.count()).toBe(4);
  });

  it('takes a backoff delay of null as no delay, as BullMQ and spoolkit before faf4e40 did (ERR_INVALID_JOB since)', async () => {
    const q = queue();
    await q.add('a', {}, { attempts: 3, backoff: { type: 'fixed', delay: null as unknown as number } });
    await q.add('a', {}, { attempts: 3, backoff: { type: 'exponential', delay: null as unknown as number } });
    expect(await q.count()).toBe(2);
  });

  it('leaves a jobId among defaultJobOptions unused, as BullMQ add() does (every add named that one job: the later ones were duplicates)', async () => {
    const q = track(new Queue('q', { spool: tmpSpool(), defaultJobOptions: { jobId: 'fixed', attempts: 2 } }));
    const a = await q.add('x', {});
    const b = await q.add('x', {});
    const [c] = await q.addBulk([{ name: 'y', data: {} }]);
    const d = await q.add('x', {}, { jobId: 'mine' });
    expect(new Set([a.id, b.id, c!.id, d.id]).size).toBe(4);
    expect(d.id).toBe('mine');
    expect(a.opts.attempts).toBe(2);
    expect(await q.count()).toBe(4);
  });

  it('refuses bad defaultJobOptions when the Queue is made, naming them (every add failed, naming the job)', () => {
    const spool = tmpSpool();
    const make = (defaultJobOptions: unknown) => () => new Queue('q', { spool, defaultJobOptions: defaultJobOptions as JobsOptions });
    expect(make({ attempts: '3' })).toThrow(ConfigError);
    expect(make({ attempts: '3' })).toThrow(/^Queue option defaultJobOptions: attempts must be an integer >= 0 .* Fix the Queue's defaultJobOptions\.$/);
    expect(make({ backoff: { type: 'fixed', delay: '5000' } })).toThrow(/^Queue option defaultJobOptions: backoff.delay must be a finite number/);
    expect(make('x')).toThrow(/^Queue option defaultJobOptions must be an object of job options, e.g. \{ attempts: 3 \}; got "x"\.$/);
    expect(make({ repeat: { every: 1000 } })).toThrow(NotSupportedError);
    for (const ok of [undefined, null, {}, { attempts: 3, backoff: 1000, removeOnComplete: true, priority: null }]) track(make(ok)());
  });

  it('accepts a negative removeOnComplete / removeOnFail count, which keeps every job (BullMQ)', async () => {
    const q = queue();
    for (const keep of [-1, { count: -1 }, { count: -1, age: 60 }]) {
      const job = await q.add('a', {}, { removeOnComplete: keep, removeOnFail: keep });
      expect((await q.getJob(job.id!))?.opts.removeOnComplete).toEqual(keep);
    }
  });

  it('throws NotSupportedError for v5 repeat, never a silent no-op; a missing parent is refused with BullMQ\'s message', async () => {
    const q = queue();
    await expect(q.add('a', {}, { repeat: { every: 1000 } })).rejects.toBeInstanceOf(NotSupportedError);
    await expect(q.add('a', {}, { parent: { id: '1', queue: 'bull:p' } })).rejects.toThrow('Missing key for parent job bull:p:1. addJob');
    expect(await q.count()).toBe(0);
  });

  it('refuses bad queue names', () => {
    const spool = tmpSpool();
    expect(() => new Queue('a:b', { spool })).toThrow(/^Queue name cannot contain :/);
    expect(() => new Queue('../x', { spool })).toThrow(/path separator/);
    expect(() => new Queue('', { spool })).toThrow(/non-empty/);
  });
});

describe('Queue.addBulk', () => {
  it('adds every job in order', async () => {
    const q = queue();
    const jobs = await q.addBulk([
      { name: 'a', data: 1 },
      { name: 'b', data: 2, opts: { priority: 3 } },
      { name: 'c', data: 3, opts: { jobId: 'cee' } },
    ]);
    expect(jobs.map((j) => j.id)).toEqual(['1', '2', 'cee']);
    expect(await q.getJobCounts('waiting', 'prioritized')).toEqual({ waiting: 2, prioritized: 1 });
  });

  it('is all or nothing when one job is invalid', async () => {
    const q = queue();
    await expect(
      q.addBulk([
        { name: 'a', data: 1 },
        { name: 'b', data: { f: () => 0 } },
      ]),
    ).rejects.toThrow(/function/);
    expect(await q.count()).toBe(0);
    expect((await q.add('c', {})).id).toBe('1');
  });

  it('refuses an argument that is not an array of job objects with ERR_INVALID_JOB, adding nothing (a TypeError came from inside)', async () => {
    const q = queue();
    const addBulk = q.addBulk.bind(q) as (jobs: unknown) => Promise<unknown>;
    await expect(addBulk({ name: 'a', data: 1 })).rejects.toMatchObject({ code: 'ERR_INVALID_JOB', message: expect.stringMatching(/^addBulk takes an array of jobs, got object; e.g. addBulk\(\[/) });
    await expect(addBulk(undefined)).rejects.toMatchObject({ code: 'ERR_INVALID_JOB' });
    await expect(addBulk([{ name: 'a', data: 1 }, null])).rejects.toMatchObject({ code: 'ERR_INVALID_JOB', message: expect.stringMatching(/^addBulk: jobs\[1\] must be an object \{ name, data, opts\? \}, got null/) });
    expect(await q.count()).toBe(0);
  });

  it('tells nobody of a duplicate or deduplicated job when the call fails later and is undone', async () => {
    const spool = tmpSpool();
    const q = queue(spool);
    const events = track(new QueueEvents('q', { spool }));
    await events.waitUntilReady();
    const heard: string[] = [];
    events.on('duplicated', ({ jobId }: { jobId: string }) => heard.push(`duplicated ${jobId}`));
    events.on('deduplicated', ({ jobId }: { jobId: string }) => heard.push(`deduplicated ${jobId}`));
    await q.add('a', {}, { jobId: 'taken' });
    const held = await q.add('b', {}, { deduplication: { id: 'k' } });
    // A file where the delayed set's directory belongs makes the last job's publish fail (ENOTDIR).
    const delayedDir = path.join(spool, 'queues', 'q', 'delayed');
    fs.rmSync(delayedDir, { recursive: true, force: true });
    fs.writeFileSync(delayedDir, 'not a directory');
    const bulk = [
      { name: 'c', data: 1, opts: { jobId: 'taken' } },
      { name: 'd', data: 2, opts: { deduplication: { id: 'k' } } },
      { name: 'e', data: 3, opts: { delay: 60_000 } },
    ];
    await expect(q.addBulk(bulk)).rejects.toThrow();
    fs.rmSync(delayedDir);
    // The new jobs' events are logged before they are visible; a standing-in job's after the call.
    const last = once<[{ jobId: string }]>(events, 'deduplicated');
    await q.addBulk(bulk);
    await last;
    expect(heard).toEqual(['duplicated taken', `deduplicated ${held.id}`]);
  });
});

describe('job options as BullMQ reads them', () => {
  it('a null option is not set: the job gets its default and nothing is stored for it', async () => {
    const q = queue();
    const keys = ['priority', 'delay', 'attempts', 'backoff', 'timestamp', 'keepLogs', 'removeOnComplete', 'removeOnFail', 'deduplication', 'jobId'];
    for (const key of keys) {
      const before = Date.now();
      const job = await q.add('a', {}, { [key]: null } as JobsOptions);
      const stored = (await q.getJob(job.id!))!;
      expect(stored.opts, key).toEqual({ attempts: 0 });
      expect(await q.getJobState(job.id!), key).toBe('waiting');
      expect([stored.priority, stored.delay, stored.timestamp >= before], key).toEqual([0, 0, true]);
    }
    expect(await q.count()).toBe(keys.length);
  });

  it("jobId '' gets an automatic id", async () => {
    expect((await queue().add('a', {}, { jobId: '' })).id).toBe('1');
  });

  it('sizeLimit 0 is no limit', async () => {
    expect((await queue().add('a', { big: 'x'.repeat(1000) }, { sizeLimit: 0 })).id).toBe('1');
  });

  it('timestamp 0 is now, for the stored job and its due time', async () => {
    const q = queue();
    const before = Date.now();
    const job = await q.add('a', {}, { timestamp: 0, delay: 60_000 });
    expect(job.timestamp).toBeGreaterThanOrEqual(before);
    expect((await q.getJob(job.id!))!.timestamp).toBe(job.timestamp);
    // Due a minute from now, not in 1970: not promoted by a due check.
    expect(await q.getJobState(job.id!)).toBe('delayed');
  });

  it('a numeric backoff is stored as { type: fixed, delay }; repeatJobKey is a job field, not an option', async () => {
    const q = queue();
    const job = await q.add('a', {}, { backoff: 1000, repeatJobKey: 'sched' });
    const stored = (await q.getJob(job.id!))!;
    for (const j of [job, stored]) {
      expect(j.opts.backoff).toEqual({ type: 'fixed', delay: 1000 });
      expect(j.opts).not.toHaveProperty('repeatJobKey');
      expect(j.repeatJobKey).toBe('sched');
    }
  });

  it('refuses the removed debounce option with BullMQ\'s message and adds nothing', async () => {
    const q = queue();
    await expect(q.add('a', {}, { debounce: { id: 'x' } } as JobsOptions)).rejects.toMatchObject({
      code: 'ERR_INVALID_JOB',
      message: 'Debounce option has been removed. Use deduplication option instead',
    });
    expect(await q.count()).toBe(0);
  });

  it("words the jobId '0' and jitter errors as BullMQ does", async () => {
    const q = queue();
    for (const jobId of ['0', '0:x']) {
      await expect(q.add('a', {}, { jobId })).rejects.toMatchObject({ code: 'ERR_INVALID_JOB', message: expect.stringMatching(/^JobId cannot be '0' or start with '0:'/) });
    }
    for (const jitter of [1.5, -0.1]) {
      await expect(q.add('a', {}, { backoff: { type: 'fixed', delay: 10, jitter } })).rejects.toMatchObject({ code: 'ERR_INVALID_JOB', message: expect.stringMatching(/^Jitter should be between 0 and 1/) });
    }
  });
});

describe('deduplication', () => {
  it('a ttl of 0 or less is simple mode (BullMQ)', async () => {
    const q = queue();
    const a = await q.add('a', {}, { deduplication: { id: 'z', ttl: 0 } });
    await new Promise((r) => setTimeout(r, 20));
    expect((await q.add('a', {}, { deduplication: { id: 'z', ttl: -5 } })).id).toBe(a.id);
    expect(await q.getDeduplicationJobId('z')).toBe(a.id);
    expect(await q.count()).toBe(1);
  });

  it('simple mode: a second add with the same id is dropped until the first job finishes', async () => {
    const spool = tmpSpool();
    const q = queue(spool);
    const events = track(new QueueEvents('q', { spool }));
    await events.waitUntilReady();
    const a = await q.add('a', { n: 1 }, { deduplication: { id: 'user-1' } });
    const seen = once<[{ jobId: string; deduplicationId: string; deduplicatedJobId: string }]>(events, 'deduplicated');
    const b = await q.add('a', { n: 2 }, { deduplication: { id: 'user-1' } });
    expect(b.id).toBe(a.id);
    const [args] = await seen;
    expect(args).toMatchObject({ jobId: a.id, deduplicationId: 'user-1' });
    expect(args.deduplicatedJobId).not.toBe(a.id);
    expect(await q.getDeduplicationJobId('user-1')).toBe(a.id);
    expect(await q.count()).toBe(1);
    await q.remove(a.id!);
    const c = await q.add('a', { n: 3 }, { deduplication: { id: 'user-1' } });
    expect(c.id).not.toBe(a.id);
  });

  it('ttl mode: the key expires after ttl ms even while the job waits', async () => {
    const q = queue();
    const a = await q.add('a', {}, { deduplication: { id: 't', ttl: 150 } });
    expect((await q.add('a', {}, { deduplication: { id: 't', ttl: 150 } })).id).toBe(a.id);
    await new Promise((r) => setTimeout(r, 200));
    const c = await q.add('a', {}, { deduplication: { id: 't', ttl: 150 } });
    expect(c.id).not.toBe(a.id);
    expect(await q.count()).toBe(2);
  });

  it('reschedule: a duplicate re-files a delayed holder to be due after its own delay, stored, with a delayed event', async () => {
    const spool = tmpSpool();
    const q = queue(spool);
    const events = track(new QueueEvents('q', { spool }));
    await events.waitUntilReady();
    const delayed: { jobId: string; delay: number }[] = [];
    events.on('delayed', (args: { jobId: string; delay: number }) => delayed.push(args));
    const a = await q.add('a', {}, { delay: 60_000, deduplication: { id: 'r', ttl: 10_000, reschedule: true } });
    const before = Date.now();
    const b = await q.add('b', {}, { delay: 500, deduplication: { id: 'r', ttl: 10_000, reschedule: true } });
    const after = Date.now();
    expect(b.id).toBe(a.id);
    await waitFor(() => delayed.length === 2, 3000, 'two delayed events');
    // The second is the holder's, due 500 ms after the duplicate's timestamp.
    expect(delayed[1]!.jobId).toBe(a.id);
    expect(delayed[1]!.delay).toBeGreaterThanOrEqual(before + 500);
    expect(delayed[1]!.delay).toBeLessThanOrEqual(after + 500);
    const held = (await q.getJob(a.id!))!;
    expect([held.name, held.delay, await held.getState()]).toEqual(['a', 500, 'delayed']);
    expect(await q.count()).toBe(1);
  });

  it('reschedule leaves a holder that is not delayed as it is; with extend it reschedules a delayed holder too', async () => {
    const q = queue();
    const a = await q.add('a', {}, { deduplication: { id: 'w', reschedule: true } });
    expect((await q.add('b', {}, { delay: 5000, deduplication: { id: 'w', reschedule: true } })).id).toBe(a.id);
    const held = (await q.getJob(a.id!))!;
    expect([held.delay, await held.getState()]).toEqual([0, 'waiting']);
    const c = await q.add('c', {}, { delay: 100, deduplication: { id: 'x', ttl: 60_000, extend: true, reschedule: true } });
    expect((await q.add('d', {}, { delay: 7000, deduplication: { id: 'x', ttl: 60_000, extend: true, reschedule: true } })).id).toBe(c.id);
    const moved = (await q.getJob(c.id!))!;
    expect([moved.delay, await moved.getState()]).toEqual([7000, 'delayed']);
  });

  it('removeDeduplicationKey frees the key', async () => {
    const q = queue();
    const a = await q.add('a', {}, { deduplication: { id: 'x' } });
    expect(await q.removeDeduplicationKey('x')).toBe(1);
    expect((await q.add('a', {}, { deduplication: { id: 'x' } })).id).not.toBe(a.id);
  });
});
