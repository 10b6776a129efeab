import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';
import { readStarts, startFixture } from '../fixtures/core/procs.js';

describe('a global concurrency shared by worker processes', () => {
  it('three processes of concurrency 4 never run more than the limit at once, and run every job once', async () => {
    const spool = tmpSpool();
    const startsFile = path.join(spool, 'starts.log');
    const endsFile = path.join(spool, 'ends.log');
    const q = track(new Queue('q', { spool }));
    const cap = 3;
    const n = 30;
    await q.setGlobalConcurrency(cap);
    const env = { SPOOL: spool, STARTS: startsFile, ENDS: endsFile, CONCURRENCY: '4', JOB_MS: '40' };
    await Promise.all([startFixture('worker-proc.ts', env), startFixture('worker-proc.ts', env), startFixture('worker-proc.ts', env)]);
    await q.addBulk(Array.from({ length: n }, (_, i) => ({ name: 'j', data: i })));
    await waitFor(async () => (await q.getJobCounts('completed')).completed === n, 20_000, 'all jobs completed');
    const starts = readStarts(startsFile);
    const ends = readStarts(endsFile);
    expect(starts).toHaveLength(n);
    expect(new Set(starts.map((r) => r.id)).size).toBe(n);
    // Walk the runs in time order (an end before a start at the same millisecond: the end freed
    // the room the start took).
    const marks = [...starts.map((r) => ({ at: r.at, d: 1 })), ...ends.map((r) => ({ at: r.at, d: -1 }))].sort((a, b) => a.at - b.at || a.d - b.d);
    let running = 0;
    let most = 0;
    for (const m of marks) {
      running += m.d;
      most = Math.max(most, running);
    }
    expect(most).toBeLessThanOrEqual(cap);
    expect(most).toBe(cap);
  });
});
