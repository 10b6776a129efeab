import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { openQueueStore } from '../../src/spool/open.js';
import { reclaimStalled } from '../../src/spool/reclaim.js';
import { filesUnder, tmpSpool, track } from '../fixtures/core/helpers.js';

const SIX_MINUTES_MS = 6 * 60_000;

/**
 * Puts a just-added job back in the state an `add` leaves when its process dies between the id
 * link and the publishing rename: the file in tmp/, named in the id index, not in any set.
 */
function unpublish(queueDir: string, ageMs: number): string {
  const [published] = filesUnder(path.join(queueDir, 'waiting'));
  expect(published).toBeDefined();
  const tmp = path.join(queueDir, 'tmp', `died-${path.basename(published!)}`);
  fs.renameSync(published!, tmp);
  const then = new Date(Date.now() - ageMs);
  fs.utimesSync(tmp, then, then);
  return tmp;
}

function pass(spool: string): void {
  const store = openQueueStore('q', { spool });
  reclaimStalled(store, { nowMs: Date.now(), lockDurationMs: 30_000, maxStalledCount: 1 });
}

describe('stalled checker: temp files of an add that died', () => {
  it('publishes a job whose add died between its id link and its publishing rename', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const job = await q.add('email', { to: 'a@b.c' });
    const queueDir = path.join(spool, 'queues', 'q');
    const tmp = unpublish(queueDir, SIX_MINUTES_MS);
    expect(await q.getJobCounts('waiting')).toEqual({ waiting: 0 });
    pass(spool);
    expect(fs.existsSync(tmp)).toBe(false);
    expect(await q.getJobCounts('waiting')).toEqual({ waiting: 1 });
    expect(await q.getJobState(job.id!)).toBe('waiting');
    expect((await q.getJob(job.id!))!.data).toEqual({ to: 'a@b.c' });
  });

  it('leaves a recent temp file alone: its add may still be running (a large addBulk writes every file first)', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    await q.add('email', {});
    const tmp = unpublish(path.join(spool, 'queues', 'q'), 60_000);
    pass(spool);
    expect(fs.existsSync(tmp)).toBe(true);
    expect(await q.getJobCounts('waiting')).toEqual({ waiting: 0 });
  });

  it('deletes an old temp file that never got an id name, and one whose id now names another job', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const queueDir = path.join(spool, 'queues', 'q');
    const then = new Date(Date.now() - SIX_MINUTES_MS);
    // An add that died before linking: the file's only name is in tmp/.
    const unlinked = path.join(queueDir, 'tmp', 'died-before-link');
    fs.writeFileSync(unlinked, '{"v":1}\n');
    fs.utimesSync(unlinked, then, then);
    // A job whose add died after linking, whose id was since freed and taken by a new job.
    await q.add('old', { n: 1 }, { jobId: 'reused' });
    const stale = unpublish(queueDir, SIX_MINUTES_MS);
    // Its id name moves aside (the file keeps two names) and a new job takes the id.
    const [idName] = filesUnder(path.join(queueDir, 'ids'));
    fs.renameSync(idName!, path.join(spool, 'elsewhere'));
    expect(fs.statSync(stale).nlink).toBe(2);
    await q.add('new', { n: 2 }, { jobId: 'reused' });
    pass(spool);
    expect(fs.existsSync(unlinked)).toBe(false);
    expect(fs.existsSync(stale)).toBe(false);
    expect(await q.getJobCounts('waiting')).toEqual({ waiting: 1 });
    expect((await q.getJob('reused'))!.data).toEqual({ n: 2 });
  });
});
