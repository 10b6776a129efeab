import { describe, expect, it } from 'vitest';
import { Queue, QueueEvents, Worker } from '../../src/index.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';
import { exited, startFixture } from '../fixtures/core/procs.js';

describe('manual fetching across processes', () => {
  it('a job held by a SIGKILLed fetcher is recovered at once (its heartbeat names it), not when its lease runs out', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const added = await q.add('held', { n: 1 });
    // A lease of a minute: recovered within the test's 10 s only because the fetcher is gone.
    const fetcher = await startFixture('manual-fetcher.ts', { SPOOL: spool, LOCK_MS: '60000' });
    await waitFor(async () => (await q.getJobState(added.id!)) === 'active', 5000, 'the job fetched');
    fetcher.kill('SIGKILL');
    await exited(fetcher);
    const events = track(new QueueEvents('q', { spool }));
    const stalled: string[] = [];
    events.on('stalled', ({ jobId }: { jobId: string }) => stalled.push(jobId));
    await events.waitUntilReady();
    const ran: number[] = [];
    track(new Worker('q', async (job) => ran.push(job.attemptsStarted), { spool, stalledInterval: 100, pollIntervalMs: 50 }));
    await waitFor(async () => (await q.getJobState(added.id!)) === 'completed', 10_000, 'the job run by the worker');
    expect(ran).toEqual([2]);
    await waitFor(() => stalled.length === 1, 2000, 'the stalled event');
    expect(stalled).toEqual([added.id]);
  });
});
