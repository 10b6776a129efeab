import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getJobScheduler, runSchedulerPass, upsertJobScheduler } from '../../src/scheduler/index.js';
import { KEPT_MARKERS, schedulerDir } from '../../src/scheduler/store.js';
import { CLAIM_GRACE_MS } from '../../src/scheduler/tick.js';
import { createFileHost, type FileHost } from './file-host.js';

const T0 = Date.UTC(2025, 0, 15, 10, 0, 0, 0);

let root: string;
let clock: number;
let host: FileHost;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'spoolkit-pass-'));
  clock = T0;
  host = createFileHost(root, 'q', { now: () => clock });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const id = (sched: string, ms: number) => `repeat:${sched}:${ms}`;

describe('runSchedulerPass', () => {
  it('asks for the next pass at once when it ran out of rounds only catching up, not racing', async () => {
    // Time moves on with every look at the clock: each round finds the run it just enqueued due.
    const ticking = createFileHost(root, 'fast', { now: () => (clock += 1) });
    await upsertJobScheduler(ticking, 'sub', { every: 1 });
    const r = await runSchedulerPass(ticking);
    expect(r.enqueued.length).toBeGreaterThan(1);
    expect(r.nextRunMs).not.toBeNull();
    expect(r.nextRunMs!).toBeLessThanOrEqual(clock);
  });

  it('keeps one run ahead and reports when it is due', async () => {
    await upsertJobScheduler(host, 'ev', { every: 1000 });
    clock = T0 + 10;
    let r = await runSchedulerPass(host);
    expect(r.enqueued).toEqual([]);
    expect(r.nextDueMs).toBe(T0 + 1000);
    clock = T0 + 1000;
    r = await runSchedulerPass(host);
    expect(r.enqueued).toEqual([id('ev', T0 + 2000)]);
    expect(r.nextDueMs).toBe(T0 + 2000);
    // A pass a little late (timer slip) still enqueues the run, not skipping it.
    clock = T0 + 3005;
    r = await runSchedulerPass(host);
    expect(r.enqueued).toEqual([id('ev', T0 + 3000), id('ev', T0 + 4000)]);
    expect(r.skipped).toEqual({});
    expect(host.readJob(id('ev', T0 + 3000))!.opts.delay).toBe(0);
  });

  it('asks for another pass within rescanMs, so schedulers upserted elsewhere are seen', async () => {
    let r = await runSchedulerPass(host);
    expect(r).toMatchObject({ nextDueMs: T0 + 1000, nextRunMs: null, enqueued: [] });
    r = await runSchedulerPass(host, { rescanMs: Infinity });
    expect(r.nextDueMs).toBeNull();
    await upsertJobScheduler(host, 'far', { every: 3_600_000, startDate: T0 + 60_000 });
    r = await runSchedulerPass(host, { rescanMs: 5000 });
    expect(r).toMatchObject({ nextDueMs: T0 + 5000, nextRunMs: T0 + 60_000 });
  });

  it('missed runs: enqueues the latest one once, skips and counts the older ones', async () => {
    await upsertJobScheduler(host, 'ev', { every: 1000 });
    // The run at T0+1000 is already enqueued (the run ahead). Nothing runs until T0+7500.
    clock = T0 + 7500;
    const r = await runSchedulerPass(host);
    // Runs T0+2000..T0+6000 are skipped (5), T0+7000 runs once, T0+8000 is the new run ahead.
    expect(r.enqueued).toEqual([id('ev', T0 + 7000), id('ev', T0 + 8000)]);
    expect(r.skipped).toEqual({ ev: 5 });
    expect(host.jobIds()).toEqual([T0, T0 + 1000, T0 + 7000, T0 + 8000].map((t) => id('ev', t)));
    const json = await getJobScheduler(host, 'ev');
    expect(json).toMatchObject({ next: T0 + 8000, iterationCount: 4, skippedCount: 5 });
    // Repeating the pass changes nothing.
    const again = await runSchedulerPass(host);
    expect(again.enqueued).toEqual([]);
    expect(host.addedLog()).toHaveLength(4);
  });

  it('missed runs of a cron pattern', async () => {
    await upsertJobScheduler(host, 'cr', { pattern: '*/10 * * * * *' });
    clock = T0 + 65_000;
    const r = await runSchedulerPass(host);
    // Run ahead was :10. Missed :20 :30 :40 :50 (4 skipped), :00 of the next minute runs once.
    expect(r.enqueued).toEqual([id('cr', T0 + 60_000), id('cr', T0 + 70_000)]);
    expect(r.skipped).toEqual({ cr: 4 });
  });

  it('never re-creates a run whose job retention already removed', async () => {
    await upsertJobScheduler(host, 'ev', { every: 1000 });
    clock = T0 + 1000;
    await runSchedulerPass(host);
    // Both finished runs are removed by retention.
    host.deleteJob(id('ev', T0));
    host.deleteJob(id('ev', T0 + 1000));
    await runSchedulerPass(host);
    await upsertJobScheduler(host, 'ev', { every: 1000 });
    expect(host.jobIds()).toEqual([id('ev', T0 + 2000)]);
    expect(host.addedLog().map((l) => l.id)).toEqual([T0, T0 + 1000, T0 + 2000].map((t) => id('ev', t)));
  });

  it('stops at limit', async () => {
    await upsertJobScheduler(host, 'lim', { every: 1000, limit: 3 });
    for (let t = 1; t <= 10; t++) {
      clock = T0 + t * 1000;
      await runSchedulerPass(host);
    }
    expect(host.jobIds()).toEqual([T0, T0 + 1000, T0 + 2000].map((t) => id('lim', t)));
    expect(await getJobScheduler(host, 'lim')).toMatchObject({ iterationCount: 3, limit: 3, done: true });
    const done = await runSchedulerPass(host);
    expect(done.nextRunMs).toBeNull();
    expect(done.nextDueMs).toBe(clock + 1000); // still asks for a pass soon, to see new schedulers
  });

  it('stops at endDate and waits for startDate', async () => {
    await upsertJobScheduler(host, 'win', { every: 1000, startDate: T0 + 5000, endDate: T0 + 7500 });
    expect(host.jobIds()).toEqual([id('win', T0 + 5000)]);
    for (let t = 1; t <= 12; t++) {
      clock = T0 + t * 1000;
      await runSchedulerPass(host);
    }
    expect(host.jobIds()).toEqual([T0 + 5000, T0 + 6000, T0 + 7000].map((t) => id('win', t)));
    expect((await getJobScheduler(host, 'win'))?.done).toBe(true);
  });

  it('pattern with immediately runs now, then on the pattern', async () => {
    const job = await upsertJobScheduler(host, 'imm', { pattern: '0 * * * * *', immediately: true });
    expect(job.id).toBe(id('imm', T0));
    expect(host.jobIds()).toEqual([id('imm', T0), id('imm', T0 + 60_000)]);
  });

  it('every with offset runs on the shifted grid', async () => {
    clock = T0 + 1234;
    await upsertJobScheduler(host, 'off', { every: 10_000, offset: 3000 });
    expect(host.jobIds()).toEqual([id('off', T0 + 3000)]);
    clock = T0 + 3000;
    await runSchedulerPass(host);
    expect(host.jobIds()).toEqual([id('off', T0 + 3000), id('off', T0 + 13_000)]);
  });

  it('concurrent passes from several hosts enqueue each run exactly once', async () => {
    const hosts = Array.from({ length: 5 }, () => createFileHost(root, 'q', { now: () => clock }));
    await upsertJobScheduler(host, 'ev', { every: 1000 });
    for (let t = 1; t <= 20; t++) {
      clock = T0 + t * 1000 + (t % 3) * 7;
      await Promise.all(hosts.map((h) => runSchedulerPass(h)));
    }
    const ids = host.addedLog().map((l) => l.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(Array.from({ length: 22 }, (_, k) => id('ev', T0 + k * 1000)));
  });

  it('prunes old markers but keeps enough to block re-creation', async () => {
    await upsertJobScheduler(host, 'ev', { every: 1000 });
    for (let t = 1; t <= 40; t++) {
      clock = T0 + t * 1000;
      await runSchedulerPass(host);
    }
    const ticks = readdirSync(join(schedulerDir(host, 'ev'), 'ticks'));
    expect(ticks.length).toBeLessThanOrEqual(KEPT_MARKERS * 2 + 1);
    expect(ticks.length).toBeGreaterThanOrEqual(KEPT_MARKERS);
  });

  it('finishes a run whose claimer died before adding the job, after the grace period', async () => {
    await upsertJobScheduler(host, 'ev', { every: 1000 });
    const dir = schedulerDir(host, 'ev');
    // Simulate a claimer that wrote the marker for T0+2000 and died.
    clock = T0 + 1000;
    const markerPath = join(dir, 'ticks', `${T0 + 2000}.json`);
    const prev = JSON.parse(readFileSync(join(dir, 'ticks', `${T0 + 1000}.json`), 'utf8'));
    writeFileSync(markerPath, JSON.stringify({ ...prev, millis: T0 + 2000, jobId: id('ev', T0 + 2000), iteration: 3, phase: 'claimed', claimedAt: clock }));
    let r = await runSchedulerPass(host);
    expect(r.enqueued).toEqual([]);
    expect(r.nextRunMs).toBe(T0 + 2000);
    // Due, but the claim is younger than the grace period: its claimer may still be adding the
    // job. The pass looks again after a wait as long as the claim's age (1 s here).
    clock = T0 + 2000;
    r = await runSchedulerPass(host);
    expect(r.enqueued).toEqual([]);
    expect(r.nextRunMs).toBe(T0 + 3000);
    expect(host.jobIds()).not.toContain(id('ev', T0 + 2000));
    // The waits double, and never pass the end of the grace.
    clock = T0 + 9000;
    r = await runSchedulerPass(host);
    expect(r.nextRunMs).toBe(T0 + 1000 + CLAIM_GRACE_MS);
    expect(host.jobIds()).not.toContain(id('ev', T0 + 2000));
    clock = T0 + 1000 + CLAIM_GRACE_MS;
    r = await runSchedulerPass(host);
    expect(host.jobIds()).toContain(id('ev', T0 + 2000));
    expect(JSON.parse(readFileSync(markerPath, 'utf8')).phase).toBe('enqueued');
  });

  it('looks again within milliseconds at a due run another pass claimed a moment ago', async () => {
    await upsertJobScheduler(host, 'ev', { every: 100 });
    const dir = schedulerDir(host, 'ev');
    clock = T0 + 100;
    const prev = JSON.parse(readFileSync(join(dir, 'ticks', `${T0 + 100}.json`), 'utf8'));
    // Another replica claimed the run at T0+200 5 ms ago and is adding its job.
    clock = T0 + 205;
    writeFileSync(join(dir, 'ticks', `${T0 + 200}.json`), JSON.stringify({ ...prev, millis: T0 + 200, jobId: id('ev', T0 + 200), iteration: prev.iteration + 1, phase: 'claimed', claimedAt: T0 + 200 }));
    const r = await runSchedulerPass(host);
    expect(r.enqueued).toEqual([]);
    expect(r.nextRunMs).toBe(T0 + 205 + 20);
  });

  it('a slow replica that claims a run already passed by drops its claim', async () => {
    const { enqueueTick } = await import('../../src/scheduler/tick.js');
    const { readScheduler } = await import('../../src/scheduler/store.js');
    await upsertJobScheduler(host, 'ev', { every: 1000 });
    for (let t = 1; t <= 30; t++) {
      clock = T0 + t * 1000;
      await runSchedulerPass(host);
    }
    host.deleteJob(id('ev', T0 + 2000));
    const dir = schedulerDir(host, 'ev');
    const def = (await readScheduler(dir))!;
    // Its marker was pruned long ago; a replica that read the state at T0+1000 tries it now.
    const r = await enqueueTick(host, dir, def, T0 + 2000, 3, 0, 0);
    expect(r.outcome).toBe('abandoned');
    expect(host.jobIds()).not.toContain(id('ev', T0 + 2000));
  });

  it('reports an unreadable scheduler as a problem and carries on with the others', async () => {
    await upsertJobScheduler(host, 'good', { every: 1000 });
    await upsertJobScheduler(host, 'bad', { every: 1000 });
    writeFileSync(join(schedulerDir(host, 'bad'), 'scheduler.json'), '{not json');
    clock = T0 + 1000;
    const r = await runSchedulerPass(host);
    expect(r.problems.map((p) => p.schedulerId)).toEqual(['bad']);
    expect((r.problems[0]?.error as { code?: string }).code).toBe('ERR_SPOOL_CORRUPT');
    await expect(getJobScheduler(host, 'bad')).rejects.toThrow(/delete its directory and upsert the scheduler again/);
    expect(r.enqueued).toEqual([id('good', T0 + 2000)]);
  });
});
