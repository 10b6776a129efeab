import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue, Worker } from '../../src/index.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';
import { exited, startFixture } from '../fixtures/core/procs.js';

describe('a run that lost its lease', () => {
  it('cannot change the record of the run that took the job over, even after that run completed', async () => {
    const spool = tmpSpool();
    const dir = path.join(spool, 'markers');
    fs.mkdirSync(dir);
    const q = track(new Queue('q', { spool }));
    const job = await q.add('steps', { n: 1 });
    // Process A claims the job, reports 20 and 40, then its event loop blocks past lockDuration.
    const a = await startFixture('blocked-worker.ts', { SPOOL: spool, DIR: dir, LOCK_MS: '400' });
    await waitFor(() => fs.existsSync(path.join(dir, 'blocked')), 15_000, 'process A blocked mid-job');
    // This process reclaims the expired lease and runs the job to completion with progress 100.
    const seen: number[] = [];
    const rescuer = track(
      new Worker(
        'q',
        async (j) => {
          for (const p of [20, 40, 60, 80, 100]) await j.updateProgress(p);
          seen.push(j.stalledCounter);
          return 'rescued';
        },
        { spool, lockDuration: 400, stalledInterval: 100 },
      ),
    );
    rescuer.on('error', () => undefined);
    await waitFor(async () => (await q.getJobState(job.id!)) === 'completed', 15_000, 'rescued run completed');
    expect(seen).toEqual([1]);
    // A wakes up: its late progress and data writes must not reach the completed record.
    fs.writeFileSync(path.join(dir, 'go'), '');
    await waitFor(() => fs.existsSync(path.join(dir, 'stale-done')), 15_000, 'process A wrote its stale updates');
    const done = (await q.getJob(job.id!))!;
    expect(await done.getState()).toBe('completed');
    expect(done.progress).toBe(100);
    expect(done.data).toEqual({ n: 1 });
    expect(done.returnvalue).toBe('rescued');
    expect(done.stalledCounter).toBe(1);
    a.kill('SIGTERM');
    expect(await exited(a)).toBe(0);
    // A never reported a completion of a job it no longer held, and left no file behind.
    expect(fs.existsSync(path.join(dir, 'a-completed'))).toBe(false);
    expect(fs.readdirSync(path.join(spool, 'queues', 'q', 'active'))).toEqual([]);
    expect(fs.readdirSync(path.join(spool, 'queues', 'q', 'corrupt'))).toEqual([]);
    // A's own completion was discarded: still the rescued record.
    const after = (await q.getJob(job.id!))!;
    expect(after.progress).toBe(100);
    expect(after.returnvalue).toBe('rescued');
  });
});
