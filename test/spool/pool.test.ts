import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { Queue } from '../../src/index.js';
import { discardJobFile, POOL_MAX, recycle } from '../../src/spool/pool.js';
import { readJob } from '../../src/spool/lookup.js';
import { tmpSpool, track } from '../fixtures/core/helpers.js';

describe('the inode pool', () => {
  it('reuses a removed job\'s file for the next add, with no trace of the old job', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const a = await q.add('a', { big: 'x'.repeat(5000) });
    const inoA = fs.statSync(q.store.idPath(a.id!)).ino;
    expect(await q.remove(a.id!)).toBe(1);
    const free = path.join(spool, 'queues', 'q', 'free');
    expect(fs.readdirSync(free)).toHaveLength(1);
    expect(fs.existsSync(q.store.idPath(a.id!))).toBe(false);
    const b = await q.add('b', { small: true });
    expect(fs.statSync(q.store.idPath(b.id!)).ino).toBe(inoA);
    expect(fs.readdirSync(free)).toHaveLength(0);
    const found = readJob(q.store, b.id!)!;
    expect(found.rec.name).toBe('b');
    expect(found.rec.data).toEqual({ small: true });
    expect(fs.statSync(q.store.idPath(b.id!)).size).toBeLessThan(1000);
    expect(await q.getJob(a.id!)).toBeUndefined();
  });

  it('parks a file in trash/ instead of pooling it once the pool holds POOL_MAX files', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const free = path.join(spool, 'queues', 'q', 'free');
    for (let i = 0; i < POOL_MAX; i++) fs.writeFileSync(path.join(free, `f${i}`), '');
    const extra = path.join(spool, 'extra');
    fs.writeFileSync(extra, 'x');
    const ino = fs.statSync(extra).ino;
    // The pool size is estimated once a second per process; a fresh directory is counted now.
    expect(recycle(q.store, extra)).toBe(true);
    expect(fs.existsSync(extra)).toBe(false);
    expect(fs.readdirSync(free)).toHaveLength(POOL_MAX);
    const trash = fs.readdirSync(path.join(spool, 'queues', 'q', 'trash'));
    expect(trash).toHaveLength(1);
    expect(fs.statSync(path.join(spool, 'queues', 'q', 'trash', trash[0]!)).ino).toBe(ino);
  });
});

describe('discarding a finished job', () => {
  it('frees an automatic id and pools its file', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const job = await q.add('a', { n: 1 });
    const file = q.store.idPath(job.id!);
    const ino = fs.statSync(file).ino;
    const loc = readJob(q.store, job.id!)!.loc.path;
    expect(discardJobFile(q.store, job.id!, loc)).toBe(true);
    expect(fs.existsSync(file)).toBe(false);
    const free = path.join(spool, 'queues', 'q', 'free');
    expect(fs.readdirSync(free).map((n) => fs.statSync(path.join(free, n)).ino)).toContain(ino);
    expect(discardJobFile(q.store, job.id!, loc)).toBe(false);
  });

  it('keeps the id of an automatic-id job that moved on since it finished (retried)', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const job = await q.add('a', { n: 1 });
    const completedPath = q.store.filePath('completed', job.id!);
    fs.renameSync(readJob(q.store, job.id!)!.loc.path, completedPath); // as if it had completed
    const moved = path.join(spool, 'queues', 'q', 'elsewhere.json');
    fs.renameSync(completedPath, moved); // and then been retried: it is no longer in completed/
    expect(discardJobFile(q.store, job.id!, completedPath)).toBe(false);
    expect(fs.existsSync(q.store.idPath(job.id!))).toBe(true);
  });

  it('leaves a custom id alone when its index names another file (removed and added again)', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    await q.add('a', { n: 1 }, { jobId: 'order-1' });
    const oldLoc = readJob(q.store, 'order-1')!.loc.path;
    const stale = path.join(spool, 'stale-copy.json');
    fs.copyFileSync(oldLoc, stale); // the old incarnation's file, a different inode
    expect(await q.remove('order-1')).toBe(1);
    await q.add('b', { n: 2 }, { jobId: 'order-1' });
    expect(discardJobFile(q.store, 'order-1', stale)).toBe(true);
    expect(readJob(q.store, 'order-1')?.rec.data).toEqual({ n: 2 });
  });

  it('treats a digit-only custom id that is no integer to parseInt (too long) as custom, not automatic', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const id = '12345678901234567890'; // parseInt gives 12345678901234567000, so BullMQ accepts it
    await q.add('a', { n: 1 }, { jobId: id });
    const stale = path.join(spool, 'stale-copy.json');
    fs.copyFileSync(readJob(q.store, id)!.loc.path, stale);
    expect(await q.remove(id)).toBe(1);
    await q.add('b', { n: 2 }, { jobId: id });
    expect(discardJobFile(q.store, id, stale)).toBe(true);
    expect(readJob(q.store, id)?.rec.data).toEqual({ n: 2 });
  });
});

describe('the cache of spare-file names', () => {
  it('lists the pool again after a few cached names turn out to be gone, instead of trying them all', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const free = path.join(spool, 'queues', 'q', 'free');
    for (let i = 0; i < 101; i++) fs.writeFileSync(path.join(free, `old${i}`), '');
    await q.add('a', {}); // lists the pool: 100 names stay cached in this process
    for (const name of fs.readdirSync(free)) fs.unlinkSync(path.join(free, name)); // another process took them
    fs.writeFileSync(path.join(free, 'fresh'), '');
    const ino = fs.statSync(path.join(free, 'fresh')).ino;
    const renames = vi.spyOn(fs, 'renameSync');
    const b = await q.add('b', { n: 2 });
    // Only renames out of the pool count: other steps of an add may rename too.
    const failed = renames.mock.results.filter((r, i) => r.type === 'throw' && String(renames.mock.calls[i]![0]).startsWith(free)).length;
    vi.restoreAllMocks();
    expect(fs.statSync(q.store.idPath(b.id!)).ino).toBe(ino);
    expect(failed).toBeLessThanOrEqual(8);
    expect((await q.getJob(b.id!))?.data).toEqual({ n: 2 });
  });
});
