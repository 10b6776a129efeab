import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Job, Queue, QueueEvents, Worker } from '../../src/index.js';
import { appendPatch } from '../../src/spool/record.js';
import { filesUnder, sleep, tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

function setup() {
  const spool = tmpSpool();
  const q = track(new Queue('q', { spool }));
  return { spool, q };
}

describe('Job methods', () => {
  it('updateProgress from the processor reaches the stored job, the worker and QueueEvents', async () => {
    const { spool, q } = setup();
    const events = track(new QueueEvents('q', { spool }));
    await events.waitUntilReady();
    const remote: unknown[] = [];
    events.on('progress', (a: { data: unknown }) => remote.push(a.data));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const w = track(
      new Worker(
        'q',
        async (job) => {
          await job.updateProgress(40);
          await job.updateProgress({ step: 2 });
          await gate;
          return 'ok';
        },
        { spool },
      ),
    );
    const local: unknown[] = [];
    w.on('progress', (_job: unknown, p: unknown) => local.push(p));
    const job = await q.add('x', {});
    await waitFor(async () => JSON.stringify((await q.getJob(job.id!))?.progress) === '{"step":2}', 3000);
    expect(await q.getJobState(job.id!)).toBe('active');
    release();
    await waitFor(() => remote.length === 2, 3000);
    expect(remote).toEqual([40, { step: 2 }]);
    expect(local).toEqual([40, { step: 2 }]);
    await waitFor(async () => (await q.getJobState(job.id!)) === 'completed', 3000);
    expect((await q.getJob(job.id!))!.progress).toEqual({ step: 2 });
  });

  it('updateProgress and updateData work on waiting jobs from another process view', async () => {
    const { q } = setup();
    const job = await q.add('x', { a: 1 });
    await job.updateProgress(10);
    await job.updateData({ a: 2 });
    const again = (await q.getJob(job.id!))!;
    expect(again.progress).toBe(10);
    expect(again.data).toEqual({ a: 2 });
    expect(await again.getState()).toBe('waiting');
    await expect(job.updateData({ f: () => 1 } as never)).rejects.toThrow(/function/);
  });

  it('log appends rows, returns the count, and keepLogs trims', async () => {
    const { q } = setup();
    const job = await q.add('x', {}, { keepLogs: 2 });
    expect(await job.log('one')).toBe(1);
    expect(await job.log('two')).toBe(2);
    expect(await job.log('three')).toBe(2);
    expect(await q.getJobLogs(job.id!)).toEqual({ logs: ['two', 'three'], count: 2 });
    expect(await q.getJobLogs(job.id!, 0, 0, false)).toEqual({ logs: ['three'], count: 2 });
    await job.clearLogs();
    expect((await q.getJobLogs(job.id!)).count).toBe(0);
  });

  it('clearLogs(keep) trims to the last rows, and makes no log file for a job that has none or was removed', async () => {
    const { q } = setup();
    const job = await q.add('x', {});
    for (const r of ['a', 'b', 'c']) await job.log(r);
    await job.clearLogs(2);
    expect(await q.getJobLogs(job.id!)).toEqual({ logs: ['b', 'c'], count: 2 });
    const logsDir = path.join(q.store.dir, 'logs');
    const bare = await q.add('x', {});
    await bare.clearLogs(5);
    expect(fs.existsSync(path.join(logsDir, `${bare.id}.jsonl`))).toBe(false);
    await q.remove(job.id!);
    await job.clearLogs(1);
    expect(fs.existsSync(path.join(logsDir, `${job.id}.jsonl`))).toBe(false);
  });

  it('getState follows the job through its states', async () => {
    const { spool, q } = setup();
    const job = await q.add('x', {}, { delay: 100 });
    expect(await job.getState()).toBe('delayed');
    expect(await job.isDelayed()).toBe(true);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    track(new Worker('q', async () => gate, { spool }));
    await waitFor(async () => (await job.getState()) === 'active', 3000);
    expect(await job.isActive()).toBe(true);
    release();
    await waitFor(() => job.isCompleted(), 3000);
    await job.remove();
    expect(await job.getState()).toBe('unknown');
  });

  it('remove refuses a job locked by a worker', async () => {
    const { spool, q } = setup();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    track(new Worker('q', async () => gate, { spool }));
    const job = await q.add('x', {});
    await waitFor(async () => (await job.getState()) === 'active', 3000);
    await expect(job.remove()).rejects.toThrow(/locked by another worker/);
    expect(await q.remove(job.id!)).toBe(0);
    release();
  });

  it('retry moves a failed job back to waiting; only finished jobs can be retried', async () => {
    const { spool, q } = setup();
    let fail = true;
    track(
      new Worker(
        'q',
        async () => {
          if (fail) throw new Error('first');
          return 'second';
        },
        { spool },
      ),
    );
    const job = await q.add('x', {});
    await waitFor(async () => (await job.getState()) === 'failed', 3000);
    const failed = (await q.getJob(job.id!))!;
    fail = false;
    await failed.retry();
    await waitFor(async () => (await job.getState()) === 'completed', 3000);
    const done = (await q.getJob(job.id!))!;
    expect(done.returnvalue).toBe('second');
    expect(done.failedReason).toBeUndefined();
    expect(done.attemptsMade).toBe(2);
    await expect(done.retry('failed')).rejects.toThrow(/not in the failed state/);
    await done.retry('completed', { resetAttemptsMade: true });
    await waitFor(async () => (await job.getState()) === 'completed' && (await q.getJob(job.id!))!.attemptsMade === 1, 3000);
  });

  it('promote runs a delayed job now; changeDelay and changePriority re-file it', async () => {
    const { q } = setup();
    const a = await q.add('x', {}, { delay: 60_000 });
    await a.promote();
    expect(await a.getState()).toBe('waiting');
    await expect(a.promote()).rejects.toThrow(/not in the delayed state/);
    const b = await q.add('x', {}, { delay: 60_000 });
    await b.changeDelay(120_000);
    expect(await b.getState()).toBe('delayed');
    expect((await q.getJob(b.id!))!.delay).toBe(120_000);
    const c = await q.add('x', {});
    await c.changePriority({ priority: 9 });
    expect(await c.getState()).toBe('prioritized');
    expect((await q.getJob(c.id!))!.priority).toBe(9);
  });

  it('changeDelay, changePriority and moveToDelayed refuse values that would file a job where it never runs; the job stays as it was', async () => {
    const { q } = setup();
    const d = await q.add('x', {}, { delay: 60_000 });
    for (const bad of [NaN, -1, Infinity, '10' as unknown as number]) {
      await expect(d.changeDelay(bad)).rejects.toMatchObject({ code: 'ERR_INVALID_JOB', message: expect.stringMatching(/delay must be a number of ms >= 0/) });
    }
    expect(await d.getState()).toBe('delayed');
    expect((await q.getJob(d.id!))!.delay).toBe(60_000);
    const w = await q.add('x', {});
    for (const bad of [1.5, -1, 2 ** 21, '3' as unknown as number]) {
      await expect(w.changePriority({ priority: bad })).rejects.toMatchObject({ code: 'ERR_INVALID_JOB' });
    }
    expect(await w.getState()).toBe('waiting');
    await expect(w.moveToDelayed(NaN)).rejects.toMatchObject({ code: 'ERR_INVALID_JOB', message: expect.stringMatching(/moveToDelayed timestamp must be a time in ms/) });
    expect(await q.getJobCounts('waiting', 'delayed', 'prioritized')).toEqual({ waiting: 1, delayed: 1, prioritized: 0 });
  });

  it('changePriority of an active job stores the priority (not in opts), as BullMQ does', async () => {
    const { spool, q } = setup();
    const job = await q.add('x', {}, { priority: 3 });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const worker = track(new Worker('q', async () => held, { spool }));
    await waitFor(async () => (await job.getState()) === 'active', 3000);
    await job.changePriority({ priority: 7 });
    expect((await q.getJob(job.id!))!.priority).toBe(7);
    expect((await q.getJob(job.id!))!.opts.priority).toBe(3);
    release();
    await waitFor(async () => (await job.getState()) === 'completed', 3000);
    await worker.close();
    await expect((await q.getJob(job.id!))!.changePriority({ priority: 1 })).resolves.toBeUndefined();
    await q.remove(job.id!);
    await expect(job.changePriority({ priority: 1 })).rejects.toMatchObject({ code: 'ERR_JOB_NOT_FOUND' });
  });

  it('a retry of a job whose priority changed while it ran is filed under the new priority', async () => {
    const { spool, q } = setup();
    const job = await q.add('x', {}, { priority: 3, attempts: 2 });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const worker = track(new Worker('q', async (j) => {
      if (j.attemptsMade === 0) {
        await held;
        throw new Error('again');
      }
    }, { spool, autorun: false }));
    void worker.run();
    await waitFor(async () => (await job.getState()) === 'active', 3000);
    await job.changePriority({ priority: 8 });
    // Claims nothing more (the retry stays where it is filed); the running job goes on.
    await worker.pause(true);
    release();
    await waitFor(async () => (await job.getState()) === 'prioritized', 3000);
    const files = filesUnder(path.join(q.store.dir, 'prioritized'));
    expect(files).toHaveLength(1);
    expect(path.relative(path.join(q.store.dir, 'prioritized'), files[0]!).split(path.sep)[0]).toBe('0000008');
    expect((await q.getJob(job.id!))!.priority).toBe(8);
    await worker.close();
  });

  it('asJSON uses BullMQ string fields; toJSON drops the queue', async () => {
    const { q } = setup();
    const job = await q.add('x', { a: [1] });
    const json = job.asJSON();
    expect(json.data).toBe('{"a":[1]}');
    expect(json.returnvalue).toBe('null');
    expect(json.stacktrace).toBe('[]');
    expect(job.toJSON()).not.toHaveProperty('queue');
    expect(job.queueName).toBe('q');
  });
});

describe('waitUntilFinished', () => {
  it('resolves with the return value, or rejects with the failure reason', async () => {
    const { spool, q } = setup();
    const events = track(new QueueEvents('q', { spool }));
    await events.waitUntilReady();
    track(
      new Worker(
        'q',
        async (job) => {
          if (job.data.fail) throw new Error('it broke');
          return { doubled: job.data.n * 2 };
        },
        { spool },
      ),
    );
    const ok = await q.add('x', { n: 21 });
    const bad = await q.add('x', { fail: true });
    await expect(ok.waitUntilFinished(events, 5000)).resolves.toEqual({ doubled: 42 });
    await expect(bad.waitUntilFinished(events, 5000)).rejects.toThrow('it broke');
  });

  it('settles for a job that already finished before the call', async () => {
    const { spool, q } = setup();
    track(new Worker('q', async () => 'early', { spool }));
    const job = await q.add('x', {});
    await waitFor(async () => (await job.getState()) === 'completed', 3000);
    const events = track(new QueueEvents('q', { spool }));
    await expect(job.waitUntilFinished(events, 2000)).resolves.toBe('early');
  });

  it('resolves for a job removed on completion (event seen)', async () => {
    const { spool, q } = setup();
    const events = track(new QueueEvents('q', { spool }));
    await events.waitUntilReady();
    const job = await q.add('x', {}, { removeOnComplete: true });
    const waiting = job.waitUntilFinished(events, 5000);
    track(new Worker('q', async () => 'gone but seen', { spool }));
    await expect(waiting).resolves.toBe('gone but seen');
    expect(await job.getState()).toBe('unknown');
  });

  it('never hangs: rejects when the job is removed before it finishes', async () => {
    const { spool, q } = setup();
    const events = track(new QueueEvents('q', { spool }));
    await events.waitUntilReady();
    const job = await q.add('x', {});
    const waiting = job.waitUntilFinished(events);
    await sleep(50);
    await q.remove(job.id!);
    await expect(waiting).rejects.toThrow(/no longer exists/);
  });

  it('settles by the stored state when no event comes, for more waits than one re-check round takes', async () => {
    const { spool, q } = setup();
    const events = track(new QueueEvents('q', { spool }));
    events.on('error', () => {});
    await events.waitUntilReady();
    // Waits that stay pending (jobs delayed for a minute) come first: the re-checks must get past them.
    const later = await q.addBulk(Array.from({ length: 1200 }, (_, i) => ({ name: 'later', data: { i }, opts: { delay: 60_000 } })));
    for (const j of later) j.waitUntilFinished(events).catch(() => {});
    const jobs = await q.addBulk(Array.from({ length: 300 }, (_, i) => ({ name: 'x', data: { i } })));
    const waits = jobs.map((j) => j.waitUntilFinished(events, 20_000));
    // No event can be written or read any more: a file where the log's directory belongs.
    const logDir = path.join(spool, 'queues', 'q', 'events');
    fs.rmSync(logDir, { recursive: true, force: true });
    fs.writeFileSync(logDir, 'not a directory');
    const w = track(new Worker('q', async (job) => (job.data as { i: number }).i * 2, { spool, concurrency: 50 }));
    w.on('error', () => {});
    const results = await Promise.all(waits);
    expect(results).toEqual(jobs.map((_, i) => i * 2));
  }, 30_000);

  it('settles on an outcome written into the job file before its rename into completed/', async () => {
    const { spool, q } = setup();
    const events = track(new QueueEvents('q', { spool }));
    await events.waitUntilReady();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const w = track(new Worker('q', async () => gate.then(() => 'late'), { spool }));
    const job = await q.add('x', {});
    await waitFor(async () => (await job.getState()) === 'active', 3000);
    const waiting = job.waitUntilFinished(events, 5000);
    // What a finishing worker writes first (the rename follows): the wait reads it from there.
    const activeDir = path.join(spool, 'queues', 'q', 'active');
    appendPatch(path.join(activeDir, fs.readdirSync(activeDir)[0]!), { st: 'completed', returnvalue: 'written' });
    await expect(waiting).resolves.toBe('written');
    release();
    await w.close();
  });

  it('rejects after ttl with BullMQ\'s message', async () => {
    const { spool, q } = setup();
    const events = track(new QueueEvents('q', { spool }));
    const job = await q.add('x', {});
    await expect(job.waitUntilFinished(events, 100)).rejects.toThrow(/timed out before finishing/);
  });

  it('takes a ttl of null as no limit, as BullMQ (if (ttl)) and spoolkit before 4efe12b did (a UsageError since)', async () => {
    const { spool, q } = setup();
    const events = track(new QueueEvents('q', { spool }));
    const job = await q.add('x', {});
    const wait = job.waitUntilFinished.bind(job) as (events: unknown, ttl?: unknown) => Promise<unknown>;
    const finished = wait(events, null);
    track(new Worker('q', async () => 'done', { spool }));
    await expect(finished).resolves.toBe('done');
  });

  it('refuses a ttl it cannot time (negative or NaN waited forever; past a Node timer it timed out at once, with a warning printed) and a missing QueueEvents', async () => {
    const { spool, q } = setup();
    const events = track(new QueueEvents('q', { spool }));
    const job = await q.add('x', {});
    const wait = job.waitUntilFinished.bind(job) as (events: unknown, ttl?: unknown) => Promise<unknown>;
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      for (const ttl of [-1, Number.NaN, '5000', 1e12]) {
        await expect(wait(events, ttl)).rejects.toMatchObject({ code: 'ERR_USAGE', message: expect.stringMatching(/^waitUntilFinished: ttl must be a number of ms from 0 \(no limit\) to 2147483647, got .*leave it out/) });
      }
      await expect(wait(null, 100)).rejects.toMatchObject({ code: 'ERR_USAGE', message: expect.stringMatching(/pass a QueueEvents of the job's queue/) });
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.map((w) => w.name)).not.toContain('TimeoutOverflowWarning');
    } finally {
      process.off('warning', onWarning);
    }
    await expect(wait(events, 0.5)).rejects.toThrow(/timed out before finishing/);
  });
});

describe('new Job', () => {
  it('takes a timestamp of 0 as now, as BullMQ (opts.timestamp || Date.now())', () => {
    const { q } = setup();
    const before = Date.now();
    expect(new Job(q, 'n', {}, { timestamp: 0 }).timestamp).toBeGreaterThanOrEqual(before);
    expect(new Job(q, 'n', {}, { timestamp: 1000 }).timestamp).toBe(1000);
  });
});
