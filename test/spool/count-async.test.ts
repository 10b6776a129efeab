import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { OFF_THREAD_MIN_LEAVES } from '../../src/spool/count-async.js';
import { retentionThreadPasses } from '../../src/spool/retention-thread.js';
import { tmpSpool, track } from '../fixtures/core/helpers.js';
import { spreadQueue } from '../fixtures/core/spread-queue.js';

describe('Queue counts of a big backlog', () => {
  it('are counted on the helper thread once a count walked many leaves, and stay exact', async () => {
    const spool = tmpSpool(true);
    const n = OFF_THREAD_MIN_LEAVES + 10;
    const q = await spreadQueue(spool, n);
    // The first count learns the size here (no published counts yet).
    expect(await q.getJobCounts()).toMatchObject({ delayed: n, waiting: 0 });
    const passes = retentionThreadPasses();
    expect(await q.getJobCounts()).toMatchObject({ delayed: n, waiting: 0 });
    expect(retentionThreadPasses()).toBe(passes + 1);
    // What was just added is counted (the thread reads the same files).
    await q.add('now', {});
    await q.add('later', {}, { delay: 1000 });
    expect(await q.getJobCounts('waiting', 'delayed')).toEqual({ waiting: 1, delayed: n + 1 });
    expect(await q.getDelayedCount()).toBe(n + 1);
    expect(await q.count()).toBe(n + 2);
    // A count of states with few leaves stays on the caller's thread.
    await q.getJobCounts('active');
    const before = retentionThreadPasses();
    expect(await q.getActiveCount()).toBe(0);
    expect(retentionThreadPasses()).toBe(before);
  });

  it('a process whose first count meets published big counts goes to the thread at once', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('pub', { spool }));
    await q.add('x', {});
    fs.writeFileSync(path.join(q.store.dir, 'counts.json'), JSON.stringify({ countedAt: Date.now(), counts: {}, leaves: 50_000, tookMs: 200 }));
    const passes = retentionThreadPasses();
    expect((await q.getJobCounts()).waiting).toBe(1);
    expect(retentionThreadPasses()).toBe(passes + 1);
    // It learned the count was small: the next one stays here.
    expect((await q.getJobCounts()).waiting).toBe(1);
    expect(retentionThreadPasses()).toBe(passes + 1);
  });

  it('a small queue is counted on the caller thread', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('small', { spool }));
    await q.addBulk([{ name: 'a', data: {} }, { name: 'b', data: {}, opts: { delay: 60_000 } }]);
    const passes = retentionThreadPasses();
    expect(await q.getJobCounts('waiting', 'delayed')).toEqual({ waiting: 1, delayed: 1 });
    expect(await q.getJobCounts('waiting', 'delayed')).toEqual({ waiting: 1, delayed: 1 });
    expect(retentionThreadPasses()).toBe(passes);
  });
});
