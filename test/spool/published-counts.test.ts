import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue, readSpoolStatus, Worker } from '../../src/index.js';
import { runHealth } from '../../src/health/index.js';
import { isDue, isUsable, publishIntervalMs, PUBLISH_MIN_LEAVES, readPublishedCounts, type PublishedCounts } from '../../src/spool/published-counts.js';
import { retentionThreadPasses } from '../../src/spool/retention-thread.js';
import { sleep, tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';
import { spreadQueue } from '../fixtures/core/spread-queue.js';

const ZERO = { waiting: 0, active: 0, delayed: 0, prioritized: 0, completed: 0, failed: 0, 'waiting-children': 0 };

function countsPath(spool: string, queue = 'big'): string {
  return path.join(spool, 'queues', queue, 'counts.json');
}

function writeCounts(spool: string, p: PublishedCounts, queue = 'big'): void {
  fs.writeFileSync(countsPath(spool, queue), JSON.stringify(p));
}

function readCountsFile(spool: string, queue = 'big'): PublishedCounts | undefined {
  try {
    return JSON.parse(fs.readFileSync(countsPath(spool, queue), 'utf8')) as PublishedCounts;
  } catch {
    return undefined;
  }
}

describe('published counts', () => {
  const BIG = PUBLISH_MIN_LEAVES + 4;

  it('a full count of a big queue is published, and a reader that allows it uses it while fresh', async () => {
    const spool = tmpSpool(true);
    const q = await spreadQueue(spool, BIG);
    const counted = await readSpoolStatus(spool);
    expect(counted.queues.big!.counts).toMatchObject({ delayed: BIG, waiting: 0 });
    expect(counted.queues.big!.countsAgeMs).toBe(0);
    const file = readCountsFile(spool);
    expect(file).toMatchObject({ counts: { ...ZERO, delayed: BIG }, leaves: BIG });
    expect(file!.countedAt).toBeLessThanOrEqual(Date.now());

    await q.add('now', {});
    // The health check's reading: the published counts, a job behind, and how old they are.
    const published = await readSpoolStatus(spool, { publishedCounts: true });
    expect(published.queues.big!.counts).toMatchObject({ delayed: BIG, waiting: 0 });
    expect(published.queues.big!.countsAgeMs).toBeGreaterThanOrEqual(0);
    // Every other reader counts.
    expect((await readSpoolStatus(spool)).queues.big!.counts).toMatchObject({ delayed: BIG, waiting: 1 });
    expect(readCountsFile(spool)!.counts.waiting).toBe(1);
  });

  it('health reports published counts with their age', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('big', { spool }));
    await q.add('x', {});
    writeCounts(spool, { countedAt: Date.now() - 3000, counts: { ...ZERO, waiting: 123_456 }, leaves: 50_000, tookMs: 200 });
    const run = await runHealth(['--spool', spool, '--role', 'web', '--max-waiting', '1000000']);
    expect(run.report!.totals.waiting).toBe(123_456);
    expect(run.report!.countsAgeMs).toBeGreaterThanOrEqual(3000);
    expect(run.report!.countsAgeMs).toBeLessThan(60_000);
  });

  it('a small queue is counted by every reader, and no counts are published for it', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('big', { spool }));
    await q.add('x', {});
    const s = await readSpoolStatus(spool, { publishedCounts: true });
    expect(s.queues.big!.counts.waiting).toBe(1);
    expect(fs.existsSync(countsPath(spool))).toBe(false);
    // A fresh file that says the queue is small is not worth reading: counted, and left as it is.
    const small = { countedAt: Date.now(), counts: { ...ZERO, waiting: 77 }, leaves: 12, tookMs: 1 };
    writeCounts(spool, small);
    expect((await readSpoolStatus(spool, { publishedCounts: true })).queues.big!.counts.waiting).toBe(1);
    expect(readCountsFile(spool)).toEqual(small);
  });

  it('stale or future counts are counted again, and a shrunk queue replaces a big count with a small one', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('big', { spool }));
    await q.add('x', {});
    for (const countedAt of [Date.now() - 60_000, Date.now() + 60_000]) {
      writeCounts(spool, { countedAt, counts: { ...ZERO, waiting: 77 }, leaves: 50_000, tookMs: 100 });
      const s = await readSpoolStatus(spool, { publishedCounts: true });
      expect(s.queues.big!.counts.waiting).toBe(1);
      expect(s.queues.big!.countsAgeMs).toBe(0);
      // Written over the big one, so Workers stop refreshing it.
      const file = readCountsFile(spool)!;
      expect(file.counts.waiting).toBe(1);
      expect(file.leaves).toBeLessThan(PUBLISH_MIN_LEAVES);
      expect(isDue(file, Date.now())).toBe(false);
    }
  });

  it('reads only a well-formed file', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('big', { spool }));
    const good = { countedAt: 1, counts: { ...ZERO, waiting: 2 }, leaves: 3, tookMs: 4 };
    const bad: unknown[] = [
      '{"countedAt":1,',
      'null',
      [],
      { ...good, countedAt: -1 },
      { ...good, leaves: 1.5 },
      { ...good, tookMs: '4' },
      { ...good, counts: { ...ZERO, failed: -2 } },
      { ...good, counts: null },
      { counts: good.counts, leaves: 3, tookMs: 4 },
    ];
    for (const b of bad) {
      fs.writeFileSync(countsPath(spool), typeof b === 'string' ? b : JSON.stringify(b));
      expect(readPublishedCounts(q.store), JSON.stringify(b)).toBeUndefined();
    }
    const { 'waiting-children': _, ...older } = good.counts;
    fs.writeFileSync(countsPath(spool), JSON.stringify({ ...good, counts: older, extra: true }));
    expect(readPublishedCounts(q.store)).toEqual(good);
  });

  it('says when counts are usable and when they are due, by the time the count took', () => {
    const now = 1_000_000_000;
    const at = (ageMs: number, over: Partial<PublishedCounts> = {}): PublishedCounts => ({ countedAt: now - ageMs, counts: { ...ZERO }, leaves: 10_000, tookMs: 100, ...over });
    expect(publishIntervalMs({ tookMs: 10 })).toBe(5000);
    expect(publishIntervalMs({ tookMs: 1000 })).toBe(20_000);
    expect(isDue(at(4999), now)).toBe(false);
    expect(isDue(at(5000), now)).toBe(true);
    expect(isDue(at(19_999, { tookMs: 1000 }), now)).toBe(false);
    expect(isDue(at(-2000), now)).toBe(true);
    expect(isUsable(at(15_000), now)).toBe(true);
    expect(isUsable(at(15_001), now)).toBe(false);
    expect(isUsable(at(30_000, { tookMs: 1000 }), now)).toBe(true);
    expect(isUsable(at(-500), now)).toBe(true);
    expect(isUsable(at(-2000), now)).toBe(false);
    // A small queue's counts are never used, nor refreshed by Workers.
    expect(isUsable(at(0, { leaves: PUBLISH_MIN_LEAVES - 1 }), now)).toBe(false);
    expect(isDue(at(60_000, { leaves: PUBLISH_MIN_LEAVES - 1 }), now)).toBe(false);
  });

  it('a live Worker refreshes due counts of a big queue on its helper thread', async () => {
    const spool = tmpSpool(true);
    await spreadQueue(spool, BIG);
    writeCounts(spool, { countedAt: Date.now() - 60_000, counts: { ...ZERO, waiting: 999 }, leaves: BIG, tookMs: 50 });
    const passes = retentionThreadPasses();
    const started = Date.now();
    track(new Worker('big', async () => undefined, { spool }));
    // The thread writes the file before its answer reaches this thread (which counts the pass):
    // both are awaited. A count made on this thread instead never counts a pass, and times out.
    const file = await waitFor(() => {
      const f = readCountsFile(spool);
      return f && f.countedAt >= started && retentionThreadPasses() > passes ? f : undefined;
    }, 10_000, 'a refreshed counts.json, counted on the helper thread');
    expect(file).toMatchObject({ counts: { ...ZERO, delayed: BIG }, leaves: BIG });
  });

  it('a Worker publishes nothing for a queue no reader found big', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('small', { spool }));
    await q.add('x', {}, { delay: 60_000 });
    const w = track(new Worker('small', async () => undefined, { spool }));
    await new Promise((resolve) => w.once('ready', resolve));
    await sleep(1500);
    expect(fs.existsSync(countsPath(spool, 'small'))).toBe(false);
  });
});
