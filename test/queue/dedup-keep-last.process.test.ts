import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';
import { exited, readStarts, startFixture } from '../fixtures/core/procs.js';

const keepLast = { deduplication: { id: 'entity-7', keepLastIfActive: true } };

describe('keepLastIfActive with a worker killed mid-job', () => {
  it('the holder runs again in another process and the kept job follows it, once', async () => {
    const spool = tmpSpool();
    const starts = path.join(spool, 'starts.log');
    const q = track(new Queue('q', { spool }));
    const holder = await q.add('index', { n: 1 }, keepLast);
    const first = await startFixture('worker-proc.ts', { SPOOL: spool, STARTS: starts, JOB_MS: '60000', LOCK_MS: '1000' });
    await waitFor(() => readStarts(starts).length === 1, 10_000, 'the holder to start');
    const kept = await q.add('index', { n: 2 }, keepLast);
    await q.add('index', { n: 3 }, keepLast);
    expect(kept.id).toBe(holder.id);
    first.kill('SIGKILL');
    await exited(first);
    // The dead worker's job is recovered by the next worker's stalled check once its 1 s lease
    // has expired; the kept job must neither be lost nor added while the holder is active again.
    await startFixture('worker-proc.ts', { SPOOL: spool, STARTS: starts, JOB_MS: '20', STALLED_MS: '200' });
    await waitFor(async () => (await q.getJobCounts('completed')).completed === 2, 15_000, 'holder and kept job completed');
    const runs = readStarts(starts);
    expect(runs.map((r) => r.id)).toEqual([holder.id, holder.id, '3']);
    expect((await q.getJob('3'))?.data).toEqual({ n: 3 });
    expect(await q.getJobCounts('waiting', 'active', 'delayed')).toEqual({ waiting: 0, active: 0, delayed: 0 });
  });
});
