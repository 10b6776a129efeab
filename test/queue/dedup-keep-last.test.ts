import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue, Worker, type Job, type JobsOptions } from '../../src/index.js';
import { keepNext } from '../../src/spool/dedup-next.js';
import { reclaimStalled } from '../../src/spool/reclaim.js';
import { dedupFile } from '../../src/spool/store.js';
import { sleep, tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

const keepLast = (extra: Record<string, unknown> = {}): JobsOptions => ({ deduplication: { id: 'd', keepLastIfActive: true, ...extra } });

function key(q: Queue): { jobId: string; expiresAt: number | null } | undefined {
  const file = dedupFile(q.store, 'd');
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as { jobId: string; expiresAt: number | null }) : undefined;
}

function nextFiles(q: Queue): string[] {
  const dir = path.join(q.store.dir, 'dedup-next');
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}

/** A worker whose jobs with `data.hold` wait until released; records each run's id and data. */
function holdingWorker(spool: string, opts: Record<string, unknown> = {}) {
  const runs: { id: string; n: unknown }[] = [];
  const releases: (() => void)[] = [];
  let fail = false;
  const w = track(
    new Worker(
      'q',
      async (job: Job) => {
        runs.push({ id: job.id!, n: job.data.n });
        if (job.data.hold) await new Promise<void>((r) => releases.push(r));
        if (fail) throw new Error('boom');
        return job.data.n;
      },
      { spool, ...opts },
    ),
  );
  return { w, runs, release: () => releases.shift()?.(), failNext: (v: boolean) => (fail = v), held: () => releases.length };
}

describe('deduplication keepLastIfActive', () => {
  it('keeps the last add made while the holder runs and adds it, with the id it was told, when the holder completes', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const { runs, release, held } = holdingWorker(spool);
    const a = await q.add('j', { n: 1, hold: true }, keepLast({ ttl: 50 }));
    // ttl is ignored: the key lives as long as its job.
    expect(key(q)?.expiresAt).toBeNull();
    await waitFor(() => held() === 1, 5000, 'the holder to run');
    const b = await q.add('j', { n: 2 }, keepLast());
    const c = await q.add('j', { n: 3 }, keepLast());
    expect([b.id, c.id]).toEqual([a.id, a.id]);
    expect(nextFiles(q)).toHaveLength(1);
    expect(await q.getWaitingCount()).toBe(0);
    release();
    await waitFor(() => runs.length === 2, 5000, 'the kept job to run');
    // The third add's automatic id was 3 (the 'deduplicated' event named it): the kept job has it.
    expect(runs).toEqual([{ id: a.id, n: 1 }, { id: '3', n: 3 }]);
    await waitFor(async () => (await q.getJobState('3')) === 'completed', 3000, 'the kept job to complete');
    expect(nextFiles(q)).toEqual([]);
    expect(key(q)).toBeUndefined();
    // The counter moved past the kept job's id, as BullMQ's: the next add gets a new number.
    const d = await q.add('j', { n: 4 }, keepLast());
    expect(Number(d.id)).toBeGreaterThan(3);
  });

  it('the kept job takes the key: adds while it runs are kept for after it', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const { runs, release, held } = holdingWorker(spool);
    await q.add('j', { n: 1, hold: true }, keepLast());
    await waitFor(() => held() === 1, 5000, 'the holder to run');
    await q.add('j', { n: 2, hold: true }, keepLast());
    release();
    await waitFor(() => held() === 1 && runs.length === 2, 5000, 'the kept job to run');
    expect(key(q)?.jobId).toBe(runs[1]!.id);
    await q.add('j', { n: 3 }, keepLast());
    release();
    await waitFor(() => runs.length === 3, 5000, 'the next kept job to run');
    expect(runs.map((r) => r.n)).toEqual([1, 2, 3]);
  });

  it('an add while the holder waits is deduplicated and dropped, as without the option', async () => {
    const q = track(new Queue('q', { spool: tmpSpool() }));
    const a = await q.add('j', { n: 1 }, keepLast());
    const b = await q.add('j', { n: 2 }, keepLast());
    expect(b.id).toBe(a.id);
    expect(nextFiles(q)).toEqual([]);
    expect(await q.getWaitingCount()).toBe(1);
  });

  it('a holder that fails for good also lets the kept job in; a retry does not', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const { runs, release, held, failNext } = holdingWorker(spool);
    failNext(true);
    await q.add('j', { n: 1, hold: true }, { ...keepLast(), attempts: 2 });
    await waitFor(() => held() === 1, 5000, 'the holder to run');
    await q.add('j', { n: 2 }, keepLast());
    release();
    // The first attempt failed and is retried: the holder runs again, the kept job waits.
    await waitFor(() => held() === 1 && runs.length === 2, 5000, 'the retry');
    expect(runs.map((r) => r.n)).toEqual([1, 1]);
    expect(nextFiles(q)).toHaveLength(1);
    release();
    await waitFor(() => runs.length === 3, 5000, 'the kept job after the final failure');
    expect(runs[2]!.n).toBe(2);
  });

  it('a holder waiting for its retry keeps its kept job back, and removing it drops the kept job with its key', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const { w, release, held, failNext } = holdingWorker(spool);
    failNext(true);
    const a = await q.add('j', { n: 1, hold: true }, { ...keepLast(), attempts: 2, backoff: 60_000 });
    await waitFor(() => held() === 1, 5000, 'the holder to run');
    await q.add('j', { n: 2 }, keepLast());
    release();
    await waitFor(async () => (await q.getJobState(a.id!)) === 'delayed', 5000, 'the holder delayed for its retry');
    await w.close();
    // A holder waiting for its retry still holds its kept job back, whatever its age.
    const [file] = nextFiles(q);
    const old = new Date(Date.now() - 120_000);
    fs.utimesSync(path.join(q.store.dir, 'dedup-next', file!), old, old);
    reclaimStalled(q.store, { nowMs: Date.now(), lockDurationMs: 30_000, maxStalledCount: 1 });
    expect(nextFiles(q)).toEqual([file]);
    expect(await q.getWaitingCount()).toBe(0);
    await (await q.getJob(a.id!))!.remove();
    expect(key(q)).toBeUndefined();
    expect(nextFiles(q)).toEqual([]);
  });

  it('a job kept just after its holder finished is added at once', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const a = await q.add('j', { n: 1 }, keepLast());
    const { runs } = holdingWorker(spool);
    await waitFor(async () => (await q.getJobState(a.id!)) === 'completed', 5000, 'the holder to complete');
    // As an add does when it saw the holder active and its finisher looked for kept jobs before this one was written.
    keepNext(q.store, { dedupId: 'd', id: '9', name: 'j', data: { n: 2 }, opts: keepLast() }, a.id!);
    await waitFor(() => runs.length === 2, 5000, 'the kept job to run');
    expect(runs[1]).toEqual({ id: '9', n: 2 });
    expect(nextFiles(q)).toEqual([]);
  });

  it('the stalled check adds a kept job whose holder finished without adding it, and one a dead process left half taken', async () => {
    const q = track(new Queue('q', { spool: tmpSpool() }));
    const dir = path.join(q.store.dir, 'dedup-next');
    fs.mkdirSync(dir, { recursive: true });
    const old = new Date(Date.now() - 120_000);
    // An orphan: no key holds id d (its holder finished and gave the key back, then its process died).
    const orphan = path.join(dir, path.basename(dedupFile(q.store, 'd')));
    fs.writeFileSync(orphan, JSON.stringify({ dedupId: 'd', id: '7', name: 'j', data: { n: 7 }, opts: keepLast() }));
    fs.utimesSync(orphan, old, old);
    // Half taken by a process that died before adding it, and one that died after.
    const taking = path.join(dir, `${path.basename(dedupFile(q.store, 'e'))}.x.taking`);
    fs.writeFileSync(taking, JSON.stringify({ dedupId: 'e', id: '8', name: 'j', data: { n: 8 }, opts: { deduplication: { id: 'e', keepLastIfActive: true } } }));
    fs.utimesSync(taking, old, old);
    const added = await q.add('j', { n: 9 }, { jobId: 'custom-9' });
    const done = path.join(dir, `${path.basename(dedupFile(q.store, 'f'))}.y.taking`);
    fs.writeFileSync(done, JSON.stringify({ dedupId: 'f', id: added.id, name: 'j', data: { n: 10 }, opts: {} }));
    fs.utimesSync(done, old, old);
    reclaimStalled(q.store, { nowMs: Date.now(), lockDurationMs: 30_000, maxStalledCount: 1 });
    expect((await q.getJob('7'))?.data).toEqual({ n: 7 });
    expect((await q.getJob('8'))?.data).toEqual({ n: 8 });
    expect((await q.getJob('custom-9'))?.data).toEqual({ n: 9 });
    expect(await q.getWaitingCount()).toBe(3);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('a kept job that cannot be added leaves the finished holder as it is, and waits for the stalled check', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const { w, runs, release, held } = holdingWorker(spool);
    const failed: unknown[] = [];
    let completed = 0;
    w.on('failed', (job) => failed.push(job));
    w.on('completed', () => completed++);
    const a = await q.add('j', { n: 1, hold: true }, keepLast());
    await waitFor(() => held() === 1, 5000, 'the holder to run');
    // A kept job its add cannot make (a priority out of range, as another program might write).
    keepNext(q.store, { dedupId: 'd', id: '5', name: 'j', data: {}, opts: { ...keepLast(), priority: -1 } }, a.id!);
    release();
    await waitFor(async () => (await q.getJobState(a.id!)) === 'completed', 5000, 'the holder to complete');
    await sleep(50);
    expect(failed).toEqual([]);
    expect(completed).toBe(1);
    expect(runs).toHaveLength(1);
    expect(nextFiles(q).filter((f) => f.endsWith('.taking'))).toHaveLength(1);
  });

  it('leaves a kept job alone while its holder is active', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const { held, release } = holdingWorker(spool);
    await q.add('j', { n: 1, hold: true }, keepLast());
    await waitFor(() => held() === 1, 5000, 'the holder to run');
    await q.add('j', { n: 2 }, keepLast());
    const [file] = nextFiles(q);
    const old = new Date(Date.now() - 120_000);
    fs.utimesSync(path.join(q.store.dir, 'dedup-next', file!), old, old);
    reclaimStalled(q.store, { nowMs: Date.now(), lockDurationMs: 30_000, maxStalledCount: 1 });
    expect(nextFiles(q)).toHaveLength(1);
    expect(await q.getWaitingCount()).toBe(0);
    release();
    await sleep(50);
  });
});
