import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue, UsageError, Worker, type Job } from '../../src/index.js';
import { sleep, tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';
import { parseJobRecord } from '../../src/spool/record.js';
import { readJob } from '../../src/spool/lookup.js';
import { retryFinished } from '../../src/spool/admin.js';
import { keepLateClaims } from '../../src/spool/bulk.js';
import { openQueueStore } from '../../src/spool/open.js';
import { spawn } from 'node:child_process';

function setup() {
  const spool = tmpSpool();
  const q = track(new Queue('q', { spool }));
  return { spool, q };
}

describe('pause and resume', () => {
  it('stops every worker from claiming while paused; waiting jobs stay waiting', async () => {
    const { spool, q } = setup();
    await q.pause();
    expect(await q.isPaused()).toBe(true);
    const done: string[] = [];
    track(new Worker('q', async (j) => void done.push(j.id!), { spool, pollIntervalMs: 50 }));
    await q.add('x', {});
    await sleep(300);
    expect(done).toEqual([]);
    expect(await q.getJobCounts('waiting')).toEqual({ waiting: 1 });
    await q.resume();
    expect(await q.isPaused()).toBe(false);
    await waitFor(() => done.length === 1, 3000);
  });

  it('Worker.pause is local to the worker', async () => {
    const { spool, q } = setup();
    const done: string[] = [];
    const w = track(new Worker('q', async (j) => void done.push(j.id!), { spool, pollIntervalMs: 50 }));
    await w.pause();
    expect(w.isPaused()).toBe(true);
    await q.add('x', {});
    await sleep(200);
    expect(done).toEqual([]);
    await w.resume();
    await waitFor(() => done.length === 1, 3000);
  });
});

describe('drain, clean, obliterate, remove', () => {
  it('drain removes waiting and prioritized jobs, and delayed ones only when asked', async () => {
    const { q } = setup();
    await q.add('a', {});
    await q.add('b', {}, { priority: 2 });
    const d = await q.add('c', {}, { delay: 60_000 });
    await q.add('e', {}, { jobId: 'custom' });
    await q.drain();
    expect(await q.getJobCounts('waiting', 'prioritized', 'delayed')).toEqual({ waiting: 0, prioritized: 0, delayed: 1 });
    expect(await q.getJob('custom')).toBeUndefined();
    await q.add('e', {}, { jobId: 'custom' }); // the id was freed
    await q.drain(true);
    expect(await q.getJob(d.id!)).toBeUndefined();
    expect(await q.count()).toBe(0);
  });

  it('clean removes finished jobs older than the grace period, up to a limit', async () => {
    const { spool, q } = setup();
    track(new Worker('q', async () => 'ok', { spool }));
    for (let i = 0; i < 5; i++) await q.add('x', i);
    await waitFor(async () => (await q.getCompletedCount()) === 5, 5000);
    expect(await q.clean(60_000, 0)).toEqual([]);
    await sleep(30);
    const removed = await q.clean(10, 2);
    expect(removed).toHaveLength(2);
    expect(await q.getCompletedCount()).toBe(3);
    expect(await q.clean(0, 0, 'completed')).toHaveLength(3);
  });

  it('clean can remove waiting and delayed jobs by age', async () => {
    const { q } = setup();
    await q.add('a', {});
    await q.add('b', {}, { delay: 60_000 });
    await sleep(20);
    expect(await q.clean(5, 0, 'wait')).toHaveLength(1);
    expect(await q.clean(5, 0, 'delayed')).toHaveLength(1);
    expect(await q.count()).toBe(0);
  });

  it('clean refuses a grace, limit or type it cannot use, removing nothing (a grace such as "1h" removed every job of the state)', async () => {
    const { q } = setup();
    await q.add('a', {});
    await sleep(20);
    const clean = q.clean.bind(q) as (...args: unknown[]) => Promise<string[]>;
    await expect(clean('1h', 0, 'wait')).rejects.toThrow(UsageError);
    await expect(clean('1h', 0, 'wait')).rejects.toThrow(/grace must be a number of milliseconds, got "1h".*clean\(60_000, 1000, 'completed'\)/);
    await expect(clean(Number.NaN, 0, 'wait')).rejects.toThrow(/grace must be a number/);
    await expect(clean(0, 'all', 'wait')).rejects.toThrow(/limit must be a whole number of jobs \(0: no limit\), got "all"/);
    await expect(clean(0, 1.5, 'wait')).rejects.toThrow(/limit must be a whole number/);
    await expect(clean(0, 0, 'waitng')).rejects.toThrow(/type must be one of completed, wait, waiting, .*got "waitng"/);
    expect(await q.getWaitingCount()).toBe(1);
    expect(await q.clean(0, Infinity, 'wait')).toHaveLength(1);
  });

  it('clean takes what BullMQ takes: no limit left out or null (limit || Infinity), and strings of digits (refused since b0ca7b1)', async () => {
    const { q } = setup();
    const clean = q.clean.bind(q) as (...args: unknown[]) => Promise<string[]>;
    for (let i = 0; i < 3; i++) await q.add('a', {});
    await sleep(20);
    expect(await clean('0', '1', 'wait')).toHaveLength(1);
    expect(await clean(0, null, 'wait')).toHaveLength(2);
    await q.add('a', {});
    await sleep(20);
    expect(await clean(0, undefined, 'wait')).toHaveLength(1);
    expect(await q.getWaitingCount()).toBe(0);
  });

  it('obliterate removes everything, refusing while a job is active unless forced', async () => {
    const { spool, q } = setup();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const w = new Worker('q', async () => gate, { spool });
    await q.add('x', {});
    await q.add('y', {});
    await waitFor(async () => (await q.getActiveCount()) === 1, 3000);
    await expect(q.obliterate()).rejects.toThrow(/^Cannot obliterate queue with active jobs \(queue q: 1 active\)/);
    await w.close(true);
    release();
    await q.obliterate();
    expect(await q.count()).toBe(0);
    expect((await q.add('z', {})).id).toBe('1');
    expect(fs.readdirSync(path.join(spool, 'queues')).filter((n) => n.startsWith('.trash'))).toEqual([]);
  });

  it('obliterate without force keeps a job a worker claimed after the check for active jobs: it ends as usual', async () => {
    const { spool, q } = setup();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const w = track(new Worker('q', async () => gate.then(() => 'kept'), { spool }));
    const job = await q.add('x', {}, { jobId: 'late' });
    await q.add('y', {});
    await waitFor(async () => (await q.getActiveCount()) === 1, 3000);
    // What obliterate does after its check, with this claim made in between: the queue taken
    // away, made anew, and the claims under a live lease brought back.
    const store = openQueueStore('q', { spool });
    const trash = path.join(spool, 'queues', '.trash-test');
    fs.renameSync(store.dir, trash);
    store.ensureDirs();
    keepLateClaims(store, trash);
    fs.rmSync(trash, { recursive: true, force: true });
    release();
    await waitFor(async () => (await q.getJobState(job.id!)) === 'completed', 5000, 'the kept run completes');
    expect((await q.getJob(job.id!))!.returnvalue).toBe('kept');
    expect(await q.getWaitingCount()).toBe(0);
    await w.close();
  });

  it('drain and clean free a deduplication key (ttl too) that names a job they remove, as BullMQ', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const w = track(new Worker('q', async () => 'ok', { spool, autorun: false }));
    const cases: [string, (q: Queue) => Promise<unknown>, Record<string, unknown>][] = [
      ['drain', (q) => q.drain(), {}],
      ['drain(true)', (q) => q.drain(true), { delay: 60_000 }],
      ['clean wait', (q) => q.clean(0, 0, 'wait'), {}],
      ['clean delayed', (q) => q.clean(0, 0, 'delayed'), { delay: 60_000 }],
      ['clean prioritized', (q) => q.clean(0, 0, 'prioritized'), { priority: 3 }],
    ];
    for (const [i, [label, op, opts]] of cases.entries()) {
      const dedup = { id: `key-${i}`, ttl: 60_000 };
      const first = await q.add('j', { v: 1 }, { deduplication: dedup, ...opts });
      await op(q);
      expect(await q.getDeduplicationJobId(dedup.id), label).toBeNull();
      const second = await q.add('j', { v: 2 }, { deduplication: dedup, ...opts });
      expect(second.id, `${label}: added again, not deduplicated against the removed job`).not.toBe(first.id);
      expect(await q.getJobState(second.id!), label).not.toBe('unknown');
    }
    // A finished job's ttl key too, when clean removes the job.
    await q.drain(true);
    const done = await q.add('j', { v: 3 }, { deduplication: { id: 'key-done', ttl: 60_000 } });
    void w.run();
    await waitFor(async () => (await q.getJobState(done.id!)) === 'completed', 5000);
    expect(await q.getDeduplicationJobId('key-done')).toBe(done.id);
    await q.clean(0, 0, 'completed');
    expect(await q.getDeduplicationJobId('key-done')).toBeNull();
  });

  it('getDeduplicationJobId and removeDeduplicationKey read a number as the id of its digits (BullMQ), and refuse other ids with a UsageError', async () => {
    const { q } = setup();
    const job = await q.add('j', {}, { deduplication: { id: '42' } });
    const lookup = q.getDeduplicationJobId.bind(q) as (id: unknown) => Promise<string | null>;
    const remove = q.removeDeduplicationKey.bind(q) as (id: unknown) => Promise<number>;
    expect(await lookup(42)).toBe(job.id);
    for (const bad of [undefined, null, { id: '42' }]) {
      await expect(lookup(bad)).rejects.toMatchObject({ code: 'ERR_USAGE', message: expect.stringMatching(/^Queue.getDeduplicationJobId: the deduplication id must be a string/) });
      await expect(remove(bad)).rejects.toThrow(UsageError);
    }
    expect(await remove(42)).toBe(1);
    expect(await lookup('42')).toBeNull();
  });

  it('remove deletes a waiting job and emits removed locally', async () => {
    const { q } = setup();
    const job = await q.add('x', {});
    const removed: string[] = [];
    q.on('removed', (id: string) => removed.push(id));
    expect(await q.remove(job.id!)).toBe(1);
    expect(await q.remove(job.id!)).toBe(1); // BullMQ: 1 for a job that does not exist
    expect(removed).toEqual([job.id]);
  });
});

describe('a job held in the middle of a move between two sets', () => {
  /** Holds a waiting job as a move does (its file in reclaiming/ under a mv- tag); returns where it was and the hold. */
  async function holdAsMove(q: Queue, id: string): Promise<{ from: string; held: string }> {
    const from = readJob(q.store, id)!.loc.path;
    const held = q.store.claimPath('reclaiming', id, 'mv-test1');
    fs.renameSync(from, held);
    return { from, held };
  }

  it('shows in its set, is neither active nor locked, and a removal waits for the move to end', async () => {
    const { q } = setup();
    const job = await q.add('x', { n: 1 }, { jobId: 'moving' });
    const { from, held } = await holdAsMove(q, 'moving');
    expect(await q.getJobState('moving')).toBe('waiting');
    expect(await job.getState()).toBe('waiting');
    expect(await q.getJobCounts('active')).toEqual({ active: 0 });
    expect(await q.getJobs(['active'])).toEqual([]);
    // The move ends in another process 30 ms after it is ready; the removal (which blocks this
    // thread while it waits, up to 200 ms) then removes the job.
    const mover = spawn(process.execPath, ['-e', `console.log('ready'); setTimeout(() => require('fs').renameSync(${JSON.stringify(held)}, ${JSON.stringify(from)}), 30)`]);
    const ended = new Promise((resolve) => mover.on('exit', resolve));
    await new Promise((resolve) => mover.stdout.once('data', resolve));
    await job.remove();
    await ended;
    expect(await q.getJobState('moving')).toBe('unknown');
    expect(fs.existsSync(from)).toBe(false);
  });

  it('a finished job held by a retry shows where it finished until the retry wrote its patch', async () => {
    const { spool, q } = setup();
    const job = await q.add('x', { n: 1 }, { jobId: 'retried', attempts: 2, backoff: 10 });
    const w = track(new Worker('q', async () => { throw new Error('no'); }, { spool }));
    await waitFor(async () => (await q.getJobState('retried')) === 'failed', 5000);
    await w.close();
    await holdAsMove(q, 'retried');
    expect(await job.getState()).toBe('failed');
  });

  it('a hold left by a process that died is not removed, with an error that says what to do', async () => {
    const { q } = setup();
    const job = await q.add('x', { n: 1 }, { jobId: 'stuck' });
    await holdAsMove(q, 'stuck');
    await expect(job.remove()).rejects.toMatchObject({ code: 'ERR_JOB_LOCKED', message: expect.stringContaining('another process is moving it') });
    expect(await q.remove('stuck')).toBe(0);
    expect(await q.getJobState('stuck')).toBe('waiting');
  });
});

describe('retryJobs and promoteJobs', () => {
  it('retryJobs moves every failed job back to waiting', async () => {
    const { spool, q } = setup();
    let failing = true;
    track(
      new Worker(
        'q',
        async () => {
          if (failing) throw new Error('no');
        },
        { spool },
      ),
    );
    for (let i = 0; i < 4; i++) await q.add('x', i);
    // Generous bounds: this checks what retryJobs does, not how fast (speed lives in the benchmark).
    await waitFor(async () => (await q.getFailedCount()) === 4, 9_000);
    failing = false;
    await q.retryJobs({ count: 2 });
    await waitFor(async () => (await q.getCompletedCount()) === 4, 9_000);
    expect(await q.getFailedCount()).toBe(0);
  });

  it('retryJobs refuses a count or timestamp that is not a number (a timestamp such as "now" retried nothing, silently)', async () => {
    const { q } = setup();
    const retry = q.retryJobs.bind(q) as (opts: Record<string, unknown>) => Promise<void>;
    await expect(retry({ timestamp: 'now' })).rejects.toThrow(UsageError);
    await expect(retry({ timestamp: 'now' })).rejects.toThrow(/timestamp must be a time in ms since the epoch.*Date.now\(\), got "now"/);
    await expect(retry({ timestamp: Number.NaN })).rejects.toThrow(/timestamp must be a time in ms/);
    await expect(retry({ count: 'ten' })).rejects.toThrow(/count must be a whole number of jobs per batch, got "ten"/);
    await expect(q.retryJobs({ count: 10, timestamp: Date.now() })).resolves.toBeUndefined();
  });

  it('retryJobs reads a count or timestamp of digits as its number, as BullMQ (refused since b0ca7b1)', async () => {
    const { spool, q } = setup();
    const w = track(new Worker('q', async () => { throw new Error('x'); }, { spool }));
    const job = await q.add('j', {});
    await waitFor(async () => (await q.getJobState(job.id!)) === 'failed', 5000);
    await w.close();
    const retry = q.retryJobs.bind(q) as (opts: Record<string, unknown>) => Promise<void>;
    await retry({ count: '10', timestamp: String(Date.now() + 1000) });
    expect(await q.getJobState(job.id!)).toBe('waiting');
  });

  it('retryJobs leaves a job that finished again after its timestamp (another process retried it meanwhile)', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const job = await q.add('j', {}, { attempts: 1 });
    const w = track(new Worker('q', async () => Promise.reject(new Error('boom')), { spool }));
    await waitFor(async () => (await q.getJobState(job.id!)) === 'failed', 5000);
    await w.close();
    const finishedOn = (await q.getJob(job.id!))!.finishedOn!;
    const store = openQueueStore('q', { spool });
    // The check made once the job is held: what a listing taken before the second failure saw is
    // not enough, so the hold itself must refuse a job finished after the timestamp.
    expect(retryFinished(store, job.id!, 'failed', { finishedBy: finishedOn - 1 })).toBeUndefined();
    expect(await q.getJobState(job.id!)).toBe('failed');
    expect((await q.getJob(job.id!))!.failedReason).toBe('boom');
    expect(fs.readdirSync(path.join(spool, 'queues', 'q', 'reclaiming'))).toEqual([]);
    expect(retryFinished(store, job.id!, 'failed', { finishedBy: finishedOn })).toBeDefined();
    expect(await q.getJobState(job.id!)).toBe('waiting');
  });

  it('promoteJobs promotes every delayed job', async () => {
    const { q } = setup();
    await q.add('a', {}, { delay: 60_000 });
    await q.add('b', {}, { delay: 60_000, priority: 3 });
    await q.promoteJobs();
    expect(await q.getJobCounts('delayed', 'waiting', 'prioritized')).toEqual({ delayed: 0, waiting: 1, prioritized: 1 });
  });
});

describe('getJobs', () => {
  it('lists waiting jobs in processing order with asc, reverse by default, with pagination', async () => {
    const { q } = setup();
    for (let i = 1; i <= 5; i++) await q.add('x', i);
    await q.add('x', 'L', { lifo: true });
    const asc = await q.getJobs(['waiting'], 0, -1, true);
    expect(asc.map((j) => j.data)).toEqual(['L', 1, 2, 3, 4, 5]);
    const desc = await q.getJobs('wait');
    expect(desc.map((j) => j.data)).toEqual([5, 4, 3, 2, 1, 'L']);
    expect((await q.getJobs(['waiting'], 1, 2, true)).map((j) => j.data)).toEqual([1, 2]);
    expect((await q.getWaiting(0, 0)).map((j) => j.data)).toEqual(['L']);
  });

  it('lists several states, each paged separately, and finished jobs newest first', async () => {
    const { spool, q } = setup();
    track(new Worker('q', async (j) => j.data, { spool }));
    for (let i = 1; i <= 3; i++) {
      await q.add('x', i);
      await waitFor(async () => (await q.getCompletedCount()) === i, 3000);
      await sleep(15);
    }
    await q.add('y', 'later', { delay: 60_000 });
    const jobs = await q.getJobs(['completed', 'delayed'], 0, 1);
    expect(jobs.map((j) => j.data)).toEqual([3, 2, 'later']);
    expect((await q.getJobs()).length).toBe(4);
    expect((await q.getCompleted()).map((j) => j.returnvalue)).toEqual([3, 2, 1]);
  });

  it('rejects the v5 repeat type', async () => {
    const { q } = setup();
    await expect(q.getJobs(['repeat'])).rejects.toThrow(/not supported/);
  });
});

describe('retention defaults', () => {
  it('keeps completed jobs by count: removeOnComplete: n keeps the newest n', async () => {
    const { spool, q } = setup();
    const w = track(new Worker('q', async () => 'ok', { spool }));
    let done = 0;
    w.on('completed', () => done++);
    for (let i = 0; i < 6; i++) await q.add('x', i, { removeOnComplete: 2 });
    // Two can be complete before the rest have run: wait for all six, then for the trim.
    await waitFor(() => done === 6, 5000);
    await waitFor(async () => (await q.getCompletedCount()) === 2, 5000);
    const kept = await q.getCompleted();
    expect(kept.map((j) => j.data).sort()).toEqual([4, 5]);
    expect(await q.getJob('1')).toBeUndefined();
  });

  it('removeOnComplete: true keeps nothing; removeOnFail: { age } drops old failures', async () => {
    const { spool, q } = setup();
    track(
      new Worker(
        'q',
        async (j) => {
          if (j.name === 'bad') throw new Error('x');
        },
        { spool },
      ),
    );
    const a = await q.add('good', {}, { removeOnComplete: true });
    const b = await q.add('bad', {}, { removeOnFail: { age: 1 } });
    await waitFor(async () => (await q.getJobState(a.id!)) === 'unknown', 3000);
    await waitFor(async () => (await q.getJobState(b.id!)) === 'failed', 3000);
    await waitFor(async () => (await q.getJobState(b.id!)) === 'unknown', 5000);
  });

  it('removes the logs of the jobs it removes; a row logged to a removed job is refused and leaves no file', async () => {
    const { spool, q } = setup();
    track(new Worker('q', async (j) => void (await j.log(`ran ${j.data}`)), { spool }));
    const jobs: Job[] = [];
    for (let i = 0; i < 3; i++) jobs.push(await q.add('x', i, { removeOnComplete: 1 }));
    await waitFor(async () => (await q.getCompletedCount()) === 1 && (await q.getJobState(jobs[1]!.id!)) === 'unknown', 5000);
    const logs = path.join(spool, 'queues', 'q', 'logs');
    expect(fs.readdirSync(logs)).toEqual([`${jobs[2]!.id}.jsonl`]);
    await expect(jobs[0]!.log('late')).rejects.toMatchObject({ code: 'ERR_JOB_NOT_FOUND' });
    await expect(q.addJobLog(jobs[1]!.id!, 'late')).rejects.toThrow(/Missing key for job/);
    expect(fs.readdirSync(logs)).toEqual([`${jobs[2]!.id}.jsonl`]);
    expect(await q.getJobLogs(jobs[2]!.id!)).toEqual({ logs: ['ran 2'], count: 1 });
  });

  it('removeOnComplete: false keeps the job past the default count', async () => {
    const { spool, q } = setup();
    track(new Worker('q', async () => 'ok', { spool, removeOnComplete: { count: 1 } }));
    const keep = await q.add('x', 0, { removeOnComplete: false });
    await waitFor(async () => (await keep.getState()) === 'completed', 3000);
    for (let i = 1; i <= 3; i++) await q.add('x', i);
    await waitFor(async () => (await q.getCompletedCount()) === 2, 5000);
    expect(await keep.getState()).toBe('completed');
  });
});

describe('an id whose file was reused for another job', () => {
  it('finds nothing through it and changes nothing of the other job', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const a = await q.add('a', { v: 1 });
    const b = await q.add('b', { v: 2 });
    // As in the moment between a removal reusing a's file for b's record and a's index name going.
    const aFile = q.store.idPath(a.id!);
    fs.writeFileSync(aFile, fs.readFileSync(q.store.idPath(b.id!), 'utf8'));
    expect(await q.getJob(a.id!)).toBeUndefined();
    await a.updateData({ v: 99 });
    expect(fs.readFileSync(aFile, 'utf8')).toContain('"v":99');
    expect(parseJobRecord(fs.readFileSync(aFile, 'utf8'), aFile).data).toEqual({ v: 2 });
  });
});

describe("a job scheduler's next run", () => {
  it('cannot be removed directly, drained or cleaned, as in BullMQ; once its scheduler is gone or redefined it can', async () => {
    const { q } = setup();
    const first = await q.upsertJobScheduler('nightly', { every: 3_600_000 }, { name: 'report' });
    const delayed = await q.getJobs(['delayed']);
    const next = delayed.find((j) => j.repeatJobKey === 'nightly') ?? first;
    expect(await next.getState()).toBe('delayed');
    const plain = await q.add('plain', {}, { delay: 3_600_000 });
    await expect(q.remove(next.id!)).rejects.toMatchObject({ code: 'ERR_JOB_SCHEDULER', message: `Job ${next.id} belongs to a job scheduler and cannot be removed directly. removeJob` });
    await expect(next.remove()).rejects.toMatchObject({ code: 'ERR_JOB_SCHEDULER' });
    await q.drain(true);
    expect(await q.getJobState(plain.id!)).toBe('unknown');
    expect(await q.getJobState(next.id!)).toBe('delayed');
    expect(await q.clean(0, 0, 'delayed')).toEqual([]);
    expect(await q.getJobState(next.id!)).toBe('delayed');
    // The run due now stands as well (BullMQ's only job of the scheduler): not removed, drained or cleaned.
    expect(first.id).not.toBe(next.id);
    expect(await q.getJobState(first.id!)).toBe('waiting');
    await expect(q.remove(first.id!)).rejects.toMatchObject({ code: 'ERR_JOB_SCHEDULER' });
    expect(await q.clean(0, 0, 'wait')).toEqual([]);
    await q.drain();
    expect(await q.getJobState(first.id!)).toBe('waiting');
    // A redefinition still takes back its own pending runs, without a removed event.
    const removedEvents: string[] = [];
    q.on('removed', (id: string) => removedEvents.push(id));
    const replaced = await q.upsertJobScheduler('nightly', { every: 7_200_000 }, { name: 'report' });
    expect(await q.getJobState(next.id!)).toBe('unknown');
    expect(removedEvents).toEqual([]);
    const pending = (await q.getJobs(['delayed', 'waiting'])).filter((j) => j.repeatJobKey === 'nightly');
    expect(pending.map((j) => j.id)).toContain(replaced.id);
    // Without its scheduler, a run is an ordinary job.
    const orphan = await q.add('orphan', {}, { delay: 60_000 });
    await q.removeJobScheduler('nightly');
    for (const j of pending) if ((await q.getJobState(j.id!)) !== 'unknown') expect(await q.remove(j.id!)).toBe(1);
    expect(await q.remove(orphan.id!)).toBe(1);
  });
});

describe('getWorkers', () => {
  it('lists a worker while its heartbeat is fresh, not one killed without closing', async () => {
    const { spool, q } = setup();
    const w = track(new Worker('q', async () => undefined, { spool }));
    await w.waitUntilReady();
    await waitFor(async () => (await q.getWorkersCount()) === 1, 3000);
    // A worker killed long ago left its heartbeat file behind.
    const [file] = fs.readdirSync(path.join(spool, 'workers')).map((n) => path.join(spool, 'workers', n));
    const hb = JSON.parse(fs.readFileSync(file!, 'utf8')) as Record<string, unknown>;
    const stale = path.join(path.dirname(file!), 'dead-worker.json');
    fs.writeFileSync(stale, JSON.stringify({ ...hb, workerId: 'dead-worker', heartbeatAt: Date.now() - 120_000 }));
    expect((await q.getWorkers()).map((h) => h.workerId)).toEqual([hb.workerId]);
  });
});
