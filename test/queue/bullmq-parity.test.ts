/**
 * The Queue's read and admin methods answer as BullMQ 6's do (each case was run side by side
 * with BullMQ on a local Redis; the expected values below are BullMQ's answers).
 */
import { describe, expect, it } from 'vitest';
import { NotSupportedError, Queue, QueueEvents, Worker, type Job } from '../../src/index.js';
import { envSpool, tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

function setup() {
  const spool = tmpSpool();
  const q = track(new Queue('q', { spool }));
  return { spool, q };
}

const ids = (jobs: Job[]) => jobs.map((j) => j.id);

async function finishAll(spool: string, outcome: (j: Job) => unknown, expected: number): Promise<void> {
  let n = 0;
  const w = track(new Worker('q', async (j) => { n++; return outcome(j); }, { spool, pollIntervalMs: 20 }));
  await waitFor(() => n === expected, 5000);
  await w.close();
}

describe("the 'paused' state is always empty (v6: pausing leaves jobs waiting)", () => {
  it('lists, counts and cleans nothing under paused, and keeps the waiting jobs', async () => {
    const { q } = setup();
    await q.addBulk([1, 2, 3].map((n) => ({ name: 'w', data: n, opts: { jobId: `w${n}` } })));
    await q.pause();
    expect(await q.getJobs('paused')).toEqual([]);
    expect(await q.getJobCounts('paused', 'wait')).toEqual({ paused: 0, wait: 3 });
    expect(await q.getJobCountByTypes('waiting', 'paused')).toBe(3);
    expect(await q.clean(0, 0, 'paused')).toEqual([]);
    expect(await q.getWaitingCount()).toBe(3);
  });
});

describe('ranges read as Redis reads them', () => {
  it('negative start and end count from the end, for sets and finished jobs', async () => {
    const { spool, q } = setup();
    await q.addBulk([1, 2, 3].map((n) => ({ name: 'w', data: n, opts: { jobId: `w${n}` } })));
    expect(ids(await q.getJobs('waiting', 1, -2))).toEqual(['w2']);
    expect(ids(await q.getJobs('waiting', -2, -1))).toEqual(['w2', 'w1']);
    expect(ids(await q.getWaiting(-1, -1))).toEqual(['w3']);
    expect(ids(await q.getJobs('waiting', 5, -1))).toEqual([]);
    const now = Date.now();
    await q.addBulk([0, 1, 2, 3].map((n) => ({ name: 'd', data: n, opts: { jobId: `d${n}`, delay: 60_000 + n * 1000, timestamp: now } })));
    expect(ids(await q.getDelayed(-1, -1))).toEqual(['d3']);
    expect(ids(await q.getDelayed(0, -2))).toEqual(['d0', 'd1', 'd2']);
    await finishAll(spool, () => 'ok', 3);
    const done = ids(await q.getCompleted());
    expect(done).toHaveLength(3);
    expect(ids(await q.getJobs('completed', 0, -2))).toEqual(done.slice(0, 2));
  });

  it('getJobLogs takes the same ranges', async () => {
    const { q } = setup();
    const job = await q.add('x', {});
    for (let i = 0; i < 6; i++) await job.log(`row${i}`);
    expect((await q.getJobLogs(job.id!, 0, -2)).logs).toEqual(['row0', 'row1', 'row2', 'row3', 'row4']);
    expect(await q.getJobLogs(job.id!, 0, -3, false)).toEqual({ logs: ['row5', 'row4', 'row3', 'row2'], count: 6 });
  });

  it('getJobs([]) lists every state', async () => {
    const { q } = setup();
    await q.add('w', {}, { jobId: 'w1' });
    await q.add('d', {}, { jobId: 'd1', delay: 60_000 });
    expect(ids(await q.getJobs([])).sort()).toEqual(['d1', 'w1']);
  });
});

describe('logs', () => {
  it('keepLogs 0 keeps every row, for addJobLog and for the job option', async () => {
    const { q } = setup();
    const a = await q.add('a', {});
    for (let i = 0; i < 3; i++) await q.addJobLog(a.id!, `r${i}`);
    expect(await q.addJobLog(a.id!, 'r3', 0)).toBe(4);
    expect((await q.getJobLogs(a.id!)).logs).toEqual(['r0', 'r1', 'r2', 'r3']);
    const b = await q.add('b', {}, { keepLogs: 0 });
    expect(await b.log('x')).toBe(1);
    expect(await b.log('y')).toBe(2);
    expect(await q.addJobLog(b.id!, 'z', 2)).toBe(2);
    expect((await q.getJobLogs(b.id!)).logs).toEqual(['y', 'z']);
  });
});

describe('clean', () => {
  it('a negative limit removes nothing', async () => {
    const { q } = setup();
    await q.add('w', {});
    expect(await q.clean(0, -1, 'wait')).toEqual([]);
    expect(await q.getWaitingCount()).toBe(1);
  });

  it('removes waiting jobs in processing order and lists them newest first; the event says wait', async () => {
    const { q } = setup();
    await q.addBulk([1, 2, 3].map((n) => ({ name: 'w', data: n, opts: { jobId: `w${n}` } })));
    await q.add('l', {}, { jobId: 'wl', lifo: true });
    const events: [string[], string][] = [];
    q.on('cleaned', (jobs: string[], type: string) => events.push([jobs, type]));
    expect(await q.clean(0, 2, 'waiting')).toEqual(['w1', 'wl']);
    expect(await q.clean(0, 0, 'wait')).toEqual(['w3', 'w2']);
    expect(events).toEqual([[['w1', 'wl'], 'wait'], [['w3', 'w2'], 'wait']]);
  });
});

describe('remove, obliterate, promoteJobs', () => {
  it('remove answers 1 for a job that does not exist and for a non-string id, without an event', async () => {
    const { q } = setup();
    const removed: string[] = [];
    q.on('removed', (id: string) => removed.push(id));
    expect(await q.remove('missing')).toBe(1);
    expect(await q.remove(undefined as unknown as string)).toBe(1);
    expect(removed).toEqual([]);
  });

  it("the removed event of a waiting job names its list 'wait'", async () => {
    const { spool, q } = setup();
    const qe = track(new QueueEvents('q', { spool }));
    await qe.waitUntilReady();
    const prev: string[] = [];
    qe.on('removed', ({ prev: p }: { prev: string }) => prev.push(p));
    await q.add('w', {}, { jobId: 'a' });
    await q.add('d', {}, { jobId: 'b', delay: 60_000 });
    await q.remove('a');
    await q.remove('b');
    await waitFor(() => prev.length === 2, 3000);
    expect(prev).toEqual(['wait', 'delayed']);
  });

  it('a refused obliterate leaves the queue paused, as BullMQ pauses first', async () => {
    const { spool, q } = setup();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const w = track(new Worker('q', () => held, { spool, pollIntervalMs: 20 }));
    await q.add('x', {});
    await waitFor(async () => (await q.getActiveCount()) === 1, 3000);
    await expect(q.obliterate()).rejects.toMatchObject({ code: 'ERR_JOB_LOCKED', message: expect.stringMatching(/^Cannot obliterate queue with active jobs/) });
    expect(await q.isPaused()).toBe(true);
    release();
    await w.close();
  });

  it('promoteJobs keeps the delay field; job.promote() sets it to 0', async () => {
    const { q } = setup();
    await q.add('a', {}, { jobId: 'a', delay: 60_000 });
    const b = await q.add('b', {}, { jobId: 'b', delay: 60_000 });
    await b.promote();
    await q.promoteJobs();
    const [a2, b2] = [await q.getJob('a'), await q.getJob('b')];
    expect([await a2!.getState(), a2!.delay]).toEqual(['waiting', 60_000]);
    expect([await b2!.getState(), b2!.delay]).toEqual(['waiting', 0]);
  });
});

describe('counts', () => {
  it('getDelayedCount(timestamp) counts the delayed jobs due by then', async () => {
    const { q } = setup();
    const now = Date.now();
    await q.add('a', {}, { delay: 30_000, timestamp: now });
    await q.add('b', {}, { delay: 60_000, timestamp: now });
    expect(await q.getDelayedCount()).toBe(2);
    expect(await q.getDelayedCount(now + 45_000)).toBe(1);
    expect(await q.getDelayedCount(now + 60_000)).toBe(2);
    await expect(q.getDelayedCount(1.5)).rejects.toMatchObject({ message: /safe integer/ });
  });

  it('getCountsPerPriority counts waiting jobs per priority, 0 being no priority', async () => {
    const { q } = setup();
    await q.addBulk([
      { name: 'a', data: 1 },
      { name: 'b', data: 1, opts: { priority: 1 } },
      { name: 'c', data: 1, opts: { priority: 5 } },
      { name: 'd', data: 1, opts: { priority: 5 } },
    ]);
    expect(await q.getCountsPerPriority([0, 1, 5, 7, 5])).toEqual({ 0: 1, 1: 1, 5: 2, 7: 0 });
  });

  it('getJobState of a value that cannot be an id is unknown', async () => {
    const { q } = setup();
    expect(await q.getJobState(undefined as unknown as string)).toBe('unknown');
    expect(await q.getJobState(123 as unknown as string)).toBe('unknown');
  });
});

describe('events and names', () => {
  it('every add() emits the local waiting event, a duplicate too; addBulk emits none', async () => {
    const { q } = setup();
    const seen: string[] = [];
    q.on('waiting', (job: Job) => seen.push(job.id!));
    await q.add('x', {}, { jobId: 'x1' });
    await q.add('x', {}, { jobId: 'x1' });
    await q.addBulk([{ name: 'y', data: 1 }]);
    await q.add('z', {}, { delay: 60_000 });
    expect(seen).toEqual(['x1', 'x1', '4']); // ids count every add
  });

  it("names itself as BullMQ does: qualifiedName, toKey, prefix", () => {
    const { q } = setup();
    expect(q.qualifiedName).toBe('bull:q');
    expect(q.toKey('wait')).toBe('bull:q:wait');
    const spool = tmpSpool();
    expect(track(new Queue('r', { spool, prefix: 'app' })).qualifiedName).toBe('app:r');
  });

  it('Queue names: BullMQ wording first', () => {
    const spool = tmpSpool();
    expect(() => new Queue('a:b', { spool })).toThrow(/^Queue name cannot contain :/);
    expect(() => new Queue('', { spool })).toThrow(/^Queue name must be provided/);
  });
});

describe('after close() and unsupported methods', () => {
  it('every data method rejects with ERR_CLOSED; waitUntilReady still resolves', async () => {
    const { q } = setup();
    const job = await q.add('x', {});
    await q.close();
    await expect(q.waitUntilReady()).resolves.toBeUndefined();
    for (const call of [
      () => q.getJobs(),
      () => q.getJob(job.id!),
      () => q.getJobState(job.id!),
      () => q.getJobCounts(),
      () => q.count(),
      () => q.isPaused(),
      () => q.getJobLogs(job.id!),
      () => q.addJobLog(job.id!, 'late'),
      () => q.updateJobProgress(job.id!, 5),
    ]) {
      await expect(call()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    }
  });

  it('disconnect() closes; the older debounce names answer as the deduplication ones', async () => {
    const { q } = setup();
    const job = await q.add('x', {}, { deduplication: { id: 'k' } });
    expect(await q.getDebounceJobId('k')).toBe(job.id);
    expect(await q.removeDebounceKey('k')).toBe(1);
    await q.disconnect();
    await expect(q.add('y', {})).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('BullMQ methods spoolkit does not have throw NotSupportedError', async () => {
    const { q } = setup();
    const unsupported = ['getMeta', 'getVersion', 'getQueueEvents', 'removeOrphanedJobs'] as const;
    for (const m of unsupported) await expect((q[m] as () => Promise<unknown>)()).rejects.toBeInstanceOf(NotSupportedError);
  });
});

describe('null options', () => {
  it('new Queue(name, null) reads as no options, as in BullMQ (a TypeError before)', async () => {
    const spool = envSpool();
    const q = track(new Queue('q', null as never));
    expect((await q.add('x', {})).id).toBe('1');
    expect(q.store.root).toBe(spool);
  });
});
