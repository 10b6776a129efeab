import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { openQueueStore } from '../../src/spool/open.js';
import { reclaimStalled } from '../../src/spool/reclaim.js';
import { filesUnder, sleep, tmpSpool, track } from '../fixtures/core/helpers.js';
import { exited, startFixture } from '../fixtures/core/procs.js';

describe('a producer process SIGKILLed in the middle of addBulk', () => {
  it('loses no job whose add resolved, and the stalled checker publishes every job it had already named', async () => {
    // Each round kills a producer at a random moment. An addBulk writes and names (links into the
    // id index) all its files before it publishes any, so most kills land in that window; rounds
    // continue (at most 8) until one did, so that the recovery is exercised.
    let roundsInWindow = 0;
    for (let round = 0; round < 8 && roundsInWindow === 0; round++) {
      const spool = path.join(tmpSpool(), 'spool');
      const resolvedFile = path.join(spool, '..', 'resolved');
      fs.writeFileSync(resolvedFile, '');
      const child = await startFixture('producer.ts', { SPOOL: spool, RESOLVED: resolvedFile, BATCH: '200' });
      await sleep(150 + Math.floor(Math.random() * 200));
      child.kill('SIGKILL');
      expect(await exited(child)).toBe('SIGKILL');

      const queueDir = path.join(spool, 'queues', 'q');
      const linkedTmp = filesUnder(path.join(queueDir, 'tmp')).filter((f) => fs.statSync(f).nlink >= 2);
      if (linkedTmp.length > 0) roundsInWindow++;
      // The killed bulk had committed (every job named) only if its marker is there.
      const committed = filesUnder(path.join(queueDir, 'tmp')).some((f) => f.endsWith('.commit'));

      // Every add that resolved is there, before any recovery.
      const q = track(new Queue('q', { spool }));
      const resolved = fs.readFileSync(resolvedFile, 'utf8').split('\n').filter(Boolean);
      for (const id of resolved) expect(await q.getJobState(id), `job ${id}`).toBe('waiting');

      // A stalled-check pass once the temp files are old enough publishes a committed bulk's
      // leftovers, and undoes an uncommitted one: each bulk is all or nothing.
      const store = openQueueStore('q', { spool });
      reclaimStalled(store, { nowMs: Date.now() + 6 * 60_000, lockDurationMs: 30_000, maxStalledCount: 1 });
      expect(filesUnder(path.join(queueDir, 'tmp'))).toEqual([]);
      const idNames = filesUnder(path.join(queueDir, 'ids')).map((f) => path.basename(f));
      expect(await q.getJobCounts('waiting')).toEqual({ waiting: idNames.length });
      for (const id of idNames) expect(await q.getJobState(id), `job ${id}`).toBe('waiting');
      // Jobs of a bulk still being published when the kill came are visible too (not in tmp/).
      expect(idNames.length).toBeGreaterThanOrEqual(resolved.length + (committed ? linkedTmp.length : 0));
      const perBulk = new Map<number, number>();
      for (const j of await q.getJobs(['waiting'])) perBulk.set((j.data as { n: number }).n, (perBulk.get((j.data as { n: number }).n) ?? 0) + 1);
      expect([...perBulk].filter(([, count]) => count !== 200)).toEqual([]);
    }
    expect(roundsInWindow).toBeGreaterThan(0);
  }, 60_000);
});
