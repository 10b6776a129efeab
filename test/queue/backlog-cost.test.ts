/**
 * Calls whose cost must not grow with the backlog: each test counts the directories a call lists
 * (fs.readdirSync / fs.opendirSync), not its time. Backlogs are spread over many buckets by adding
 * jobs under a clock that steps 2^20 ms (one top bucket) per job.
 *
 * Every add in this file goes through `addSpread`: keys never go back within a process, so an add
 * at the real time would pin later keys to it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Queue, readSpoolStatus } from '../../src/index.js';
import type { JobsOptions, JobType } from '../../src/types.js';
import { isDrained } from '../../src/spool/counts.js';
import { sliceRange } from '../../src/spool/bulk.js';
import { tmpSpool, track } from '../fixtures/core/helpers.js';

const TOP_MS = 2 ** 20;
const DAY_MS = 86_400_000;

/** The mocked clock: starts 30 days back and only moves forward (each job one top bucket later). */
let clock = Date.now() - 30 * DAY_MS;

/** Adds `n` jobs, each one top bucket later than the one before, at mocked times in the past. */
async function addSpread(q: Queue, n: number, opts: (i: number) => JobsOptions = () => ({})): Promise<string[]> {
  const now = vi.spyOn(Date, 'now');
  const ids: string[] = [];
  try {
    for (let i = 0; i < n; i++) {
      clock += TOP_MS;
      now.mockReturnValue(clock);
      ids.push((await q.add('x', { i }, opts(i))).id!);
    }
  } finally {
    now.mockRestore();
  }
  return ids;
}

/** Records every directory listed until `stop`; `under(dir)` counts those inside `dir` (itself included). */
function recordListings(): { under(dir: string): number; stop(): void } {
  const readdir = vi.spyOn(fs, 'readdirSync');
  const opendir = vi.spyOn(fs, 'opendirSync');
  let listed: string[] | undefined;
  return {
    under(dir: string): number {
      if (!listed) throw new Error('stop() the recording first');
      return listed.filter((p) => p === dir || p.startsWith(dir + path.sep)).length;
    },
    stop(): void {
      // Taken before the restore, which forgets the calls.
      listed = [...readdir.mock.calls, ...opendir.mock.calls].map((c) => String(c[0]));
      readdir.mockRestore();
      opendir.mockRestore();
    },
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

function open(): { spool: string; q: Queue; dir: (sub: string) => string } {
  const spool = tmpSpool();
  const q = track(new Queue('q', { spool }));
  return { spool, q, dir: (sub) => path.join(q.store.dir, sub) };
}

/** Sets the times of every bucket directory under `setDir` a minute back, so counts may cache them. */
function ageBuckets(setDir: string): void {
  const past = (Date.now() - 60_000) / 1000;
  for (const top of fs.readdirSync(setDir)) {
    for (const leaf of fs.readdirSync(path.join(setDir, top))) fs.utimesSync(path.join(setDir, top, leaf), past, past);
  }
}

describe('reading the head of a big state', () => {
  it('getJobs and getDelayed list the first top and leaf only, however many buckets the state has', async () => {
    const { q, dir } = open();
    const ids = await addSpread(q, 40, () => ({ delay: DAY_MS }));
    const rec = recordListings();
    expect((await q.getJobs(['delayed'], 0, 1, true)).map((j) => j.id)).toEqual(ids.slice(0, 2));
    expect((await q.getDelayed(0, 0)).map((j) => j.id)).toEqual(ids.slice(0, 1));
    rec.stop();
    // One job per top. Entries 0-1: the set's root, two tops and their leaves; entry 0: the root,
    // one top, its leaf. Not the other tops.
    expect(rec.under(dir('delayed'))).toBe(5 + 3);
  });

  it("a worker's idle check (isDrained) reads one bucket of the delayed set", async () => {
    const { q, dir } = open();
    await addSpread(q, 40, () => ({ delay: DAY_MS }));
    const rec = recordListings();
    expect(isDrained(q.store)).toBe(false);
    rec.stop();
    expect(rec.under(dir('delayed'))).toBe(3);
  });
});

describe('ranges counted from the end', () => {
  it('are read from the end of the state', async () => {
    const { q, dir } = open();
    const ids = await addSpread(q, 40);
    const rec = recordListings();
    expect((await q.getJobs(['waiting'], -2, -1, true)).map((j) => j.id)).toEqual(ids.slice(-2));
    expect((await q.getJobs(['waiting'], -2, -1, false)).map((j) => j.id)).toEqual(ids.slice(0, 2).reverse());
    rec.stop();
    // Each call: the set's root, the two tops at one end and their leaves.
    expect(rec.under(dir('waiting'))).toBe(2 * 5);
  });

  it('give what a whole listing sliced as Redis slices it gives, for every set kind', async () => {
    const { q } = open();
    await addSpread(q, 30, (i) => (i % 3 === 0 ? { lifo: true } : i % 3 === 1 ? { priority: 1 + (i % 4) } : { delay: (i % 5) * TOP_MS }));
    const ranges: [number, number][] = [
      [-1, -1],
      [-3, -1],
      [-5, -2],
      [-100, -1],
      [-2, -5],
      [-100, -90],
    ];
    for (const type of ['waiting', 'prioritized', 'delayed'] as JobType[]) {
      for (const asc of [true, false]) {
        const all = (await q.getJobs([type], 0, -1, asc)).map((j) => j.id);
        expect(all.length).toBeGreaterThan(3);
        for (const [s, e] of ranges) {
          expect((await q.getJobs([type], s, e, asc)).map((j) => j.id), `${type} ${s}..${e} asc=${asc}`).toEqual(sliceRange(all, s, e));
        }
      }
    }
  });
});

describe('clean with a limit', () => {
  it('reads about that many entries and prunes only the buckets it emptied', async () => {
    const { q, dir } = open();
    const ids = await addSpread(q, 40);
    const first = fs.readdirSync(dir('waiting')).sort()[0]!;
    const rec = recordListings();
    expect(await q.clean(0, 2, 'wait')).toEqual(ids.slice(0, 2).reverse());
    rec.stop();
    // The root, the two first tops and their leaves; not the 40 tops.
    expect(rec.under(dir('waiting'))).toBe(5);
    // The emptied buckets are old: gone; the others stay.
    expect(fs.existsSync(path.join(dir('waiting'), first))).toBe(false);
    expect(fs.readdirSync(dir('waiting'))).toHaveLength(38);
    expect(await q.getWaitingCount()).toBe(38);
  });
});

describe('counts', () => {
  it('a count of some states reads nothing of the others', async () => {
    const { q, dir } = open();
    await addSpread(q, 12, (i) => (i % 3 === 0 ? {} : i % 3 === 1 ? { priority: 2 } : { delay: DAY_MS }));
    const rec = recordListings();
    expect(await q.getWaitingCount()).toBe(4);
    expect(await q.getJobCounts('delayed', 'wait')).toEqual({ delayed: 4, wait: 4 });
    rec.stop();
    expect(rec.under(dir('prioritized'))).toBe(0);
    expect(rec.under(dir('completed'))).toBe(0);
    expect(rec.under(dir('failed'))).toBe(0);
    expect(rec.under(dir('active'))).toBe(0);
    expect(await q.getJobCounts()).toMatchObject({ waiting: 4, prioritized: 4, delayed: 4 });
  });

  it("a process's first count starts from the persisted cache instead of listing every leaf", async () => {
    const { spool, q, dir } = open();
    await addSpread(q, 30, (i) => (i % 2 ? { delay: DAY_MS } : {}));
    ageBuckets(dir('waiting'));
    ageBuckets(dir('delayed'));
    // Another process (a health check) counted and left its cache.
    await readSpoolStatus(spool);
    const rec = recordListings();
    expect(await q.getJobCounts('waiting', 'delayed')).toEqual({ waiting: 15, delayed: 15 });
    rec.stop();
    // The sets' roots and their tops are listed; no leaf is.
    expect(rec.under(dir('waiting'))).toBe(1 + 15);
    expect(rec.under(dir('delayed'))).toBe(1 + 15);
  });

  it("a process's first count leaves its cache for the next process", async () => {
    const { q, dir } = open();
    await addSpread(q, 10);
    ageBuckets(dir('waiting'));
    expect(fs.existsSync(path.join(q.store.dir, 'counts-cache.json'))).toBe(false);
    expect(await q.getWaitingCount()).toBe(10);
    const saved = JSON.parse(fs.readFileSync(path.join(q.store.dir, 'counts-cache.json'), 'utf8')) as Record<string, [string, number]>;
    expect(Object.keys(saved).filter((k) => k.startsWith(`waiting${path.sep}`))).toHaveLength(10);
  });
});

describe('counting a set with many leaves', () => {
  it('names each leaf without a path computation per leaf or per cache entry', async () => {
    const { q } = open();
    await addSpread(q, 30, (i) => (i % 3 === 0 ? {} : i % 3 === 1 ? { priority: 1 + (i % 2) } : { delay: DAY_MS }));
    const relative = vi.spyOn(path, 'relative');
    expect(await q.getJobCounts()).toMatchObject({ waiting: 10, prioritized: 10, delayed: 10 });
    const calls = relative.mock.calls.length;
    relative.mockRestore();
    // At most one per set counted (waiting, lifo, delayed, two priorities), whatever the leaves.
    expect(calls).toBeLessThanOrEqual(5);
  });
});

describe('promoteJobs', () => {
  it('promotes every delayed job, count at a time, listing the next buckets only as it reaches them', async () => {
    const { q, dir } = open();
    const ids = await addSpread(q, 25, () => ({ delay: DAY_MS }));
    let turns = 0;
    const tick = (): void => {
      turns++;
      if (turns < 100) setImmediate(tick);
    };
    setImmediate(tick);
    const rec = recordListings();
    // The first batch runs before the call returns its promise: it has listed its own buckets only.
    const done = q.promoteJobs({ count: 10 });
    rec.stop();
    // The set's root, and the top and leaf of each of the 10 jobs of the batch (one job per top).
    expect(rec.under(dir('delayed'))).toBe(1 + 10 * 2);
    await done;
    // The event loop ran between the batches.
    expect(turns).toBeGreaterThanOrEqual(2);
    expect((await q.getWaiting()).map((j) => j.id).sort()).toEqual([...ids].sort());
    expect(await q.getDelayedCount()).toBe(0);
  });

  it('refuses a count that is not a positive integer, before promoting anything', async () => {
    const { q } = open();
    await addSpread(q, 2, () => ({ delay: DAY_MS }));
    for (const count of [0, -1, 1.5, Number.NaN]) {
      await expect(q.promoteJobs({ count })).rejects.toMatchObject({ code: 'ERR_USAGE', message: expect.stringMatching(/positive integer/) });
    }
    expect(await q.getDelayedCount()).toBe(2);
  });
});
