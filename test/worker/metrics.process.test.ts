import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';
import { startFixture } from '../fixtures/core/procs.js';

describe('metrics counted by worker processes together', () => {
  it('two processes appending to the same minute files lose no finish', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const total = 600;
    await q.addBulk(Array.from({ length: total }, (_, i) => ({ name: 'ok', data: { i } })));
    const env = { SPOOL: spool, CONCURRENCY: '4', METRICS: '60', POLL_MS: '20' };
    await Promise.all([startFixture('worker-proc.ts', env), startFixture('worker-proc.ts', env)]);
    await waitFor(async () => (await q.getCompletedCount()) === total, 30_000, 'every job completed');
    const m = await q.getMetrics('completed');
    expect(m.meta.count).toBe(total);
    // A run that crossed a minute boundary has data points; together they count every finish
    // before the newest minute.
    expect(m.data.reduce((a, b) => a + b, 0)).toBe(m.meta.prevCount);
    expect((await q.getMetrics('failed')).meta.count).toBe(0);
  }, 60_000);
});
