import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { execFileSync } from 'node:child_process';
import { Queue, QueueEvents, Worker, type JobsOptions } from '../../src/index.js';
import { extendKey, REPLACE_WAIT_MS } from '../../src/spool/dedup-replace.js';
import { dedupFile } from '../../src/spool/store.js';
import { sleep, tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

function queue(): Queue {
  return track(new Queue('q', { spool: tmpSpool() }));
}

/** The event log of a queue as `[event, args]`, in order. */
function events(q: Queue): [string, Record<string, unknown>][] {
  q.store.events.flush();
  const dir = path.join(q.store.dir, 'events');
  const out: [string, Record<string, unknown>][] = [];
  for (const f of fs.readdirSync(dir).sort()) {
    for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      if (line) {
        const e = JSON.parse(line) as { e: string; a: Record<string, unknown> };
        out.push([e.e, e.a]);
      }
    }
  }
  return out;
}

function key(q: Queue, id: string): { jobId: string; expiresAt: number | null } {
  return JSON.parse(fs.readFileSync(dedupFile(q.store, id), 'utf8')) as { jobId: string; expiresAt: number | null };
}

const debounce = (extra: Record<string, unknown> = {}): JobsOptions => ({ delay: 60_000, deduplication: { id: 'd', ttl: 60_000, replace: true, ...extra } });

afterEach(() => {
  vi.restoreAllMocks();
});

describe('deduplication replace (debounce)', () => {
  it('removes the delayed holder and adds the new job in its place, with its events', async () => {
    const q = queue();
    const a = await q.add('a', { v: 1 }, debounce());
    await q.addJobLog(a.id!, 'row');
    const before = events(q).length;
    const b = await q.add('b', { v: 2 }, debounce());
    expect(b.id).not.toBe(a.id);
    expect(await q.getJob(a.id!)).toBeUndefined();
    expect((await q.getJobLogs(a.id!)).count).toBe(0);
    const stored = (await q.getJob(b.id!))!;
    expect([stored.name, stored.data, await stored.getState()]).toEqual(['b', { v: 2 }, 'delayed']);
    expect(key(q, 'd').jobId).toBe(b.id);
    expect(await q.getJobCounts('delayed')).toEqual({ delayed: 1 });
    expect(events(q).slice(before).map(([e, a]) => [e, a.jobId])).toEqual([
      ['removed', a.id],
      ['deduplicated', b.id],
      ['added', b.id],
      ['delayed', b.id],
    ]);
    expect(events(q).find(([e]) => e === 'deduplicated')![1]).toEqual({ jobId: b.id, deduplicationId: 'd', deduplicatedJobId: a.id });
    expect(fs.readdirSync(path.join(q.store.dir, 'reclaiming'))).toEqual([]);
  });

  it('replaces the same way in durable mode', async () => {
    const q = track(new Queue('q', { spool: tmpSpool(), durability: 'durable' }));
    const a = await q.add('a', { v: 1 }, debounce());
    const b = await q.add('b', { v: 2 }, debounce());
    expect(await q.getJob(a.id!)).toBeUndefined();
    expect((await q.getDelayed()).map((j) => j.id)).toEqual([b.id]);
    expect(key(q, 'd').jobId).toBe(b.id);
  });

  it("keeps the key's expiry, or with extend starts it again", async () => {
    const q = queue();
    await q.add('a', {}, debounce());
    const first = key(q, 'd').expiresAt!;
    await new Promise((r) => setTimeout(r, 20));
    await q.add('b', {}, debounce());
    expect(key(q, 'd').expiresAt).toBe(first);
    await q.add('c', {}, debounce({ extend: true }));
    expect(key(q, 'd').expiresAt).toBeGreaterThan(first);
  });

  it('leaves a holder that is not delayed, resolving to it without a deduplicated event', async () => {
    const q = queue();
    const a = await q.add('a', { v: 1 }, { deduplication: { id: 'd', ttl: 60_000 } });
    const before = events(q).length;
    const b = await q.add('b', { v: 2 }, debounce());
    expect(b.id).toBe(a.id);
    expect(events(q).slice(before)).toEqual([]);
    expect(await q.getJobCounts('waiting', 'delayed')).toEqual({ waiting: 1, delayed: 0 });
    // Claimed by a worker (its file in active/): it stays too.
    const c = await q.add('c', {}, { delay: 60_000, deduplication: { id: 'e', ttl: 60_000 } });
    const delayedDir = path.join(q.store.dir, 'delayed');
    const leafFile = findFile(delayedDir, `.${c.id}.json`);
    fs.renameSync(leafFile, path.join(q.store.dir, 'active', `${c.id}.t1~abc.json`));
    expect((await q.add('d', {}, { delay: 60_000, deduplication: { id: 'e', ttl: 60_000, replace: true } })).id).toBe(c.id);
  });

  it('waits for a holder held by another replacing add or still being added, and says so when it stays busy', async () => {
    const q = queue();
    const a = await q.add('a', {}, debounce());
    // Held by a move (a replacing add in another process): the add waits, then gives up whole.
    const held = path.join(q.store.dir, 'reclaiming', `${a.id}.mv-x.json`);
    fs.renameSync(findFile(path.join(q.store.dir, 'delayed'), `.${a.id}.json`), held);
    const started = Date.now();
    await expect(q.add('b', {}, debounce())).rejects.toMatchObject({ code: 'ERR_SPOOL_UNWRITABLE', message: expect.stringMatching(/another add of that id kept its key or its job busy/) });
    expect(Date.now() - started).toBeGreaterThanOrEqual(REPLACE_WAIT_MS);
    expect(key(q, 'd').jobId).toBe(a.id);
    expect(await q.getJobCounts('delayed', 'waiting')).toEqual({ delayed: 0, waiting: 0 });
    // A key naming a job with no id name: waited for while young (its add is running), then a
    // ttl key stays, naming its gone job (as BullMQ's key outlives its job), without an event.
    fs.writeFileSync(dedupFile(q.store, 'n'), JSON.stringify({ id: 'n', jobId: '999', expiresAt: Date.now() + 60_000 }));
    const waited = Date.now();
    const before = events(q).length;
    expect((await q.add('c', {}, { delay: 1000, deduplication: { id: 'n', ttl: 60_000, replace: true } })).id).toBe('999');
    expect(Date.now() - waited).toBeGreaterThanOrEqual(400);
    expect(Date.now() - waited).toBeLessThan(REPLACE_WAIT_MS);
    expect(events(q).slice(before)).toEqual([]);
    // A key without a ttl naming a gone job is taken over, as BullMQ recovers a stale key.
    fs.writeFileSync(dedupFile(q.store, 's'), JSON.stringify({ id: 's', jobId: '998', expiresAt: null }));
    const taken = await q.add('s', {}, { delay: 1000, deduplication: { id: 's', replace: true } });
    expect(taken.id).not.toBe('998');
    expect(key(q, 's').jobId).toBe(taken.id);
    expect(await (await q.getJob(taken.id!))!.getState()).toBe('delayed');
  }, 20_000);

  it('resolves at once to a holder that ran and was removed while its ttl runs', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const opts: JobsOptions = { removeOnComplete: true, deduplication: { id: 'r', ttl: 60_000, extend: true, replace: true } };
    const a = await q.add('a', {}, opts);
    const w = track(new Worker('q', async () => 'done', { spool }));
    await new Promise((resolve) => w.once('completed', resolve));
    await w.close();
    expect(await q.getJob(a.id!)).toBeUndefined();
    const started = Date.now();
    expect((await q.add('b', {}, opts)).id).toBe(a.id);
    expect(Date.now() - started).toBeLessThan(REPLACE_WAIT_MS);
    expect(await q.count()).toBe(0);
  });

  for (const step of ['publishing the job', 'writing the key'] as const) {
    it(`puts the holder and the key back when the add fails ${step}`, async () => {
      const q = queue();
      const a = await q.add('a', { v: 1 }, debounce());
      const keyBefore = fs.readFileSync(dedupFile(q.store, 'd'), 'utf8');
      const enospc = (): never => {
        throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      };
      if (step === 'publishing the job') {
        const publish = q.store.publish.bind(q.store);
        vi.spyOn(q.store, 'publish').mockImplementation((tmp, dest, onVisible) => (dest.includes(`${path.sep}delayed${path.sep}`) ? enospc() : publish(tmp, dest, onVisible)));
      } else {
        // The second temp file of the add: the first is its try to create the key, the second the
        // key rewritten for the new job (before the job's own file).
        const writeJobTmp = q.store.writeJobTmp.bind(q.store);
        let calls = 0;
        vi.spyOn(q.store, 'writeJobTmp').mockImplementation((text) => (++calls === 2 ? enospc() : writeJobTmp(text)));
      }
      await expect(q.add('b', { v: 2 }, debounce())).rejects.toThrow(/ENOSPC/);
      vi.restoreAllMocks();
      expect(await (await q.getJob(a.id!))!.getState()).toBe('delayed');
      expect(fs.readFileSync(dedupFile(q.store, 'd'), 'utf8')).toBe(keyBefore);
      expect(await q.getJobCounts('delayed', 'waiting')).toEqual({ delayed: 1, waiting: 0 });
      expect(fs.readdirSync(path.join(q.store.dir, 'reclaiming'))).toEqual([]);
      // And the next add replaces it as usual.
      const c = await q.add('c', { v: 3 }, debounce());
      expect(await q.getJob(a.id!)).toBeUndefined();
      expect(key(q, 'd').jobId).toBe(c.id);
    });
  }

  it('refuses two jobs of one id in one addBulk when one replaces, before adding anything', async () => {
    const q = queue();
    await expect(q.addBulk([{ name: 'a', data: {}, opts: debounce() }, { name: 'b', data: {}, opts: debounce() }])).rejects.toMatchObject({ code: 'ERR_INVALID_JOB', message: expect.stringMatching(/separate calls/) });
    expect(await q.count()).toBe(0);
    // Different ids in one call are fine.
    const jobs = await q.addBulk([{ name: 'a', data: {}, opts: debounce() }, { name: 'b', data: {}, opts: { delay: 60_000, deduplication: { id: 'other', replace: true } } }]);
    expect(jobs).toHaveLength(2);
  });

  it('keeps the key expiry when its automatic id turns out taken and the job takes another', async () => {
    const q = queue();
    const a = await q.add('a', {}, debounce());
    const expiry = key(q, 'd').expiresAt;
    // The next automatic id is already linked (a block reserved by a process before an obliterate).
    const next = String(Number(a.id) + 1);
    const stray = path.join(q.store.dir, 'stray');
    fs.writeFileSync(stray, 'x');
    fs.mkdirSync(path.dirname(q.store.idPath(next)), { recursive: true });
    fs.linkSync(stray, q.store.idPath(next));
    await new Promise((r) => setTimeout(r, 20));
    const b = await q.add('b', {}, debounce());
    expect(b.id).not.toBe(next);
    expect(key(q, 'd')).toEqual({ id: 'd', jobId: b.id, expiresAt: expiry });
    expect((await q.getDelayed()).map((j) => j.id)).toEqual([b.id]);
  });

  it('ignores reschedule (as BullMQ does)', async () => {
    const q = queue();
    await q.add('a', {}, debounce());
    const b = await q.add('b', {}, { delay: 5000, deduplication: { id: 'd', ttl: 60_000, replace: true, reschedule: true } });
    const stored = (await q.getJob(b.id!))!;
    expect(stored.delay).toBe(5000);
  });
});

describe('a replacing add undone after its events were logged', () => {
  it('logs the replaced job as delayed again once it is back', async (ctx) => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const events = track(new QueueEvents('q', { spool }));
    await events.waitUntilReady();
    const heard: string[] = [];
    for (const e of ['added', 'delayed', 'removed', 'deduplicated'] as const) events.on(e, ({ jobId }: { jobId: string }) => heard.push(`${e}:${jobId}`));
    const dedup = { id: 'd', ttl: 600_000, replace: true };
    await q.add('a', {}, { jobId: 'A', delay: 60_000, deduplication: dedup });
    // The new job's leaf directory cannot be made (immutable parent: a full disk would refuse it
    // the same way), so the add is undone after its events went into the log.
    const top = path.join(spool, 'queues', 'q', 'delayed', fs.readdirSync(path.join(spool, 'queues', 'q', 'delayed'))[0]!);
    try {
      execFileSync('chattr', ['+i', top], { stdio: 'ignore' });
    } catch {
      return ctx.skip();
    }
    try {
      await expect(q.add('b', {}, { jobId: 'B', delay: 70_000, deduplication: dedup })).rejects.toThrow();
    } finally {
      execFileSync('chattr', ['-i', top], { stdio: 'ignore' });
    }
    expect(await q.getJobState('A')).toBe('delayed');
    await waitFor(() => heard.includes('removed:B'), 3000);
    await sleep(100);
    const afterB = heard.slice(heard.indexOf('added:B'));
    expect(afterB.filter((e) => e.endsWith(':A')).at(-1), heard.join(' ')).toBe('delayed:A');
  });
});

describe('deduplication extend', () => {
  it('restarts the held key ttl and resolves to its job; an expired key is taken', async () => {
    const q = queue();
    const a = await q.add('a', {}, { deduplication: { id: 'x', ttl: 60_000, extend: true } });
    const first = key(q, 'x').expiresAt!;
    await new Promise((r) => setTimeout(r, 20));
    const before = events(q).length;
    expect((await q.add('b', {}, { deduplication: { id: 'x', ttl: 60_000, extend: true } })).id).toBe(a.id);
    expect(key(q, 'x')).toMatchObject({ jobId: a.id });
    expect(key(q, 'x').expiresAt).toBeGreaterThan(first);
    expect(events(q).slice(before).map(([e]) => e)).toEqual(['deduplicated']);
    // Without extend the ttl stands.
    const second = key(q, 'x').expiresAt!;
    await q.add('c', {}, { deduplication: { id: 'x', ttl: 60_000 } });
    expect(key(q, 'x').expiresAt).toBe(second);
  });

  it('extends the job the key names when it extends, not the one it read before (a replace in between)', () => {
    const q = queue();
    const file = dedupFile(q.store, 'x');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify({ id: 'x', jobId: 'replacement', expiresAt: Date.now() + 1000 }));
    const now = Date.now();
    expect(extendKey(q.store, file, 'x', now + 60_000, now)).toBe('replacement');
    expect(key(q, 'x')).toEqual({ id: 'x', jobId: 'replacement', expiresAt: now + 60_000 });
    // Expired or gone: nothing to extend, the caller takes the key.
    fs.writeFileSync(file, JSON.stringify({ id: 'x', jobId: 'old', expiresAt: now - 1 }));
    expect(extendKey(q.store, file, 'x', now + 60_000, now)).toBeUndefined();
    fs.rmSync(file);
    expect(extendKey(q.store, file, 'x', now + 60_000, now)).toBeUndefined();
    expect(fs.readdirSync(path.dirname(file))).toEqual([]);
  });

  it('checks the flags', async () => {
    const q = queue();
    await expect(q.add('a', {}, { deduplication: { id: 'x', replace: 'yes' as unknown as boolean } })).rejects.toThrow(/replace must be true or false/);
    await expect(q.add('a', {}, { deduplication: { id: 'x', keepLastIfActive: 1 as unknown as boolean } })).rejects.toThrow(/keepLastIfActive must be true or false/);
    expect(await q.count()).toBe(0);
  });
});

/** The one file under `dir` (two levels of buckets) whose name ends with `suffix`. */
function findFile(dir: string, suffix: string): string {
  for (const top of fs.readdirSync(dir)) {
    for (const leaf of fs.readdirSync(path.join(dir, top))) {
      for (const name of fs.readdirSync(path.join(dir, top, leaf))) if (name.endsWith(suffix)) return path.join(dir, top, leaf, name);
    }
  }
  throw new Error(`no file ending ${suffix} under ${dir}`);
}
