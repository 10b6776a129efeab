/** Redefining a scheduler with a real Queue and Worker: what happens to runs already started. */
import { describe, expect, it } from 'vitest';
import { Queue, Worker } from '../../src/index.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

const OPTS = { attempts: 2, backoff: { type: 'fixed', delay: 300 } } as const;

describe('upsertJobScheduler over a run waiting to retry', () => {
  for (const every of [60_000, 120_000]) {
    it(`keeps the retry and runs it as attempt 2 with its own data (every ${every === 60_000 ? 'unchanged' : 'changed'})`, async () => {
      const spool = tmpSpool();
      const q = track(new Queue('r', { spool }));
      const seen: string[] = [];
      const w = track(
        new Worker(
          'r',
          async (job) => {
            seen.push(`${String(job.id)} v${(job.data as { v: number }).v} attempt ${job.attemptsMade + 1}`);
            if ((job.data as { v: number }).v === 1) throw new Error('first definition fails');
          },
          { spool, pollIntervalMs: 20 },
        ),
      );
      const first = await q.upsertJobScheduler('s', { every: 60_000 }, { data: { v: 1 }, opts: OPTS });
      const id = String(first.id);
      await waitFor(async () => (await q.getJob(id))?.attemptsMade === 1, 5000, 'the first attempt to fail');
      await q.upsertJobScheduler('s', { every }, { data: { v: 2 }, opts: OPTS });
      expect(await q.getJobState(id)).not.toBe('unknown');
      await waitFor(async () => (await q.getJobState(id)) === 'failed', 5000, 'the retry to run and fail');
      await w.close();
      expect(seen.filter((s) => s.startsWith(`${id} `))).toEqual([`${id} v1 attempt 1`, `${id} v1 attempt 2`]);
      expect((await q.getJob(id))?.attemptsMade).toBe(2);
    });
  }
});
