/**
 * After an obliterate, the queue's directory (and its event log's) is a new one: workers and
 * QueueEvents in other processes watch the new one from their next poll on, so jobs added
 * afterwards are picked up within milliseconds again, not once per poll interval.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { sleep, tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';
import { startFixture } from '../fixtures/core/procs.js';

/** The worker's poll interval (its other timers wake it about once a second). */
const POLL_MS = 4000;
/** Far longer than a pickup through a file-change event (milliseconds), far shorter than any timer's. */
const WOKEN_MS = 400;

describe('obliterate and file-change watches in other processes', () => {
  it('a worker in another process is woken by each add, and again after an obliterate made the directories anew', async () => {
    const spool = tmpSpool();
    const starts = path.join(spool, 'starts.log');
    const q = track(new Queue('q', { spool }));
    await startFixture('worker-proc.ts', { SPOOL: spool, STARTS: starts, POLL_MS: String(POLL_MS) });
    const started = (id: string) => fs.existsSync(starts) && fs.readFileSync(starts, 'utf8').split('\n').some((l) => l.startsWith(`${id} `));
    const pickup = async (id: string): Promise<number> => {
      const t0 = Date.now();
      await q.add('x', {}, { jobId: id });
      await waitFor(() => started(id), 3 * POLL_MS, `${id} started`);
      return Date.now() - t0;
    };
    const idlePickups = async (label: string): Promise<number[]> => {
      const ms: number[] = [];
      for (let i = 0; i < 8; i++) {
        // Idle between adds: asleep until a watch or a timer wakes it.
        await sleep(150);
        ms.push(await pickup(`${label}-${i}`));
      }
      return ms;
    };
    // An add's events are in the log before its job is visible: a worker woken by them that
    // looked too early is woken again once the job is there, not by its next timer.
    const before = await idlePickups('before');
    expect(before.every((ms) => ms < WOKEN_MS), `woken by the watch: ${before.join(', ')} ms`).toBe(true);
    await q.obliterate({ force: true });
    // One poll later the worker has re-armed its watch on the new directory.
    await sleep(POLL_MS + 500);
    const after = await idlePickups('after');
    expect(after.every((ms) => ms < WOKEN_MS), `woken by the watch after the obliterate: ${after.join(', ')} ms`).toBe(true);
  }, 30_000);
});

describe('obliterate without force and a dead worker\'s claim', () => {
  it('removes a claim whose lease ran out (its worker was SIGKILLed): only live claims made after its check are kept', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const worker = await startFixture('worker-proc.ts', { SPOOL: spool, LOCK_MS: '300', JOB_MS: '60000' });
    const job = await q.add('x', {});
    await waitFor(async () => (await job.getState()) === 'active', 5000);
    worker.kill('SIGKILL');
    // The lease runs out; no other worker is there to take the job back.
    await sleep(600);
    await q.obliterate();
    expect(await q.getJobCounts()).toMatchObject({ active: 0, waiting: 0 });
    expect(fs.readdirSync(path.join(spool, 'queues', 'q', 'active'))).toEqual([]);
    expect(await q.getJob(job.id!)).toBeUndefined();
  });
});
