/**
 * A replacing add (deduplication `replace`) whose process is SIGKILLed after it took the delayed
 * holder out of its set: the stalled checker settles it. Killed before the new job had its id,
 * the holder goes back and keeps its key; killed after, the replacement is finished (the holder
 * removed with its event, the new job published by the temp-file recovery).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { reclaimStalled } from '../../src/spool/reclaim.js';
import { dedupFile } from '../../src/spool/store.js';
import { tmpSpool, track } from '../fixtures/core/helpers.js';
import { exited, startFixture } from '../fixtures/core/procs.js';

const opts = { delay: 60_000, deduplication: { id: 'd', ttl: 60_000, replace: true } };

function keyJob(q: Queue): string {
  return (JSON.parse(fs.readFileSync(dedupFile(q.store, 'd'), 'utf8')) as { jobId: string }).jobId;
}

describe('a replacing add killed halfway', () => {
  for (const killAt of ['link', 'publish'] as const) {
    it(`killed before ${killAt === 'link' ? 'the new job had its id' : 'the new job was visible'}: settled by the stalled checker`, async () => {
      const spool = tmpSpool();
      const q = track(new Queue('q', { spool }));
      const held = await q.add('held', { v: 1 }, opts);
      const child = await startFixture('replace-killed.ts', { SPOOL: spool, KILL_AT: killAt });
      expect(await exited(child, 15_000)).toBe('SIGKILL');
      const reclaiming = path.join(q.store.dir, 'reclaiming');
      expect(fs.readdirSync(reclaiming)).toHaveLength(1);
      // Out of its set meanwhile, so no worker runs it; the checker settles it once it is old.
      expect(await q.getJobCounts('delayed')).toEqual({ delayed: 0 });
      const result = reclaimStalled(q.store, { nowMs: Date.now() + 15_000, lockDurationMs: 30_000, maxStalledCount: 1 });
      expect(fs.readdirSync(reclaiming)).toEqual([]);
      const delayed = await q.getDelayed();
      expect(delayed).toHaveLength(1);
      if (killAt === 'link') {
        expect(result.returned).toEqual([held.id]);
        expect(delayed[0]!.id).toBe(held.id);
        expect(keyJob(q)).toBe(held.id);
      } else {
        expect(result.dropped).toEqual([held.id]);
        expect(await q.getJob(held.id!)).toBeUndefined();
        expect(delayed[0]!.data).toEqual({ v: 2 });
        expect(keyJob(q)).toBe(delayed[0]!.id);
      }
      // Nothing of the dead add is left in tmp/ but its owner file.
      expect(fs.readdirSync(path.join(q.store.dir, 'tmp')).filter((n) => !n.startsWith('o-'))).toEqual([]);
      // The next add replaces the survivor as usual.
      const next = await q.add('next', { v: 3 }, opts);
      expect((await q.getDelayed()).map((j) => j.id)).toEqual([next.id]);
    });
  }
});
