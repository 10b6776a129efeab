import { describe, expect, it } from 'vitest';
import { DelayedError, Job, Queue, QueueEvents, Worker, WaitingError } from '../../src/index.js';
import { sleep, tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

function setup() {
  const spool = tmpSpool();
  const q = track(new Queue('q', { spool }));
  return { spool, q };
}

/** A worker whose processor records each start and holds the job until `release()`. */
function heldWorker(spool: string, opts: { concurrency?: number } = {}) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const starts: string[] = [];
  const tokens = new Map<string, string>();
  const worker = track(
    new Worker(
      'q',
      async (job, token) => {
        starts.push(job.id!);
        tokens.set(job.id!, token!);
        await gate;
        return 'done';
      },
      { spool, pollIntervalMs: 20, ...opts },
    ),
  );
  return { worker, starts, tokens, release: () => release() };
}

// Job behaviour compared with BullMQ 6.7 (each value below was read from BullMQ with the same scenario).
describe('Job, as BullMQ shows it', () => {
  it('moveToDelayed with a token that is not the running lease is refused and the job stays active; the lease token moves it', async () => {
    const { spool, q } = setup();
    const held = heldWorker(spool, { concurrency: 2 });
    const a = await q.add('a', {});
    const b = await q.add('b', {});
    await waitFor(() => held.starts.length === 2, 3000);
    const outside = (await q.getJob(a.id!))!;
    await expect(outside.moveToDelayed(Date.now() + 60_000, 'not-the-token')).rejects.toMatchObject({
      code: 'ERR_LEASE_LOST',
      message: expect.stringMatching(/^Lock mismatch for job 1\. Cmd moveToDelayed from active/),
    });
    expect(await outside.getState()).toBe('active');
    // The token of the worker running it is accepted from any job object.
    await (await q.getJob(b.id!))!.moveToDelayed(Date.now() + 60_000, held.tokens.get(b.id!));
    expect(await q.getJobState(b.id!)).toBe('delayed');
    held.release();
    await waitFor(async () => (await q.getJobState(a.id!)) === 'completed', 3000);
    await sleep(100);
    expect(held.starts.filter((id) => id === a.id)).toHaveLength(1);
  });

  it('moveToDelayed errors start with BullMQ\'s text: lock mismatch inside the processor, missing lock, not active, missing key', async () => {
    const { spool, q } = setup();
    const seen: unknown[] = [];
    track(
      new Worker(
        'q',
        async (job) => {
          seen.push(await job.moveToDelayed(Date.now() + 60_000, 'wrong').catch((e: unknown) => e));
          return 'ok';
        },
        { spool, pollIntervalMs: 20 },
      ),
    );
    const ran = await q.add('x', {});
    await waitFor(async () => (await q.getJobState(ran.id!)) === 'completed', 3000);
    expect(seen[0]).toMatchObject({ code: 'ERR_LEASE_LOST', message: expect.stringMatching(/^Lock mismatch for job 1\. Cmd moveToDelayed from active/) });

    const waiting = await q.add('x', {}, { delay: 60_000 });
    await expect(waiting.moveToDelayed(Date.now() + 1000, 'some-token')).rejects.toMatchObject({ code: 'ERR_LEASE_LOST', message: expect.stringMatching(/^Missing lock for job 2\. moveToDelayed/) });
    await expect(waiting.moveToDelayed(Date.now() + 1000)).rejects.toMatchObject({ code: 'ERR_JOB_NOT_FOUND', message: expect.stringMatching(/^Job 2 is not in the active state\. moveToDelayed/) });
    await waiting.remove();
    await expect(waiting.moveToDelayed(Date.now() + 1000)).rejects.toMatchObject({ code: 'ERR_JOB_NOT_FOUND', message: expect.stringMatching(/^Missing key for job 2\. moveToDelayed/) });
  });

  it('moveToDelayed keeps processedOn, processedBy and attemptsStarted of the run it delays', async () => {
    const { spool, q } = setup();
    track(
      new Worker(
        'q',
        async (job, token) => {
          await job.moveToDelayed(Date.now() + 60_000, token);
          throw new DelayedError();
        },
        { spool, name: 'wname', pollIntervalMs: 20 },
      ),
    );
    const job = await q.add('x', {});
    await waitFor(async () => (await q.getJobState(job.id!)) === 'delayed', 3000);
    const stored = (await q.getJob(job.id!))!;
    expect(typeof stored.processedOn).toBe('number');
    expect(stored.processedBy).toBe('wname');
    expect(stored.attemptsStarted).toBe(1);
    expect(stored.attemptsMade).toBe(0);
  });

  it('moveToWait puts the running job first in the queue, keeps the start counted and not the attempt; WaitingError leaves it there', async () => {
    const { spool, q } = setup();
    const events = track(new QueueEvents('q', { spool }));
    await events.waitUntilReady();
    const waitingPrev: string[] = [];
    events.on('waiting', (a: { jobId: string; prev?: string }) => waitingPrev.push(`${a.jobId}:${a.prev}`));
    const order: string[] = [];
    const ttl: number[] = [];
    const worker = track(
      new Worker(
        'q',
        async (job, token) => {
          order.push(`${job.name}:${job.attemptsStarted}:${job.attemptsMade}`);
          if (job.name === 'a' && job.attemptsStarted === 1) {
            ttl.push(await job.moveToWait(token));
            throw new WaitingError();
          }
          return job.name;
        },
        { spool, autorun: false, pollIntervalMs: 20 },
      ),
    );
    const a = await q.add('a', {});
    await q.add('b', {});
    await q.add('c', {});
    void worker.run();
    await waitFor(() => order.length === 4, 5000);
    expect(order).toEqual(['a:1:0', 'a:2:0', 'b:1:0', 'c:1:0']);
    expect(ttl).toEqual([0]);
    await waitFor(async () => (await q.getJobState(a.id!)) === 'completed', 3000);
    const stored = (await q.getJob(a.id!))!;
    expect(stored.attemptsStarted).toBe(2);
    expect(stored.attemptsMade).toBe(1);
    expect(stored.failedReason).toBeUndefined();
    await waitFor(() => waitingPrev.includes(`${a.id}:active`), 3000);
  });

  it('moveToWait with spare slots: the job runs again at once under its own lease, is neither stalled nor renewed as the moved run, and completes', async () => {
    const { spool, q } = setup();
    const starts: number[] = [];
    const stalled: string[] = [];
    const errors: string[] = [];
    const worker = track(
      new Worker(
        'q',
        async (job, token) => {
          starts.push(job.attemptsStarted);
          if (job.attemptsStarted === 1) {
            await job.moveToWait(token);
            // The second run has started by now (a free slot, woken at once): this one ends later.
            await sleep(100);
            throw new WaitingError();
          }
          await sleep(1500);
          return 'ok';
        },
        { spool, concurrency: 2, lockDuration: 600, stalledInterval: 200, pollIntervalMs: 20 },
      ),
    );
    worker.on('stalled', (id: string) => stalled.push(id));
    worker.on('error', (err: Error) => errors.push(err.message));
    const job = await q.add('x', {});
    await waitFor(async () => (await q.getJobState(job.id!)) === 'completed', 6000);
    expect(starts).toEqual([1, 2]);
    expect(stalled).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('moveToWait from outside: a wrong token is refused, a job that is not active is left alone, a removed one is missing', async () => {
    const { spool, q } = setup();
    const held = heldWorker(spool);
    const a = await q.add('a', {});
    await waitFor(() => held.starts.length === 1, 3000);
    const outside = (await q.getJob(a.id!))!;
    await expect(outside.moveToWait('wrong')).rejects.toMatchObject({ code: 'ERR_LEASE_LOST', message: expect.stringMatching(/^Lock mismatch for job 1\. Cmd moveJobFromActiveToWait from active/) });
    expect(await outside.getState()).toBe('active');
    held.release();
    await waitFor(async () => (await q.getJobState(a.id!)) === 'completed', 3000);
    await expect(outside.moveToWait()).resolves.toBe(0);
    expect(await outside.getState()).toBe('completed');
    await expect(outside.moveToWait('some-token')).rejects.toMatchObject({ code: 'ERR_LEASE_LOST', message: expect.stringMatching(/^Missing lock for job 1\. moveJobFromActiveToWait/) });
    await outside.remove();
    await expect(outside.moveToWait()).rejects.toMatchObject({ code: 'ERR_JOB_NOT_FOUND', message: expect.stringMatching(/^Missing key for job 1\. moveJobFromActiveToWait/) });
  });

  it('isWaiting is false for a prioritized job; isInState names BullMQ\'s states', async () => {
    const { q } = setup();
    const plain = await q.add('x', {});
    const prio = await q.add('x', {}, { priority: 3 });
    expect(await plain.isWaiting()).toBe(true);
    expect(await prio.isWaiting()).toBe(false);
    expect(await prio.isInState('prioritized')).toBe(true);
    expect(await plain.isInState('wait')).toBe(true);
    expect(await plain.isInState('paused')).toBe(false);
    // BullMQ 5 and later keep a paused queue's jobs in wait: none is ever in state 'paused'.
    await q.pause();
    expect(await plain.isInState('paused')).toBe(false);
    expect(await plain.isInState('wait')).toBe(true);
    expect(await plain.isInState('delayed')).toBe(false);
    await expect(plain.isInState('nope' as never)).rejects.toMatchObject({ code: 'ERR_USAGE', message: expect.stringMatching(/^Unknown job state: nope/) });
  });

  it('extendLock renews only for the token of the running lease', async () => {
    const { spool, q } = setup();
    const results: number[] = [];
    track(
      new Worker(
        'q',
        async (job, token) => {
          results.push(await job.extendLock('not-the-token', 30_000));
          results.push(await job.extendLock(token!, 30_000));
        },
        { spool, pollIntervalMs: 20 },
      ),
    );
    const job = await q.add('x', {});
    await waitFor(async () => (await q.getJobState(job.id!)) === 'completed', 3000);
    expect(results).toEqual([0, 1]);
  });

  it('changePriority changes only the priority field: opts stay as added, on waiting, active and completed jobs', async () => {
    const { spool, q } = setup();
    const waiting = await q.add('x', {}, { priority: 2 });
    await waiting.changePriority({ priority: 5, lifo: true });
    let stored = (await q.getJob(waiting.id!))!;
    expect(stored.priority).toBe(5);
    expect(stored.opts).toEqual({ attempts: 0, priority: 2 });
    const held = heldWorker(spool);
    await waitFor(() => held.starts.length === 1, 3000);
    await waiting.changePriority({ priority: 6, lifo: true });
    held.release();
    await waitFor(async () => (await q.getJobState(waiting.id!)) === 'completed', 3000);
    await waiting.changePriority({ priority: 7, lifo: true });
    stored = (await q.getJob(waiting.id!))!;
    expect(stored.priority).toBe(7);
    expect(stored.opts).toEqual({ attempts: 0, priority: 2 });
  });

  it('flow methods answer as BullMQ for a job without children', async () => {
    const { q } = setup();
    const job = await q.add('x', {});
    expect(await job.getChildrenValues()).toEqual({});
    expect(await job.getFailedChildrenValues()).toEqual({});
    expect(await job.getIgnoredChildrenFailures()).toEqual({});
    expect(await job.getDependencies()).toEqual({ processed: {}, unprocessed: [], failed: [], ignored: {} });
    expect(await job.getDependenciesCount()).toEqual({ processed: 0, unprocessed: 0, failed: 0, ignored: 0 });
    expect(await job.removeChildDependency()).toBe(false);
    // No pending children: false, the job is not moved (BullMQ checks no lock then).
    expect(await job.moveToWaitingChildren('tok')).toBe(false);
    await job.removeUnprocessedChildren();
    expect(await job.getState()).toBe('waiting');
    expect(job.parentKey).toBeUndefined();
    expect(job.parent).toBeUndefined();
  });

  it('Job.create, Job.createBulk and Job.addJobLog go through the queue', async () => {
    const { q } = setup();
    const one = await Job.create(q, 'one', { n: 1 }, { priority: 2 });
    expect(await one.getState()).toBe('prioritized');
    const bulk = await Job.createBulk(q, [{ name: 'two', data: { n: 2 } }, { name: 'three', data: { n: 3 }, opts: { delay: 60_000 } }]);
    expect(bulk.map((j) => j.name)).toEqual(['two', 'three']);
    expect(await bulk[1]!.getState()).toBe('delayed');
    expect((await q.getJob(bulk[0]!.id!))!.data).toEqual({ n: 2 });
    expect(await Job.addJobLog(q, one.id!, 'row 1')).toBe(1);
    expect(await Job.addJobLog(q, one.id!, 'row 2', 1)).toBe(1);
    expect(await q.getJobLogs(one.id!)).toEqual({ logs: ['row 2'], count: 1 });
  });

  it('asJSON keeps null data, leaves out undefined fields; fromJSON keeps failedReason as given', async () => {
    const { q } = setup();
    const job = await q.add('x', null, { delay: 60_000 });
    const json = job.asJSON();
    expect(json.data).toBe('null');
    expect(Job.fromJSON(q, json).data).toBeNull();
    expect(Object.entries(json).filter(([, v]) => v === undefined)).toEqual([]);
    expect(json).not.toHaveProperty('failedReason');
    expect(json).not.toHaveProperty('processedOn');
    expect(Job.fromJSON(q, { ...json, failedReason: 'boom' }).failedReason).toBe('boom');
    expect(Job.fromJSON(q, { ...json, failedReason: '"boom"' }).failedReason).toBe('"boom"');
    expect(Job.fromJSON(q, { ...json, data: '' }).data).toEqual({});
  });

  it('a job never added has state unknown, and remove() resolves', async () => {
    const { q } = setup();
    const job = new Job(q, 'direct', { x: 1 });
    expect(await job.getState()).toBe('unknown');
    await expect(job.remove()).resolves.toBeUndefined();
  });

  it('promote, changeDelay and retry refuse with BullMQ\'s text first', async () => {
    const { spool, q } = setup();
    const plain = await q.add('x', {});
    await expect(plain.promote()).rejects.toMatchObject({ code: 'ERR_JOB_NOT_FOUND', message: expect.stringMatching(/^Job 1 is not in the delayed state\. promote/) });
    await expect(plain.changeDelay(1000)).rejects.toMatchObject({ code: 'ERR_JOB_NOT_FOUND', message: expect.stringMatching(/^Job 1 is not in the delayed state\. changeDelay/) });
    await expect(plain.retry('failed')).rejects.toMatchObject({ code: 'ERR_JOB_NOT_FOUND', message: expect.stringMatching(/^Job 1 is not in the failed state\. reprocessJob/) });
    track(new Worker('q', async () => 'ok', { spool, pollIntervalMs: 20 }));
    await waitFor(async () => (await q.getJobState(plain.id!)) === 'completed', 3000);
    await expect(plain.retry('failed')).rejects.toMatchObject({ message: expect.stringMatching(/^Job 1 is not in the failed state\. reprocessJob/) });
    await q.remove(plain.id!);
    await expect(plain.retry('completed')).rejects.toMatchObject({ code: 'ERR_JOB_NOT_FOUND', message: expect.stringMatching(/^Missing key for job 1\. reprocessJob/) });
    await expect(plain.changeDelay(1000)).rejects.toMatchObject({ code: 'ERR_JOB_NOT_FOUND', message: expect.stringMatching(/^Missing key for job 1\. changeDelay/) });
  });
});
