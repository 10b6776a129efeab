import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';
import { readStarts, startFixture } from '../fixtures/core/procs.js';

describe('a rate limit shared by worker processes', () => {
  it('three processes together start at most max jobs per duration, and run every job once', async () => {
    const spool = tmpSpool();
    const starts = path.join(spool, 'starts.log');
    const q = track(new Queue('q', { spool }));
    const max = 3;
    const durationMs = 300;
    const n = 18;
    const env = { SPOOL: spool, STARTS: starts, CONCURRENCY: '4', JOB_MS: '5', LIMIT_MAX: String(max), LIMIT_MS: String(durationMs) };
    // All three idle and watching before the jobs arrive, so they race for every window.
    await Promise.all([startFixture('worker-proc.ts', env), startFixture('worker-proc.ts', env), startFixture('worker-proc.ts', env)]);
    const t0 = Date.now();
    await q.addBulk(Array.from({ length: n }, (_, i) => ({ name: 'j', data: i })));
    await waitFor(async () => (await q.getJobCounts('completed')).completed === n, 20_000, 'all jobs completed');
    const runs = readStarts(starts);
    expect(runs).toHaveLength(n);
    expect(new Set(runs.map((r) => r.id)).size).toBe(n);
    // No max + 1 starts within one duration (a start is noted a moment after its slot was taken).
    const times = runs.map((r) => r.at).sort((a, b) => a - b);
    const crowded = times.filter((t, i) => i >= max && t - times[i - max]! < durationMs - 25);
    expect(crowded).toEqual([]);
    // Six windows at least: the last starts came in the sixth.
    expect(times[n - 1]! - t0).toBeGreaterThanOrEqual(5 * durationMs - 25);
  });
});
