/**
 * A wait that begins after its job's outcome went by (an add resolving slowly, many at once,
 * after its job ran, finished and was removed on completion) settles with that outcome instead of
 * saying the job was never seen to finish.
 */
import { describe, expect, it } from 'vitest';
import { Queue, QueueEvents, Worker } from '../../src/index.js';
import { sleep, tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

/** A queue, and a QueueEvents on it recording the ids of the outcomes it hears. */
async function listening(): Promise<{ spool: string; q: Queue; events: QueueEvents; heard: string[] }> {
  const spool = tmpSpool();
  const q = track(new Queue('q', { spool }));
  const events = track(new QueueEvents('q', { spool }));
  await events.waitUntilReady();
  const heard: string[] = [];
  events.on('completed', ({ jobId }) => heard.push(jobId));
  events.on('failed', ({ jobId }) => heard.push(jobId));
  return { spool, q, events, heard };
}

describe('waitUntilFinished after the outcome was heard', () => {
  it('resolves with the return value, or rejects with the reason, of a job removed on finishing', async () => {
    const { spool, q, events, heard } = await listening();
    track(new Worker('q', async (job) => {
      if (job.data.fail) throw new Error('no luck');
      return { doubled: job.data.n * 2 };
    }, { spool }));
    const ok = await q.add('x', { n: 21 }, { removeOnComplete: true });
    const bad = await q.add('x', { fail: true }, { removeOnFail: true });
    await waitFor(() => heard.includes(ok.id!) && heard.includes(bad.id!), 5000, 'both outcomes heard');
    expect(await q.getJob(ok.id!)).toBeUndefined();
    await expect(ok.waitUntilFinished(events, 5000)).resolves.toEqual({ doubled: 42 });
    await expect(bad.waitUntilFinished(events, 5000)).rejects.toThrow('no luck');
  });

  it('does not take the outcome of an earlier job of the same id for a later one', async () => {
    const { spool, q, events, heard } = await listening();
    const worker = track(new Worker('q', async () => 'first', { spool }));
    await q.add('x', {}, { jobId: 'same', removeOnComplete: true });
    await waitFor(() => heard.includes('same'), 5000, 'the first outcome heard');
    await worker.close();
    await sleep(5);
    const later = await q.add('x', {}, { jobId: 'same' });
    await q.remove('same');
    await expect(later.waitUntilFinished(events, 5000)).rejects.toMatchObject({ code: 'ERR_JOB_NOT_FOUND' });
  });

  it('does not take the outcome of an earlier run of a job retried and removed since', async () => {
    const { spool, q, events, heard } = await listening();
    const job = await q.add('x', {});
    const worker = track(new Worker('q', async () => 'first run', { spool }));
    await waitFor(() => heard.includes(job.id!), 5000, 'the first outcome heard');
    await worker.close();
    const again = (await q.getJob(job.id!))!;
    await again.retry('completed');
    await q.remove(job.id!);
    await expect(again.waitUntilFinished(events, 5000)).rejects.toMatchObject({ code: 'ERR_JOB_NOT_FOUND' });
  });
});

