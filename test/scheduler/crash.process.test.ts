/**
 * A process SIGKILLed inside a scheduler operation, with Worker processes running the schedule:
 * no run is lost or run twice (each run job is deleted once it completes, so only the tick
 * markers remember it), and the schedule goes on without a gap.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { LOCK_STALE_MS } from '../../src/scheduler/store.js';
import { perTestCleanup, sleep, startWorker, stopReplica } from './replicas.js';

const KILLER = fileURLToPath(new URL('./fixtures/killer.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EVERY = 3000;

const { running, queues, newSpool } = perTestCleanup();

/** Runs the killer fixture at `point` and expects it to have died by SIGKILL. */
function runKiller(spool: string, queue: string, point: string): void {
  const r = spawnSync(process.execPath, ['--import', 'tsx', KILLER, spool, queue, point], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
  expect(r.signal, r.stderr).toBe('SIGKILL');
}

/** Job ids the worker ran, in order. */
function ranIds(outFile: string): string[] {
  if (!existsSync(outFile)) return [];
  return readFileSync(outFile, 'utf8').split('\n').filter(Boolean).map((line) => line.split(' ')[0]!);
}

function markers(queue: Queue): { millis: number; phase: string }[] {
  const dir = join(queue.queueDir, 'schedulers', 's', 'ticks');
  return readdirSync(dir)
    .filter((n) => !n.startsWith('.'))
    .map((n) => JSON.parse(readFileSync(join(dir, n), 'utf8')) as { millis: number; phase: string });
}

describe('a scheduler pass killed between claiming a run and committing it', () => {
  for (const point of ['pass-after-add', 'pass-before-add']) {
    it(`${point}: the run is enqueued once and the next runs follow on time`, async () => {
      const root = newSpool('spoolkit-sched-crash-');
      const queue = new Queue('k', { spool: root });
      queues.push(queue);
      await queue.upsertJobScheduler('s', { every: EVERY }, { opts: { removeOnComplete: true } });
      // The run kept ahead comes due: the killed pass claims the one after it.
      const ahead = Math.max(...markers(queue).map((m) => m.millis));
      await sleep(ahead - Date.now() + 100);
      runKiller(root, 'k', point);
      const claimed = markers(queue).find((m) => m.phase === 'claimed');
      expect(claimed?.millis).toBe(ahead + EVERY);

      const outFile = join(root, 'runs.log');
      running.push(await startWorker(root, 'k', outFile));
      const killedRun = `repeat:s:${ahead + EVERY}`;
      const twoLater = `repeat:s:${ahead + 3 * EVERY}`;
      // Bounded by the claim grace (15 s): a dead claimer's run must not hold the schedule that long.
      const deadline = ahead + 3 * EVERY + 5000;
      while (!ranIds(outFile).includes(twoLater) && Date.now() < deadline) await sleep(100);
      await stopReplica(running.pop()!);

      const ids = ranIds(outFile);
      expect(ids.filter((id) => id === killedRun)).toEqual([killedRun]);
      expect(ids).toContain(`repeat:s:${ahead + 2 * EVERY}`);
      expect(ids).toContain(twoLater);
      expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
      expect((await queue.getJobScheduler('s'))?.skippedCount).toBe(0);
    }, 40_000);
  }
});

describe('upsertJobScheduler killed while it takes back the old definition’s runs', () => {
  it('loses no run, and its lock does not hold back the next upsert', async () => {
    const root = newSpool('spoolkit-sched-crash-');
    const queue = new Queue('k', { spool: root });
    queues.push(queue);
    const first = await queue.upsertJobScheduler('s', { every: EVERY }, { data: { v: 1 } });
    const t = Number(String(first.id).split(':').pop());
    runKiller(root, 'k', 'upsert-after-take-back');

    const outFile = join(root, 'runs.log');
    running.push(await startWorker(root, 'k', outFile));
    const last = `repeat:s:${t + 2 * EVERY}`;
    const deadline = t + 2 * EVERY + 5000;
    while (!ranIds(outFile).includes(last) && Date.now() < deadline) await sleep(100);
    await stopReplica(running.pop()!);
    expect(ranIds(outFile)).toEqual([`repeat:s:${t}`, `repeat:s:${t + EVERY}`, last]);
    expect((await queue.getJobScheduler('s'))?.template?.data).toEqual({ v: 2 });

    // The killed upsert's lock names a dead process: broken at once, not after its 10 s age.
    const started = Date.now();
    await queue.upsertJobScheduler('s', { every: EVERY }, { data: { v: 2 } });
    expect(Date.now() - started).toBeLessThan(LOCK_STALE_MS / 2);
  }, 40_000);
});
