import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue, Worker } from '../../src/index.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

describe('a run given up by a forced close', () => {
  it('writes nothing more to the job it put back, and leaves no stray claim file', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let after: 'done' | Error | undefined;
    const w = new Worker(
      'q',
      async (job) => {
        await job.updateProgress(10);
        await gate;
        try {
          await job.updateProgress(99);
          await job.updateData({ stale: true });
          after = 'done';
        } catch (err) {
          after = err as Error;
        }
        return 'late';
      },
      { spool },
    );
    w.on('error', () => undefined);
    const job = await q.add('x', { n: 1 });
    await waitFor(async () => (await q.getJob(job.id!))?.progress === 10, 5000, 'first progress');
    await w.close(true);
    expect(await q.getJobState(job.id!)).toBe('waiting');
    release();
    await waitFor(() => after !== undefined, 5000, 'processor finished');
    expect(after).toBe('done');
    const back = (await q.getJob(job.id!))!;
    expect(back.progress).toBe(10);
    expect(back.data).toEqual({ n: 1 });
    expect(await q.getJobState(job.id!)).toBe('waiting');
    expect(fs.readdirSync(path.join(spool, 'queues', 'q', 'active'))).toEqual([]);
    expect(await q.getJobCounts('completed')).toEqual({ completed: 0 });
  });
});
