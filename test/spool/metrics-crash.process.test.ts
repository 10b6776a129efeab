import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { readMetrics } from '../../src/spool/metrics.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';
import { exited, startFixture } from '../fixtures/core/procs.js';

const MIN = 60_000;
const T = 29_000_000 * MIN;
/** One finish every five minutes: each begins a minute, and every other one folds. */
const STEP = 5 * MIN;

describe('metrics written by processes that are SIGKILLed', () => {
  it('count every finish once, whether a writer dies while appending, beginning a minute or folding', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    let total = 0;
    let at = T;
    // 24 kills at spread-out points; with a fold every other finish, many land in one.
    const stops = Array.from({ length: 24 }, (_, i) => 40 + ((i * 37) % 90));
    for (const [round, stopAfter] of stops.entries()) {
      const writer = await startFixture('metrics-writer.ts', { SPOOL: spool, START_MS: String(at), STEP_MS: String(STEP) });
      let out = '';
      writer.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      const recorded = (): number => Number(out.trimEnd().split('\n').pop()) || 0;
      await waitFor(() => recorded() >= stopAfter, 20_000, `round ${round}: ${stopAfter} finishes`);
      writer.kill('SIGKILL');
      await exited(writer);
      const done = recorded();
      // The finish being recorded when the kill came may or may not have been written.
      const got = readMetrics(q.store, 'completed').meta.count - total;
      expect(got, `round ${round}`).toBeGreaterThanOrEqual(done);
      expect(got, `round ${round}`).toBeLessThanOrEqual(done + 1);
      total += got;
      at += (got + 3) * STEP;
    }
    // A writer that finishes normally after all of them: its finishes are added to the rest.
    const last = await startFixture('metrics-writer.ts', { SPOOL: spool, START_MS: String(at), STEP_MS: String(STEP), COUNT: '300' });
    expect(await exited(last, 20_000)).toBe(0);
    const m = readMetrics(q.store, 'completed');
    expect(m.meta.count).toBe(total + 300);
    // One finish every fifth minute: the hour's window shows 12, at every fifth point.
    expect(m.count).toBe(60);
    expect(m.data.map((n, i) => (n === 1 ? i : -1)).filter((i) => i >= 0)).toEqual([4, 9, 14, 19, 24, 29, 34, 39, 44, 49, 54, 59]);
  }, 120_000);
});
