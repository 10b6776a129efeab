import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';
import { exited, readStarts, startFixture } from '../fixtures/core/procs.js';

const keepLast = { deduplication: { id: 'entity-7', keepLastIfActive: true } };

describe('keepLastIfActive with a worker killed mid-job', () => {
  it('the holder runs again in another process and the kept job follows it, once', async () => {
    const spool = tmpSpool();
    const starts = path.join(spool, 'starts.log');
    const q = track(new Queue('q', { spool }));
    const holder = await q.add('index', { n: 1 }, keepLast);
    const first = await startFixture('worker-proc.ts', { SPOOL: spool, STARTS: starts, JOB_MS: '60000', LOCK_MS: '1000' });
    await waitFor(() => readStarts(starts).length === 1, 10_000, 'the holder to start');
    const kept = await q.add('index', { n: 2 }, keepLast);
    await q.add('index', { n: 3 }, keepLast);
    expect(kept.id).toBe(holder.id);
    first.kill('SIGKILL');
    await exited(first);
    // The dead worker's job is recovered by the next worker's stalled check once its 1 s lease
    // has expired; the kept job must neither be lost nor added while the holder is active again.
    await startFixture('worker-proc.ts', { SPOOL: spool, STARTS: starts, JOB_MS: '20', STALLED_MS: '200' });
    await waitFor(async () => (await q.getJobCounts('completed')).completed === 2, 15_000, 'holder and kept job completed');
    const runs = readStarts(starts);
    expect(runs.map((r) => r.id)).toEqual([holder.id, holder.id, '3']);
    expect((await q.getJob('3'))?.data).toEqual({ n: 3 });
    expect(await q.getJobCounts('waiting', 'active', 'delayed')).toEqual({ waiting: 0, active: 0, delayed: 0 });
  });
});

describe('keepLastIfActive raced by producers and workers in separate processes', () => {
  it('never runs two jobs of the id at once, loses no kept job to a finish, and leaves nothing kept', async () => {
    const spool = tmpSpool();
    const starts = path.join(spool, 'starts.log');
    const ends = path.join(spool, 'ends.log');
    const adds = path.join(spool, 'adds.log');
    const q = track(new Queue('q', { spool }));
    const workerEnv = { SPOOL: spool, STARTS: starts, ENDS: ends, CONCURRENCY: '2', JOB_MS: '8', STALLED_MS: '200' };
    await Promise.all([startFixture('worker-proc.ts', workerEnv), startFixture('worker-proc.ts', workerEnv)]);
    const producers = await Promise.all(
      ['a', 'b'].map((prefix, i) => startFixture('keep-last-producer.ts', { SPOOL: spool, ADDS: '120', SEED: String(7 + i), PREFIX: prefix, LOG: adds })),
    );
    for (const p of producers) expect(await exited(p, 30_000)).toBe(0);
    await waitFor(async () => {
      const c = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      return Object.values(c).reduce((x, y) => x + y, 0) === 0;
    }, 20_000, 'the queue drained');
    const runs = readStarts(starts);
    const done = readStarts(ends);
    // One job of the id at a time: each run ends before the next starts (a run's end is logged
    // before its job leaves active/, its start after the claim).
    const byStart = runs.map((r, i) => ({ ...r, end: done.find((d) => d.id === r.id && d.at >= r.at)?.at ?? Infinity, i })).sort((x, y) => x.at - y.at);
    for (let i = 1; i < byStart.length; i++) expect(byStart[i]!.at, `run ${byStart[i]!.id} started before ${byStart[i - 1]!.id} ended`).toBeGreaterThanOrEqual(byStart[i - 1]!.end);
    // Every job ran once, and some were kept jobs: jobs whose add resolved to another job's id
    // (the holder's, told in the add's `deduplicated` event) and that ran under an id of their own.
    expect(new Set(runs.map((r) => r.id)).size).toBe(runs.length);
    const resolvedTo = new Map(fs.readFileSync(adds, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ') as [string, string]));
    const ranData = await Promise.all(runs.map(async (r) => ({ id: r.id, n: ((await q.getJob(r.id))?.data as { n?: string } | undefined)?.n })));
    expect(ranData.filter((r) => r.n !== undefined && resolvedTo.has(r.n) && resolvedTo.get(r.n) !== r.id).length).toBeGreaterThan(0);
    expect((await q.getJobCounts('completed')).completed).toBe(runs.length);
    // Nothing left kept or half taken once the holders are done.
    expect(fs.readdirSync(path.join(q.store.dir, 'dedup-next'))).toEqual([]);
  });
});
