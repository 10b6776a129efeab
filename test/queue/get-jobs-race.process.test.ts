import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { tmpSpool, track } from '../fixtures/core/helpers.js';
import { startFixture } from '../fixtures/core/procs.js';

describe('getJobs while workers in other processes move jobs on', () => {
  it('lists every job once in each call: none missed between two states, none listed twice', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const n = 400;
    await q.addBulk(Array.from({ length: n }, (_, i) => ({ name: 'j', data: { i }, opts: { removeOnComplete: false } })));
    const env = { SPOOL: spool, CONCURRENCY: '8', JOB_MS: '5' };
    await Promise.all([startFixture('worker-proc.ts', env), startFixture('worker-proc.ts', env)]);
    const problems: string[] = [];
    let calls = 0;
    const deadline = Date.now() + 30_000;
    for (; calls < 200 && Date.now() < deadline; calls++) {
      const ids = (await q.getJobs()).map((j) => j.id!);
      const distinct = new Set(ids);
      if (distinct.size !== ids.length) problems.push(`call ${calls}: ${ids.length} entries for ${distinct.size} jobs`);
      if (distinct.size !== n) problems.push(`call ${calls}: ${distinct.size} of ${n} jobs listed`);
      if ((await q.getJobCounts('completed')).completed === n) break;
    }
    expect(calls).toBeGreaterThan(2);
    expect(problems).toEqual([]);
  });
});
