import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { Queue } from '../../src/index.js';
import { runRetention } from '../../src/spool/retention.js';
import { tmpSpool, track } from '../fixtures/core/helpers.js';
import { completedQueue, keepNewest } from '../fixtures/core/retention.js';

function finish(q: Queue, ids: string[], keep: unknown): void {
  for (const id of ids) q.store.events.append('completed', { jobId: id }, { k: keep });
  q.store.events.flush();
}

describe('retention passes', () => {
  it('a negative count keeps every job, as a job setting and as the default (BullMQ: -1 keeps all)', async () => {
    const q = await completedQueue(5);
    for (const keep of [{ count: -1 }, -1]) {
      finish(q, ['not-a-job'], keep);
      expect(runRetention(q.store, Date.now())).toEqual({ removed: 0, more: false });
    }
    // A job without its own setting (its event carries none) falls back to the Worker's.
    q.store.events.append('completed', { jobId: 'other' });
    q.store.events.flush();
    expect(runRetention(q.store, Date.now(), { removeOnComplete: { count: -1 } })).toEqual({ removed: 0, more: false });
    expect((await q.getJobCounts('completed')).completed).toBe(5);
  });

  it('reads the state another process saved instead of its own copy of an older state', () => {
    const q = track(new Queue('q', { spool: tmpSpool() }));
    finish(q, ['a1', 'a2', 'a3', 'a4', 'a5'], { count: 10 });
    expect(runRetention(q.store, Date.now()).removed).toBe(0);
    // Another process's pass: it saw the same events, then a job finished there with { count: 1 }.
    const saved = JSON.parse(fs.readFileSync(path.join(q.store.dir, 'retention.json'), 'utf8')) as { pos: string; seq: number };
    expect(saved.seq).toBe(1);
    const now = Date.now();
    // It saves into the other state file, one write later.
    const other = path.join(q.store.dir, 'retention.b.json');
    fs.writeFileSync(other, JSON.stringify({ seq: 2, pos: saved.pos, savedAt: now, completed: [['b1', now], ['b2', now], ['b3', now]], failed: [], keepCompleted: { count: 1 } }));
    expect(runRetention(q.store, Date.now()).removed).toBe(2);
  });

  it('passes over a state file torn by a crash mid-write for the other one, which still knows the kept jobs', async () => {
    const q = await completedQueue(6);
    const dir = q.store.dir;
    const stateOf = (name: string): { seq?: number } | undefined => {
      try {
        return JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as { seq?: number };
      } catch {
        return undefined;
      }
    };
    const t0 = Date.now();
    expect(runRetention(q.store, t0).removed).toBe(0);
    finish(q, ['gone-1'], { count: 100 });
    expect(runRetention(q.store, t0 + 11_000).removed).toBe(0);
    finish(q, ['gone-2'], { count: 100 });
    expect(runRetention(q.store, t0 + 22_000).removed).toBe(0);
    // The saves went to the two files by turns: the newer one is one write ahead.
    const seqs = [stateOf('retention.json')!.seq!, stateOf('retention.b.json')!.seq!];
    expect(Math.abs(seqs[0]! - seqs[1]!)).toBe(1);
    const newest = seqs[0]! > seqs[1]! ? 'retention.json' : 'retention.b.json';
    // The newest is torn: a shorter text written over a longer one, killed before the truncate.
    fs.appendFileSync(path.join(dir, newest), '],"keepFailed":5}');
    expect(stateOf(newest)).toBeUndefined();
    // And the events of the six jobs have rotated out of the log since: only the state knows them.
    const events = path.join(dir, 'events');
    const segments = fs.readdirSync(events).sort();
    for (const s of segments) fs.unlinkSync(path.join(events, s));
    const next = String(Number(segments.at(-1)!.slice(0, 10)) + 1).padStart(10, '0');
    fs.writeFileSync(path.join(events, `${next}.jsonl`), `${JSON.stringify({ e: 'completed', t: Date.now(), a: { jobId: 'not-a-job' }, k: { count: 0 } })}\n`);
    // The six jobs and the id without a file that the older state knows, and the placeholder, all fall out.
    expect(runRetention(q.store, t0 + 33_000).removed).toBe(8);
    expect((await q.getJobCounts('completed')).completed).toBe(0);
    // The torn file was the one written next, whole again.
    expect(stateOf(newest)?.seq).toBe(Math.max(...seqs));
  });

  it('a sweep removes deduplication keys that hold nothing any more, and keeps the others', async () => {
    const q = track(new Queue('q', { spool: tmpSpool() }));
    const now = Date.now();
    await q.add('a', {}, { deduplication: { id: 'expired', ttl: 1 } });
    await q.add('b', {}, { deduplication: { id: 'running', ttl: 3_600_000 } });
    const live = await q.add('c', {}, { deduplication: { id: 'live' } });
    const gone = await q.add('d', {}, { deduplication: { id: 'gone' } });
    // The job of 'gone' vanished without giving its key back (removed by hand).
    fs.unlinkSync(q.store.idPath(gone.id!));
    const dedupDir = path.join(q.store.dir, 'dedup');
    expect(fs.readdirSync(dedupDir)).toHaveLength(4);
    runRetention(q.store, now + 6 * 60_000);
    expect(fs.readdirSync(dedupDir)).toHaveLength(2);
    expect(await q.getDeduplicationJobId('live')).toBe(live.id);
    expect(await q.getDeduplicationJobId('running')).not.toBeNull();
  });

  it('a budgeted pass removes at most its share and says more is left; the next passes go on', async () => {
    const q = await completedQueue(25);
    keepNewest(q, 0);
    const budget = { maxRemovals: 10, maxEventReads: 1, maxEventBytes: 1024 * 1024, maxStateBytes: Infinity };
    // 26 ids fall out (25 jobs and the placeholder): 10, 10, then 6 and nothing left.
    expect(runRetention(q.store, Date.now(), {}, budget)).toEqual({ removed: 10, more: true });
    expect((await q.getJobCounts('completed')).completed).toBe(15);
    expect(runRetention(q.store, Date.now(), {}, budget)).toEqual({ removed: 10, more: true });
    expect(runRetention(q.store, Date.now(), {}, budget)).toEqual({ removed: 6, more: false });
    expect((await q.getJobCounts('completed')).completed).toBe(0);
  });

  it('a pass whose event read stops at its byte budget says more is left, and later passes read on from there', async () => {
    const q = await completedQueue(20);
    keepNewest(q, 0);
    // A few hundred bytes: a handful of event lines per pass.
    const budget = { maxRemovals: 1000, maxEventReads: 1, maxEventBytes: 400, maxStateBytes: Infinity };
    const first = runRetention(q.store, Date.now(), {}, budget);
    expect(first.more).toBe(true);
    let passes = 1;
    for (let last = first; last.more && passes < 500; passes++) last = runRetention(q.store, Date.now(), {}, budget);
    expect(passes).toBeGreaterThan(2);
    expect(passes).toBeLessThan(500);
    expect((await q.getJobCounts('completed')).completed).toBe(0);
  });

  it('a budgeted pass leaves a state file bigger than its budget whole, for an unbounded pass', async () => {
    const q = await completedQueue(40);
    // An unbounded pass records the 40 kept ids in the state file.
    expect(runRetention(q.store, Date.now()).removed).toBe(0);
    const file = path.join(q.store.dir, 'retention.json');
    const bytes = fs.statSync(file).size;
    keepNewest(q, 0);
    const budget = { maxRemovals: 1000, maxEventReads: 1, maxEventBytes: 1024 * 1024, maxStateBytes: bytes - 1 };
    expect(runRetention(q.store, Date.now(), {}, budget)).toEqual({ removed: 0, more: true });
    expect((await q.getJobCounts('completed')).completed).toBe(40);
    expect(runRetention(q.store, Date.now()).removed).toBe(41);
    expect((await q.getJobCounts('completed')).completed).toBe(0);
  });

  it('a pass told to stop puts the entries it did not reach back in order, and the next pass removes exactly those', async () => {
    const q = await completedQueue(30);
    keepNewest(q, 5);
    // The newest 5 are jobs 27-30 and the placeholder: jobs 1-26 fall out.
    let asked = 0;
    expect(runRetention(q.store, Date.now(), {}, undefined, () => ++asked > 10)).toEqual({ removed: 10, more: true });
    expect((await q.getJobCounts('completed')).completed).toBe(20);
    expect(runRetention(q.store, Date.now()).removed).toBe(16);
    const left = (await q.getJobs(['completed'])).map((j) => Number(j.id)).sort((a, b) => a - b);
    expect(left).toEqual([27, 28, 29, 30]);
  });
});

describe('retention lock', () => {
  it('is renewed while a long pass removes jobs, so no other process takes it for abandoned', async () => {
    const q = await completedQueue(12);
    keepNewest(q, 0);
    const lock = path.join(q.store.dir, 'retention.lock');
    const start = Date.now();
    // Each removal takes 3 s of this clock: the pass runs for about 36 s, past the 30 s after
    // which another process may break the lock.
    let clock = start;
    const spy = vi.spyOn(Date, 'now').mockImplementation(() => clock);
    const lockAges: number[] = [];
    try {
      const res = runRetention(q.store, start, {}, undefined, () => {
        lockAges.push(clock - fs.statSync(lock).mtimeMs);
        clock += 3000;
        return false;
      });
      expect(res.removed).toBeGreaterThanOrEqual(12);
    } finally {
      spy.mockRestore();
    }
    expect(lockAges.length).toBeGreaterThanOrEqual(12);
    expect(Math.max(...lockAges)).toBeLessThan(10_000);
  });
});
