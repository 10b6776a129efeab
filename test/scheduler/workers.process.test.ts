/**
 * End to end with the real Queue and Workers: scheduler runs are enqueued by Worker processes (or
 * by `spoolkit scheduler` processes) and each one is processed exactly once, even though
 * `removeOnComplete: true` deletes every finished run; across a restart the missed-run policy holds.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { perTestCleanup, sleep, startSchedulerCli, startWorker, stopReplica, type Replica } from './replicas.js';

const EVERY = 500;
const { running, queues, newSpool } = perTestCleanup();

function processed(outFile: string): { id: string; millis: number; pid: number }[] {
  if (!existsSync(outFile)) return [];
  return readFileSync(outFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, pid] = line.split(' ');
      return { id: id as string, millis: Number((id as string).split(':').pop()), pid: Number(pid) };
    });
}

/** What an unexpected finished job file says about itself (for an assertion message). */
function finishedFiles(dir: string): string {
  if (!existsSync(dir)) return 'no completed/ directory';
  return readdirSync(dir)
    .map((name) => `${name}: ${readFileSync(join(dir, name), 'utf8').slice(0, 2000)}`)
    .join('\n');
}

async function stopAll(rs: Replica[]): Promise<void> {
  const codes = await Promise.all(rs.map((r) => stopReplica(r)));
  expect(codes, rs.map((r) => r.stderr()).join('\n')).toEqual(rs.map(() => 0));
  for (const r of rs) running.splice(running.indexOf(r), 1);
}

/** Runs missing between consecutive processed runs (sorted), in intervals. */
const gapsOf = (ms: number[]): number => ms.slice(1).reduce((sum, m, k) => sum + ((m - (ms[k] as number)) / EVERY - 1), 0);

describe('scheduler runs processed by Workers', () => {
  it('three Worker processes run each run once; a restart runs the pending and the latest missed run', async () => {
    const root = newSpool('spoolkit-sched-e2e-');
    const out = join(root, 'processed.log');
    const queue = new Queue('beats', { spool: root });
    queues.push(queue);
    const phase1 = await Promise.all([0, 1, 2].map(() => startWorker(root, 'beats', out)));
    running.push(...phase1);
    // Upserted while the workers run (as a web process does): they pick it up on their next pass.
    // The first run is 1.5 s ahead, so no run falls due before a worker has seen the scheduler.
    const startDate = Date.now() + 1500;
    const first = await queue.upsertJobScheduler('beat', { every: EVERY, startDate }, { name: 'beat', data: { n: 1 }, opts: { removeOnComplete: true } });
    const firstMillis = Number(String(first.id).split(':').pop());
    expect(firstMillis).toBe(startDate);
    await sleep(Math.max(0, startDate - Date.now()) + 2500);
    await stopAll(phase1);

    const pending = (await queue.getJobScheduler('beat'))?.next as number;
    const runs1 = processed(out);
    const ms1 = runs1.map((r) => r.millis).sort((a, b) => a - b);
    expect(ms1.length).toBeGreaterThanOrEqual(3);
    expect(ms1[0]).toBe(firstMillis);
    expect(pending).toBeGreaterThan(ms1.at(-1) as number);
    // Retention removed every finished run, and the pending one waits as a delayed job. One more
    // may wait: a run that fell due as the workers stopped (the pass that saw it due enqueued the
    // next one; no worker claimed it any more).
    const counts1 = await queue.getJobCounts();
    // Seen once under load and not reproduced since: the message names the job and who finished it.
    expect(counts1.completed, finishedFiles(join(root, 'queues', 'beats', 'completed'))).toBe(0);
    const waiting1 = (counts1.delayed ?? 0) + (counts1.waiting ?? 0);
    expect(waiting1).toBeGreaterThanOrEqual(1);
    expect(waiting1).toBeLessThanOrEqual(2);

    // Several runs fall due while nothing runs.
    await sleep(2600);

    const phase2 = await Promise.all([0, 1, 2].map(() => startWorker(root, 'beats', out)));
    running.push(...phase2);
    await sleep(2000);
    await stopAll(phase2);

    const all = processed(out);
    const ids = all.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length); // no run processed twice, by any process
    const ms = all.map((r) => r.millis).sort((a, b) => a - b);
    const ms2 = ms.filter((m) => m >= pending);
    expect(ms2[0]).toBe(pending); // the run enqueued before the stop ran after the restart
    const catchUp = ms2[1] as number;
    expect((catchUp - pending) / EVERY - 1).toBeGreaterThanOrEqual(1);
    // Nothing skipped silently: every gap between runs is counted. Runs still queued count too: a
    // worker that was slow to stop may have enqueued a catch-up run (with its own skips) after the
    // last processed one.
    const queued = (await queue.getJobs(['waiting', 'delayed', 'active'])).map((j) => Number(String(j.id).split(':').pop()));
    const json = await queue.getJobScheduler('beat');
    expect(json?.skippedCount).toBe(gapsOf([...ms, ...queued].sort((a, b) => a - b)));
    // Every processed run, plus the new pending one (and one due as the workers stopped, unprocessed).
    expect(json?.iterationCount).toBeGreaterThanOrEqual(ms.length + 1);
    expect(json?.iterationCount).toBeLessThanOrEqual(ms.length + 2);

    // Removing the scheduler takes its pending (delayed) run; a run already due stays, as in BullMQ.
    const dueBefore = (await queue.getJobs(['waiting'])).length;
    expect(await queue.removeJobScheduler('beat')).toBe(true);
    const counts = await queue.getJobCounts();
    expect((counts.delayed ?? 0) + (counts.active ?? 0)).toBe(0);
    expect(counts.waiting ?? 0).toBe(dueBefore);
  });

  it('two `spoolkit scheduler` processes feed a Worker that runs no scheduler passes: each run once', async () => {
    const root = newSpool('spoolkit-sched-role-');
    const out = join(root, 'processed.log');
    const queue = new Queue('roles', { spool: root });
    queues.push(queue);
    const worker = await startWorker(root, 'roles', out, false);
    running.push(worker);
    const schedulers = await Promise.all([0, 1].map(() => startSchedulerCli(root, ['--poll-interval', '200'])));
    running.push(...schedulers);
    const startDate = Date.now() + 1500;
    await queue.upsertJobScheduler('tick', { every: EVERY, startDate }, { opts: { removeOnComplete: true } });
    await sleep(Math.max(0, startDate - Date.now()) + 2500);
    await stopAll(schedulers);
    await sleep(300);
    await stopAll([worker]);

    const runs = processed(out);
    const ids = runs.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    const ms = runs.map((r) => r.millis).sort((a, b) => a - b);
    expect(ms.length).toBeGreaterThanOrEqual(4);
    expect(ms[0]).toBe(startDate);
    expect((await queue.getJobScheduler('tick'))?.skippedCount).toBe(gapsOf(ms));
    for (const s of schedulers) expect(s.stderr()).toContain('scheduler:stopped');
  });
});
