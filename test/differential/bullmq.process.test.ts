/**
 * Differential test: every scenario runs against spoolkit and against real BullMQ 6 on a private
 * redis-server (127.0.0.1, a free port, killed after), and what an application could observe must
 * be equal: processing order, final states, return values, failure reasons, attempts, counts, and
 * the QueueEvents and Worker events of every job. Documented divergences are declared in the
 * scenario files and checked exactly on both sides.
 *
 * When redis-server cannot be started, spoolkit is compared with the BullMQ results recorded in
 * golden/ (re-recorded with `node --import tsx test/differential/record.ts`), and the reason is
 * logged (SPOOLKIT_DIFF_LIVE_BULLMQ=0 forces this mode). With redis-server, the recorded results are also checked against live BullMQ, so a stale
 * recording cannot hide a difference.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../../bench/lib/redis-server.mjs';
import { bullmqBackend, spoolkitBackend, type Backend } from './backends.js';
import { readGolden } from './golden.js';
import { setAsideDivergences, type RunResult } from './normalize.js';
import { runScenario } from './runner.js';
import { scenarios } from './scenarios/index.js';

let redis: RedisServer | undefined;
let redisUnavailable = '';

beforeAll(async () => {
  if (process.env.SPOOLKIT_DIFF_LIVE_BULLMQ === '0') {
    redisUnavailable = 'SPOOLKIT_DIFF_LIVE_BULLMQ=0';
    console.warn('differential: live BullMQ disabled by SPOOLKIT_DIFF_LIVE_BULLMQ=0; comparing with the recorded results');
    return;
  }
  try {
    redis = await startRedis({ appendonly: 'no', timeoutMs: 10_000 });
  } catch (err) {
    redisUnavailable = err instanceof Error ? err.message : String(err);
    console.warn(`differential: redis-server unavailable (${redisUnavailable}); comparing spoolkit with the recorded BullMQ results in test/differential/golden/ (run scripts/redis.mjs to install it)`);
  }
});

afterAll(async () => {
  await redis?.stop();
});

async function play(open: () => Promise<Backend>, id: string): Promise<RunResult> {
  const backend = await open();
  try {
    const sc = scenarios.find((s) => s.id === id);
    if (!sc) throw new Error(`no scenario ${id}`);
    return await runScenario(sc, backend);
  } finally {
    await backend.dispose();
  }
}

describe('spoolkit behaves like BullMQ', () => {
  it('has at least 10 scenarios, each with a recorded BullMQ result', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(10);
    expect(new Set(scenarios.map((s) => s.id)).size).toBe(scenarios.length);
    for (const sc of scenarios) expect(readGolden(sc.id), `golden/${sc.id}.bullmq.json`).toBeDefined();
  });

  // Each undocumented difference is listed as a to-do, so it shows in every test summary.
  for (const sc of scenarios) {
    for (const k of sc.knownDifferences ?? []) it.todo(`known difference, ${sc.id} at ${k.path}: ${k.note}`);
  }

  for (const sc of scenarios) {
    it(`${sc.id}: ${sc.description}`, async () => {
      let reference: RunResult;
      if (redis) {
        const port = redis.port;
        reference = await play(() => bullmqBackend(port), sc.id);
        expect(reference, `recorded golden/${sc.id}.bullmq.json differs from live BullMQ; re-record it`).toEqual(readGolden(sc.id));
      } else {
        const golden = readGolden(sc.id);
        if (!golden) throw new Error(`no recorded BullMQ result for ${sc.id} and no redis-server (${redisUnavailable})`);
        reference = golden;
      }
      const actual = await play(spoolkitBackend, sc.id);
      for (const k of sc.knownDifferences ?? []) process.stderr.write(`differential ${sc.id}: known difference at ${k.path}: ${k.note}\n`);
      expect(setAsideDivergences(actual, 'spoolkit', sc.divergences, sc.knownDifferences)).toEqual(
        setAsideDivergences(reference, 'bullmq', sc.divergences, sc.knownDifferences),
      );
    });
  }
});
