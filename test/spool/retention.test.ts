import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { Queue, Worker } from '../../src/index.js';
import { RETENTION_STATE_FILES, runRetention } from '../../src/spool/retention.js';
import { EventTail } from '../../src/spool/events.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';
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

/** Runs the queue's waiting jobs to completion with a Worker of these options, then closes it. */
async function runAll(q: Queue, spool: string, opts: Record<string, unknown> = {}): Promise<void> {
  const w = new Worker('q', async () => 'ok', { spool, ...opts });
  await waitFor(async () => {
    const c = await q.getJobCounts('waiting', 'active');
    return (c.waiting ?? 0) + (c.active ?? 0) === 0;
  }, 10_000, 'the jobs to finish');
  await w.close();
}

function completedEventsFor(q: Queue, id: string): number {
  q.store.events.flush();
  const dir = path.join(q.store.dir, 'events');
  return fs
    .readdirSync(dir)
    .flatMap((f) => fs.readFileSync(path.join(dir, f), 'utf8').split('\n'))
    .filter((l) => l.startsWith('{"e":"completed"') && (JSON.parse(l) as { a: { jobId: string } }).a.jobId === id).length;
}

const SIX_MINUTES_MS = 6 * 60_000;

describe('retention: jobs kept forever, and ids used again', () => {
  it("a job kept forever by its Worker's setting gets no second event from a sweep, and a later job's count does not remove it", async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const kept = await q.add('j', { n: 1 });
    await runAll(q, spool, { removeOnComplete: false });
    expect(completedEventsFor(q, kept.id!)).toBe(1);
    // Minutes later a pass sweeps completed/ for jobs whose event was lost: this one's was not.
    runRetention(q.store, Date.now() + SIX_MINUTES_MS);
    expect(completedEventsFor(q, kept.id!)).toBe(1);
    const later = await q.add('j', { n: 2 }, { removeOnComplete: 1 });
    await runAll(q, spool);
    runRetention(q.store, Date.now() + SIX_MINUTES_MS + 1000);
    expect((await q.getJobs(['completed'])).map((j) => j.id).sort()).toEqual([kept.id, later.id].sort());
  });

  it('the entry of an earlier job of a reused id does not remove the later job, kept forever', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    await q.add('j', { n: 1 }, { jobId: 'A', removeOnComplete: 10 });
    await runAll(q, spool);
    runRetention(q.store, Date.now());
    await q.remove('A');
    await q.add('j', { n: 2 }, { jobId: 'A', removeOnComplete: false });
    await runAll(q, spool);
    await q.add('j', { n: 3 }, { jobId: 'B', removeOnComplete: 1 });
    await runAll(q, spool);
    runRetention(q.store, Date.now());
    expect(await q.getJobState('A')).toBe('completed');
    expect((await q.getJob('A'))?.data).toEqual({ n: 2 });
    // Nor by a later pass.
    runRetention(q.store, Date.now());
    expect(await q.getJobState('A')).toBe('completed');
    expect(await q.getJobState('B')).toBe('completed');
  });

  it('an entry older than the finish of the job now under its id leaves that job, known by its own finish', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    await q.add('j', { n: 1 }, { jobId: 'A', removeOnComplete: 10 });
    await runAll(q, spool);
    expect(runRetention(q.store, Date.now()).removed).toBe(0);
    // Saves a state as another process's pass would, after it read every event: it keeps no
    // completed job, and lists A as finished at `at`.
    const saveOther = (at: number): void => {
      const read = (f: string): { pos: string; seq: number } | undefined => (fs.existsSync(path.join(q.store.dir, f)) ? (JSON.parse(fs.readFileSync(path.join(q.store.dir, f), 'utf8')) as { pos: string; seq: number }) : undefined);
      const [a, b] = RETENTION_STATE_FILES.map((f) => ({ f, s: read(f) }));
      const [older, newer] = (a!.s?.seq ?? -1) < (b!.s?.seq ?? -1) ? [a!, b!] : [b!, a!];
      // Its read position: the end of the event log.
      q.store.events.flush();
      const tail = new EventTail(path.join(q.store.dir, 'events'), newer.s!.pos);
      while (tail.read(1 << 20, () => true).length > 0 || tail.truncated);
      const pos = tail.position();
      tail.close();
      fs.writeFileSync(path.join(q.store.dir, older.f), JSON.stringify({ seq: newer.s!.seq + 1, pos, savedAt: Date.now(), completed: [['A', at]], failed: [], keepCompleted: { count: 0 } }));
    };
    // An hour ago: an earlier job of the id.
    saveOther(Date.now() - 3_600_000);
    runRetention(q.store, Date.now());
    expect(await q.getJobState('A')).toBe('completed');
    // Its own finish takes the entry's place (its event may have been lost: a retried job
    // finished again by a worker killed before writing it): the next pass applies the setting.
    runRetention(q.store, Date.now());
    expect(await q.getJobState('A')).toBe('unknown');
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
