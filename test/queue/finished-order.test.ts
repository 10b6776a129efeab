/**
 * Finished jobs are ordered, cleaned and retried by their finish time (BullMQ's score), also after
 * a later write to them (updateData, updateProgress) has changed their file.
 */
import { describe, expect, it } from 'vitest';
import { Queue, Worker } from '../../src/index.js';
import { sleep, tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

async function finishInOrder(names: string[], fail: boolean): Promise<{ q: Queue; ids: Record<string, string> }> {
  const spool = tmpSpool();
  const q = track(new Queue('q', { spool }));
  const ids: Record<string, string> = {};
  for (const name of names) ids[name] = (await q.add(name, {}, { removeOnComplete: false, removeOnFail: false })).id!;
  const worker = track(new Worker('q', async () => {
    // Finish times 30 ms apart, far more than the filesystem clock's granularity.
    await sleep(30);
    if (fail) throw new Error('no');
    return 1;
  }, { spool, concurrency: 1 }));
  await waitFor(async () => (await q.getJobCounts(fail ? 'failed' : 'completed'))[fail ? 'failed' : 'completed'] === names.length, 10_000);
  await worker.close();
  return { q, ids };
}

describe('finished jobs and later writes', () => {
  it('getCompleted and getFailed list by finish time whatever was written to the jobs since', async () => {
    const { q, ids } = await finishInOrder(['a', 'b', 'c'], false);
    await sleep(20);
    await (await q.getJob(ids.a!))!.updateProgress(50);
    await q.updateJobProgress(ids.b!, 7);
    expect((await q.getCompleted()).map((j) => j.name)).toEqual(['c', 'b', 'a']);
    expect((await q.getCompleted(0, 0)).map((j) => j.name)).toEqual(['c']);
    expect((await q.getJobs(['completed'], 0, -1, true)).map((j) => j.name)).toEqual(['a', 'b', 'c']);
    const f = await finishInOrder(['x', 'y'], true);
    await (await f.q.getJob(f.ids.x!))!.updateData({ note: 'seen' });
    expect((await f.q.getFailed()).map((j) => j.name)).toEqual(['y', 'x']);
  });

  it('retryJobs with a timestamp and clean with a grace judge a job by its finish time, not by a later write', async () => {
    const { q, ids } = await finishInOrder(['f'], true);
    const c = await finishInOrder(['c'], false);
    await sleep(20);
    const t1 = Date.now();
    await sleep(1100);
    await (await q.getJob(ids.f!))!.updateProgress(10);
    await (await c.q.getJob(c.ids.c!))!.updateData({ note: 'seen' });
    await q.retryJobs({ state: 'failed', timestamp: t1 });
    expect(await q.getJobState(ids.f!)).toBe('waiting');
    expect(await c.q.clean(1000, 0, 'completed')).toEqual([c.ids.c]);
  });
});
