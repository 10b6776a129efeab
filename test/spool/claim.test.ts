import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { Queue } from '../../src/index.js';
import { Claimer, closeClaim, readActive, type Claim } from '../../src/spool/claim.js';
import { finishToFile, unclaim } from '../../src/spool/finish.js';
import { reclaimStalled } from '../../src/spool/reclaim.js';
import { appendPatch, serializeRecord, RECORD_VERSION, type JobRecord } from '../../src/spool/record.js';
import { filesUnder, tmpSpool, track } from '../fixtures/core/helpers.js';

function record(id: string, data: unknown, patches: string[] = []): string {
  const rec: JobRecord = {
    v: RECORD_VERSION, id, name: 'n', data, opts: {}, timestamp: 1, delay: 0, priority: 0, attemptsMade: 0,
    attemptsStarted: 0, stalledCounter: 0, progress: 0, returnvalue: null, stacktrace: [], gen: 0,
  };
  return serializeRecord(rec) + patches.map((p) => `${p}\n`).join('');
}

describe('readActive', () => {
  it('reads a small record with its patches', () => {
    const file = `${tmpSpool()}/a.json`;
    fs.writeFileSync(file, record('7', { x: 1 }, ['{"progress":40}']));
    const { rec } = readActive(file);
    expect(rec.id).toBe('7');
    expect(rec.progress).toBe(40);
  });

  it('reads records larger than its 64 KiB buffer whole', () => {
    const file = `${tmpSpool()}/b.json`;
    const big = 'y'.repeat(300 * 1024);
    fs.writeFileSync(file, record('8', { big }, ['{"progress":99}']));
    const { rec } = readActive(file);
    expect((rec.data as { big: string }).big).toHaveLength(big.length);
    expect(rec.progress).toBe(99);
  });

  it('reads a record of exactly the buffer size', () => {
    const file = `${tmpSpool()}/c.json`;
    const base = record('9', { s: '' });
    const text = record('9', { s: 'z'.repeat(64 * 1024 - base.length) });
    expect(Buffer.byteLength(text)).toBe(64 * 1024);
    fs.writeFileSync(file, text);
    expect((readActive(file).rec.data as { s: string }).s).toHaveLength(64 * 1024 - base.length);
  });

  it('still calls an unparseable file corrupt after the careful re-read', () => {
    const file = `${tmpSpool()}/d.json`;
    fs.writeFileSync(file, '{"id": broken');
    expect(() => readActive(file)).toThrow(/corrupt/);
  });
});

describe('Claimer and the LIFO set', () => {
  /** A queue and a claimer whose first claim found the LIFO set empty. */
  function afterEmptyClaim(): { q: Queue; claimer: Claimer } {
    const q = track(new Queue('q', { spool: tmpSpool() }));
    const claimer = new Claimer(q.store, 't');
    expect(claimer.claim(1)).toEqual([]);
    return { q, claimer };
  }

  it('sees a LIFO job added after a claim found the set empty, once woken', async () => {
    const { q, claimer } = afterEmptyClaim();
    await q.add('j', { n: 1 }, { lifo: true });
    claimer.markDirty();
    const got = claimer.claim(1);
    expect(got.map((c) => c.rec.data)).toEqual([{ n: 1 }]);
  });

  it('re-reads an empty LIFO set within 50 ms even without a wake-up', async () => {
    const { q, claimer } = afterEmptyClaim();
    await q.add('j', { n: 2 }, { lifo: true });
    await new Promise((r) => setTimeout(r, 60));
    expect(claimer.claim(1).map((c) => c.rec.data)).toEqual([{ n: 2 }]);
  });

  it('still takes LIFO jobs before waiting ones when both are there', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const claimer = new Claimer(q.store, 't');
    await q.add('j', 'w1');
    await q.add('j', 'l1', { lifo: true });
    await q.add('j', 'l2', { lifo: true });
    expect(claimer.claim(3).map((c) => c.rec.data)).toEqual(['l2', 'l1', 'w1']);
  });
});

describe('Claimers racing over one listing', () => {
  it('spread apart after lost claims instead of colliding on nearly every entry', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const n = 2000;
    await q.addBulk(Array.from({ length: n }, (_, i) => ({ name: 'j', data: i })));
    const a = new Claimer(q.store, 'a');
    const b = new Claimer(q.store, 'b');
    const renames = vi.spyOn(fs, 'renameSync');
    const seen = new Set<number>();
    // Each round, both take a few jobs from the same cached listing, as two processes would.
    for (let round = 0; round < n; round++) {
      const got = [...a.claim(4), ...b.claim(4)];
      if (got.length === 0) break;
      for (const c of got) seen.add(c.rec.data as number);
    }
    const lost = renames.mock.results.filter((r) => r.type === 'throw').length;
    vi.restoreAllMocks();
    expect(seen.size).toBe(n);
    expect(lost).toBeLessThan(n / 10);
  });

  it('a single lost entry (a job removed meanwhile) does not change the order of the rest', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const jobs = await q.addBulk(Array.from({ length: 20 }, (_, i) => ({ name: 'j', data: i })));
    const claimer = new Claimer(q.store, 'a');
    expect(claimer.claim(1).map((c) => c.rec.data)).toEqual([0]); // the listing is now cached
    await q.remove(jobs[1]!.id!);
    expect(claimer.claim(18).map((c) => c.rec.data)).toEqual(Array.from({ length: 18 }, (_, i) => i + 2));
  });
});

describe('a claim keeps its file open for the outcome', () => {
  async function claimOne(lockDurationMs = 30_000): Promise<{ q: Queue; claim: Claim; id: string }> {
    const q = track(new Queue('q', { spool: tmpSpool() }));
    const job = await q.add('j', { n: 1 });
    const [claim] = new Claimer(q.store, 't', lockDurationMs).claim(1);
    expect(claim).toBeDefined();
    return { q, claim: claim!, id: job.id! };
  }

  it('writes the outcome through the kept descriptor, without opening the file again', async () => {
    const { q, claim, id } = await claimOne();
    expect(claim.fd).toBeTypeOf('number');
    const opens = vi.spyOn(fs, 'openSync');
    try {
      expect(finishToFile(q.store, claim, { returnvalue: 'r', attemptsMade: 1, finishedOn: Date.now() }, 'completed')).toBe(true);
      expect(opens.mock.calls.filter(([f]) => String(f).includes(claim.tag))).toEqual([]);
    } finally {
      opens.mockRestore();
      closeClaim(claim);
    }
    expect(claim.fd).toBeUndefined();
    expect(await q.getJobState(id)).toBe('completed');
    expect((await q.getJob(id))!.returnvalue).toBe('r');
  });

  it('writes the outcome as one line: the patch, then st and g, then i and ts through the descriptor (or without them by path)', async () => {
    for (const byPath of [false, true]) {
      const { q, claim, id } = await claimOne();
      if (byPath) claim.appendUntilMs = Date.now() - 1;
      const finishedOn = Date.now();
      expect(finishToFile(q.store, claim, { returnvalue: { ok: 1 }, attemptsMade: 1, finishedOn }, 'completed')).toBe(true);
      closeClaim(claim);
      const last = fs.readFileSync(q.store.filePath('completed', id), 'utf8').trimEnd().split('\n').at(-1);
      const guard = byPath ? {} : { i: id, ts: claim.rec.timestamp };
      expect(last).toBe(JSON.stringify({ returnvalue: { ok: 1 }, attemptsMade: 1, finishedOn, st: 'completed', g: claim.gen, ...guard }));
    }
  });

  it('appends by path once half the lock duration has passed, and finds a file taken meanwhile lost', async () => {
    const { q, claim, id } = await claimOne(1000);
    expect(claim.appendUntilMs).toBeLessThanOrEqual(Date.now() + 500);
    claim.appendUntilMs = Date.now() - 1; // as if the run had lasted past half the lease
    // Someone took the file (as a reclaimer would, by rename): the path no longer names it.
    const taken = q.store.claimPath('reclaiming', id, 'other');
    fs.renameSync(claim.path, taken);
    try {
      expect(finishToFile(q.store, claim, { returnvalue: 'late', attemptsMade: 1 }, 'completed')).toBe(false);
    } finally {
      closeClaim(claim);
    }
    expect(fs.readFileSync(taken, 'utf8')).not.toContain('late');
  });

  it('a finished job is filed with its finishedOn as its time, by its worker and by the stalled check of a worker that died before the move', async () => {
    const finishedOn = Date.now() - 60_000;
    const mtime = (f: string): number => Math.round(fs.statSync(f).mtimeMs);
    const one = await claimOne();
    expect(finishToFile(one.q.store, one.claim, { returnvalue: 'r', attemptsMade: 1, finishedOn }, 'completed')).toBe(true);
    closeClaim(one.claim);
    expect(mtime(one.q.store.filePath('completed', one.id))).toBe(finishedOn);
    // The outcome written, the worker gone before the move: the stalled check files the job.
    const two = await claimOne();
    appendPatch(two.claim.path, { returnvalue: 'r', attemptsMade: 1, finishedOn, st: 'completed', g: two.claim.gen });
    closeClaim(two.claim);
    reclaimStalled(two.q.store, { nowMs: Date.now() + 31_000, lockDurationMs: 30_000, maxStalledCount: 1 });
    expect(await two.q.getJobState(two.id)).toBe('completed');
    expect(mtime(two.q.store.filePath('completed', two.id))).toBe(finishedOn);
  });

  it('a late outcome written into a file the stalled checker put back is ignored: the job runs again', async () => {
    const { q, claim, id } = await claimOne();
    const res = reclaimStalled(q.store, { nowMs: Date.now() + 31_000, lockDurationMs: 30_000, maxStalledCount: 1 });
    expect(res.stalled).toEqual([id]);
    try {
      // Inside the descriptor's window the write lands in the put-back file, but the rename fails.
      expect(finishToFile(q.store, claim, { returnvalue: 'stale', attemptsMade: 1 }, 'completed')).toBe(false);
    } finally {
      closeClaim(claim);
    }
    expect(await q.getJobState(id)).toBe('waiting');
    // The write did land in the put-back file: only the generation guard keeps it out.
    const withStale = filesUnder(q.store.dir).filter((f) => f.endsWith('.json') && fs.readFileSync(f, 'utf8').includes('"stale"'));
    expect(withStale.map((f) => path.relative(q.store.dir, f).split(path.sep)[0])).toEqual(['lifo']);
    const again = new Claimer(q.store, 'u').claim(1);
    expect(again.map((c) => [c.id, c.rec.returnvalue, c.rec.st, c.rec.gen])).toEqual([[id, null, undefined, 1]]);
  });

  it('a late outcome written into a file reused for another job meanwhile is ignored by that job', async () => {
    const { q, claim, id } = await claimOne();
    // Another Job object moves the active job away (the run is not told), and the file is then
    // reused for a new job, as the spare-file pool does: overwritten in place from its start.
    await (await q.getJob(id))!.moveToDelayed(Date.now() + 60_000);
    const [moved] = filesUnder(path.join(q.store.dir, 'delayed'));
    const other = record('other-job', { fresh: true });
    const fd = fs.openSync(moved!, 'r+');
    fs.writeSync(fd, other, 0);
    fs.ftruncateSync(fd, Buffer.byteLength(other));
    fs.closeSync(fd);
    try {
      expect(finishToFile(q.store, claim, { returnvalue: 'stale', attemptsMade: 1, finishedOn: Date.now() }, 'completed')).toBe(false);
    } finally {
      closeClaim(claim);
    }
    const text = fs.readFileSync(moved!, 'utf8');
    expect(text).toContain('"stale"'); // the write did land in the reused file
    const { rec } = readActive(moved!);
    expect([rec.id, rec.returnvalue, rec.st, rec.attemptsMade, rec.finishedOn]).toEqual(['other-job', null, undefined, 0, undefined]);
  });

  it('reads a file it may not write without keeping it open, and appends the outcome by path', async () => {
    const q = track(new Queue('q', { spool: tmpSpool() }));
    const job = await q.add('j', { n: 1 });
    const real = fs.openSync;
    const opens = vi.spyOn(fs, 'openSync').mockImplementation(((file: fs.PathLike, flags?: fs.OpenMode, mode?: fs.Mode) => {
      if (typeof flags === 'number' && (flags & fs.constants.O_RDWR) !== 0) throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
      return real(file, flags ?? 'r', mode);
    }) as typeof fs.openSync);
    try {
      const [claim] = new Claimer(q.store, 't', 30_000).claim(1);
      expect(claim!.fd).toBeUndefined();
      expect(finishToFile(q.store, claim!, { returnvalue: 'ok', attemptsMade: 1 }, 'completed')).toBe(true);
    } finally {
      opens.mockRestore();
    }
    expect((await q.getJob(job.id!))!.returnvalue).toBe('ok');
  });
});

describe('Claimer on a failing system call', () => {
  it('puts a job back when reading it fails for want of descriptors, and hands over the claims made before', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await q.add('x', i)).id!);
    const c = new Claimer(q.store, 'w', 30_000);
    // The second open of a claimed file fails as it would with every descriptor in use.
    let activeOpens = 0;
    const real = fs.openSync;
    const spy = vi.spyOn(fs, 'openSync').mockImplementation(((file: fs.PathLike, ...rest: unknown[]) => {
      if (String(file).includes(`${path.sep}active${path.sep}`) && ++activeOpens === 2) {
        throw Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE', errno: -24, syscall: 'open' });
      }
      return (real as (...a: unknown[]) => number)(file, ...rest);
    }) as typeof fs.openSync);
    const claims: Claim[] = [];
    try {
      const first = c.claim(3);
      expect(first.map((x) => x.id)).toEqual([ids[0]]);
      claims.push(...first);
      expect(await q.getJobState(ids[1]!)).toBe('waiting');
      expect(() => c.claim(3)).toThrow(/EMFILE/);
      const rest = c.claim(3);
      claims.push(...rest);
      expect(rest.map((x) => x.id)).toEqual([ids[1], ids[2]]);
    } finally {
      spy.mockRestore();
      for (const claim of claims) closeClaim(claim);
    }
    expect(filesUnder(path.join(spool, 'queues', 'q', 'corrupt'))).toEqual([]);
  });
});

describe('unclaim', () => {
  it('puts a claimed job back under the name it was claimed from, so it is claimed first again', async () => {
    const q = track(new Queue('q', { spool: tmpSpool() }));
    const [a, b, c] = await q.addBulk(['a', 'b', 'c'].map((name) => ({ name, data: {} })));
    const claimer = new Claimer(q.store, 'w', 30_000);
    const claims = claimer.claim(2);
    expect(claims.map((x) => x.id)).toEqual([a!.id, b!.id]);
    const from = claims[1]!.from;
    for (const x of [...claims].reverse()) expect(unclaim(q.store, x)).toBe(true);
    expect(fs.existsSync(from)).toBe(true);
    expect(await q.getJobState(b!.id!)).toBe('waiting');
    claimer.reset();
    expect(claimer.claim(3).map((x) => x.id)).toEqual([a!.id, b!.id, c!.id]);
  });

  it('puts it at the front when its bucket went meanwhile', async () => {
    const q = track(new Queue('q', { spool: tmpSpool() }));
    const [a, b] = await q.addBulk(['a', 'b'].map((name) => ({ name, data: {} })));
    const claimer = new Claimer(q.store, 'w', 30_000);
    const [first] = claimer.claim(1);
    // Another claimer takes b and prunes the emptied bucket.
    const other = new Claimer(q.store, 'v', 30_000);
    const [second] = other.claim(1);
    expect(second!.id).toBe(b!.id);
    // A job added meanwhile, in a later bucket: the put-back job still comes before it.
    await new Promise((r) => setTimeout(r, 1100));
    const c = await q.add('c', {});
    fs.rmdirSync(path.dirname(first!.from));
    expect(unclaim(q.store, first!)).toBe(true);
    expect(await q.getJobState(a!.id!)).toBe('waiting');
    claimer.reset();
    expect(claimer.claim(2).map((x) => x.id)).toEqual([a!.id, c.id]);
  });
});
