import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { tmpSpool, track } from '../fixtures/core/helpers.js';
import { exited, startFixture } from '../fixtures/core/procs.js';

const ROUNDS = 100;

describe('deduplication across processes', () => {
  for (const mode of ['simple', 'ttl'] as const) {
    it(`${mode} mode: four producers adding the same deduplication id at the same instant make one job`, async () => {
      const spool = tmpSpool();
      const q = track(new Queue('q', { spool }));
      const start = Date.now() + 3000;
      const env = { SPOOL: spool, START_MS: String(start), ROUNDS: String(ROUNDS), ...(mode === 'ttl' ? { TTL_MS: '60000' } : {}) };
      const producers = await Promise.all([0, 1, 2, 3].map(() => startFixture('dedup-producer.ts', env)));
      for (const p of producers) expect(await exited(p, 30_000)).toBe(0);
      const jobs = await q.getJobs(['waiting']);
      const perRound = new Map<number, number>();
      for (const j of jobs) perRound.set((j.data as { r: number }).r, (perRound.get((j.data as { r: number }).r) ?? 0) + 1);
      expect([...perRound].filter(([, n]) => n > 1)).toEqual([]);
      expect(perRound.size).toBe(ROUNDS);
    }, 60_000);
  }
});
