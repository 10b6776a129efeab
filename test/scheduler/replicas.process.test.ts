/**
 * Three scheduler processes share one spool and one `every: 1000` scheduler. Each run's job must
 * be created exactly once; after all stop and several runs pass, a restart must neither create a
 * run twice nor skip one silently: exactly one missed run (the latest) is enqueued and the older
 * ones are counted in `skippedCount`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { getJobScheduler, upsertJobScheduler } from '../../src/scheduler/index.js';
import { createFileHost } from './file-host.js';
import { sleep, startReplica, stopReplica, type Replica } from './replicas.js';

const EVERY = 1000;
let root: string | undefined;
const running: Replica[] = [];

afterEach(async () => {
  await Promise.allSettled(running.splice(0).map((r) => stopReplica(r)));
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
});

async function startThree(spool: string): Promise<Replica[]> {
  const rs = await Promise.all([0, 1, 2].map(() => startReplica(spool, 'ticks', 'file')));
  running.push(...rs);
  return rs;
}

async function stopAll(rs: Replica[]): Promise<void> {
  const codes = await Promise.all(rs.map((r) => stopReplica(r)));
  expect(codes).toEqual([0, 0, 0]);
  running.splice(0, running.length, ...running.filter((r) => !rs.includes(r)));
}

describe('three scheduler replicas on one spool', () => {
  it('create each run once, and across a restart apply the missed-run policy', async () => {
    root = mkdtempSync(join(tmpdir(), 'spoolkit-replicas-'));
    const host = createFileHost(root, 'ticks');
    const phase1 = await startThree(root);
    // Upserted while the replicas run; the first run is 1.5 s ahead so none falls due unseen.
    const startDate = Date.now() + 1500;
    const first = await upsertJobScheduler(host, 'beat', { every: EVERY, startDate }, { data: { from: 'test' } });
    const firstMillis = Number(String(first.id).split(':').pop());
    expect(firstMillis).toBe(startDate);
    await sleep(Math.max(0, startDate - Date.now()) + 3500);
    await stopAll(phase1);

    const afterPhase1 = host.addedLog();
    const stoppedAt = Date.now();
    const lastBeforeStop = Math.max(...afterPhase1.map((l) => Number(l.id.split(':').pop())));

    // Several runs fall due while nothing runs.
    await sleep(3600);

    const restartAt = Date.now();
    const phase2 = await startThree(root);
    await sleep(2500);
    await stopAll(phase2);

    const log = host.addedLog();
    const ids = log.map((l) => l.id);
    // Exactly once: no job id was ever created twice, by any process.
    expect(new Set(ids).size).toBe(ids.length);
    // All three replicas (plus the test process) took part in creating runs.
    expect(new Set(log.map((l) => l.pid)).size).toBeGreaterThanOrEqual(2);

    const millis = ids.map((id) => Number(id.split(':').pop())).sort((a, b) => a - b);
    expect(millis[0]).toBe(firstMillis);
    for (const m of millis) expect((m - firstMillis) % EVERY).toBe(0);
    const phase1Millis = millis.filter((m) => m <= lastBeforeStop);
    expect(phase1Millis.length).toBeGreaterThanOrEqual(3);

    // The restart: the first run after lastBeforeStop is the latest run that was due when the
    // first replica's pass ran (so it was created after its time, less than two intervals late);
    // the runs between were skipped.
    const phase2Millis = millis.filter((m) => m > lastBeforeStop);
    expect(phase2Millis.length).toBeGreaterThanOrEqual(2);
    const catchUp = phase2Millis[0] as number;
    expect((catchUp - lastBeforeStop) / EVERY - 1).toBeGreaterThanOrEqual(1); // 3.6 s down after a run ≤ 1 s ahead
    expect(catchUp).toBeGreaterThan(stoppedAt);
    expect(catchUp).toBeLessThanOrEqual(restartAt + 15_000);
    const catchUpEntry = log.find((l) => l.id.endsWith(`:${catchUp}`))!;
    expect(catchUpEntry.at).toBeGreaterThanOrEqual(catchUp);
    expect(catchUpEntry.at - catchUp).toBeLessThan(2 * EVERY);

    // Nothing skipped silently: every gap between enqueued runs (the downtime, and any pass a
    // starved machine delayed past a whole interval) is counted in skippedCount.
    const gaps = millis.slice(1).reduce((sum, m, k) => sum + ((m - (millis[k] as number)) / EVERY - 1), 0);
    const json = await getJobScheduler(host, 'beat');
    expect(json?.skippedCount).toBe(gaps);
    expect(json?.iterationCount).toBe(millis.length);
  });
});
