import { describe, expect, it } from 'vitest';
import { ConfigError, Queue, QueueEvents, Worker, type Job } from '../../src/index.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

const TOKEN = 'my-token';

function setup(workerOpts: Record<string, unknown> = {}) {
  const spool = tmpSpool();
  const q = track(new Queue('q', { spool }));
  const w = track(new Worker('q', null, { spool, ...workerOpts }));
  return { spool, q, w };
}

describe('manual fetching: Worker.getNextJob with job.moveToCompleted / moveToFailed', () => {
  it('takes a job, holds it active under the caller\'s token, and completes it with the value given', async () => {
    const { spool, q, w } = setup();
    const events = track(new QueueEvents('q', { spool }));
    const seen: string[] = [];
    for (const e of ['active', 'completed']) events.on(e, ({ jobId }: { jobId: string }) => seen.push(`${e}:${jobId}`));
    await events.waitUntilReady();
    const local: string[] = [];
    for (const e of ['active', 'completed', 'failed']) w.on(e as 'active', () => local.push(e));
    const added = await q.add('email', { to: 'a@example.com' });
    const job = (await w.getNextJob(TOKEN)) as Job;
    expect(job.id).toBe(added.id);
    expect(job.data).toEqual({ to: 'a@example.com' });
    expect(job.token).toBe(TOKEN);
    expect(job.attemptsStarted).toBe(1);
    expect(await job.getState()).toBe('active');
    await job.updateProgress(50);
    await job.moveToCompleted({ sent: true }, TOKEN, false);
    expect(job.returnvalue).toEqual({ sent: true });
    expect(job.attemptsMade).toBe(1);
    expect(job.finishedOn).toBeGreaterThan(0);
    const stored = (await q.getJob(added.id!))!;
    expect(await stored.getState()).toBe('completed');
    expect(stored.returnvalue).toEqual({ sent: true });
    expect(stored.progress).toBe(50);
    await waitFor(() => seen.length === 2);
    expect(seen).toEqual([`active:${added.id}`, `completed:${added.id}`]);
    // As in BullMQ, the Worker itself emits nothing for jobs ended by hand.
    expect(local).toEqual([]);
    // Ended once: a second end is refused.
    await expect(job.moveToCompleted('again', TOKEN)).rejects.toThrow(/Missing lock for job/);
  });

  it('moveToFailed retries by attempts and backoff, then fails for good', async () => {
    const { q, w } = setup();
    const added = await q.add('flaky', {}, { attempts: 3, backoff: { type: 'fixed', delay: 100 } });
    let job = (await w.getNextJob(TOKEN)) as Job;
    await job.moveToFailed(new Error('first'), TOKEN);
    expect(await q.getJobState(added.id!)).toBe('delayed');
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toBe('first');
    await waitFor(async () => (job = (await w.getNextJob(TOKEN, { block: false })) as Job), 3000, 'the retry');
    expect(job.attemptsMade).toBe(1);
    await job.moveToFailed(new Error('second'), TOKEN);
    await waitFor(async () => (job = (await w.getNextJob(TOKEN, { block: false })) as Job), 3000, 'the last try');
    await job.moveToFailed(new Error('third'), TOKEN);
    const stored = (await q.getJob(added.id!))!;
    expect(await stored.getState()).toBe('failed');
    expect(stored.attemptsMade).toBe(3);
    expect(stored.failedReason).toBe('third');
    expect(stored.stacktrace).toHaveLength(3);
  });

  it('refuses another token, and ends the job with its own from any Job object of this process', async () => {
    const { q, w } = setup();
    const added = await q.add('x', { n: 1 });
    const job = (await w.getNextJob(TOKEN)) as Job;
    await expect(job.moveToCompleted('no', 'other-token')).rejects.toThrow(/Lock mismatch for job/);
    expect(await q.getJobState(added.id!)).toBe('active');
    expect(await job.extendLock('other-token', 1000)).toBe(0);
    expect(await job.extendLock(TOKEN, 1000)).toBe(1);
    const again = (await q.getJob(added.id!))!;
    await again.updateData({ n: 2 });
    again.data = { n: 2 };
    await again.moveToCompleted('yes', TOKEN);
    const stored = (await q.getJob(added.id!))!;
    expect(stored.returnvalue).toBe('yes');
    expect(stored.data).toEqual({ n: 2 });
    // A job this process never fetched cannot be ended here.
    const other = await q.add('y', {});
    await expect(other.moveToCompleted('x', TOKEN)).rejects.toThrow(/Missing lock for job/);
    await other.remove();
    await expect(other.moveToFailed(new Error('x'), TOKEN)).rejects.toThrow(/Missing key for job/);
  });

  it('answers at once when the queue is empty, and a blocking call after that waits up to drainDelay for a job', async () => {
    const { q, w } = setup({ drainDelay: 2 });
    let t = Date.now();
    expect(await w.getNextJob(TOKEN)).toBeUndefined();
    expect(Date.now() - t).toBeLessThan(1000);
    t = Date.now();
    expect(await w.getNextJob(TOKEN, { block: false })).toBeUndefined();
    expect(Date.now() - t).toBeLessThan(1000);
    setTimeout(() => void q.add('late', {}), 150);
    const job = await w.getNextJob(TOKEN);
    expect(job?.name).toBe('late');
    await job!.moveToCompleted(null, TOKEN);
  });

  it('a blocking call with nothing to take gives up after drainDelay', async () => {
    const { w } = setup({ drainDelay: 0.3 });
    expect(await w.getNextJob(TOKEN)).toBeUndefined();
    const t = Date.now();
    expect(await w.getNextJob(TOKEN)).toBeUndefined();
    expect(Date.now() - t).toBeGreaterThanOrEqual(250);
  });

  it('takes nothing from a paused queue or while the worker is paused', async () => {
    const { q, w } = setup();
    await q.add('x', {});
    await q.pause();
    expect(await w.getNextJob(TOKEN, { block: false })).toBeUndefined();
    await q.resume();
    await w.pause();
    expect(await w.getNextJob(TOKEN, { block: false })).toBeUndefined();
    await w.resume();
    expect((await w.getNextJob(TOKEN, { block: false }))?.name).toBe('x');
  });

  it('a lease that is not extended runs out: the stalled check sends the job back and the late end is refused', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const w = track(new Worker('q', null, { spool, lockDuration: 300, stalledInterval: 100 }));
    const checker = track(new Worker('q', null, { spool, stalledInterval: 100 }));
    const added = await q.add('slow', {});
    const job = (await w.getNextJob(TOKEN)) as Job;
    await checker.startStalledCheckTimer();
    await waitFor(async () => (await q.getJobState(added.id!)) === 'waiting', 5000, 'the job sent back');
    await expect(job.moveToCompleted('late', TOKEN)).rejects.toThrow(/Missing lock for job/);
    expect(await q.getJobState(added.id!)).toBe('waiting');
  });

  it('extendJobLocks renews the leases it names and returns the ids it could not', async () => {
    const { q, w } = setup({ lockDuration: 300, stalledInterval: 100 });
    const a = await q.add('a', {});
    const job = (await w.getNextJob(TOKEN)) as Job;
    expect(await w.extendJobLocks([a.id!, 'missing'], [TOKEN, TOKEN], 300)).toEqual(['missing']);
    expect(await w.extendJobLocks([a.id!], ['wrong'], 300)).toEqual([a.id]);
    await w.startStalledCheckTimer();
    // Renewed every 100 ms for a second: never sent back, though the lease is 300 ms.
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 100));
      expect(await w.extendJobLocks([a.id!], [TOKEN], 300)).toEqual([]);
    }
    expect(await q.getJobState(a.id!)).toBe('active');
    await job.moveToCompleted('done', TOKEN);
  });

  it('a job not ended when its Worker closes stays active until its lease runs out, and can no longer be ended', async () => {
    const { q, w } = setup();
    const added = await q.add('x', {});
    const job = (await w.getNextJob(TOKEN)) as Job;
    await w.close();
    expect(await q.getJobState(added.id!)).toBe('active');
    await expect(job.moveToCompleted('late', TOKEN)).rejects.toThrow(/Missing lock for job/);
  });

  it('a fetching Worker is listed by getWorkers with the jobs it holds', async () => {
    const { q, w } = setup();
    expect(await q.getWorkersCount()).toBe(0);
    const added = await q.add('x', {});
    await w.getNextJob(TOKEN);
    const workers = await q.getWorkers();
    expect(workers).toHaveLength(1);
    expect(workers[0]!.activeJobs).toEqual([added.id]);
    await w.close();
    expect(await q.getWorkersCount()).toBe(0);
  });

  it('a Worker without a processor does not run; run() says how to use it', async () => {
    const { q, w } = setup();
    await q.add('x', {});
    await new Promise((r) => setTimeout(r, 200));
    expect(await q.getWaitingCount()).toBe(1);
    await expect(w.run()).rejects.toThrow(ConfigError);
    await expect(w.run()).rejects.toThrow(/No process function is defined.*getNextJob/);
    await expect(w.getNextJob('')).rejects.toThrow(/non-empty token/);
  });
});
