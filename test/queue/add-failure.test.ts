import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Queue } from '../../src/index.js';
import { SpoolkitError } from '../../src/errors.js';
import { reclaimStalled } from '../../src/spool/reclaim.js';
import { obliterate } from '../../src/spool/bulk.js';
import { IdAllocator } from '../../src/spool/id-alloc.js';
import { delayedRoute } from '../../src/spool/routing.js';
import { filesUnder, tmpSpool, track, tmpFiles } from '../fixtures/core/helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** Job files under the queue's sets and active/. */
function visible(dir: string): string[] {
  return ['waiting', 'lifo', 'prioritized', 'delayed', 'active'].flatMap((d) => filesUnder(path.join(dir, d)));
}

describe('an add that fails part-way', () => {
  it('addBulk whose new delayed bucket cannot be made fails before any job is visible: nothing for a worker to claim', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const due = Date.parse('2100-01-01T00:00:00Z');
    // A file where the delayed bucket of that due time would go.
    const route = delayedRoute(q.store, due, 0, false);
    const leaf = path.dirname(route.set.pathFor(route.key, 'x'));
    const top = path.dirname(leaf);
    fs.mkdirSync(path.dirname(top), { recursive: true });
    fs.writeFileSync(top, 'not a directory');
    // A worker would claim a job the moment it is published: record any publish into waiting/.
    const published: string[] = [];
    const rename = fs.renameSync.bind(fs);
    vi.spyOn(fs, 'renameSync').mockImplementation((from, to) => {
      rename(from, to);
      if (String(to).includes(`${path.sep}waiting${path.sep}`)) published.push(String(to));
    });
    const specs = [...Array.from({ length: 5 }, (_, i) => ({ name: 'now', data: { i } })), { name: 'later', data: {}, opts: { delay: due - Date.now() } }];
    await expect(q.addBulk(specs)).rejects.toThrow();
    expect(published).toEqual([]);
    vi.restoreAllMocks();
    expect(visible(q.store.dir).filter((f) => f !== top)).toEqual([]);
    expect(filesUnder(path.join(q.store.dir, 'ids'))).toEqual([]);
    expect(tmpFiles(q.store.dir)).toEqual([]);
  });

  it('a failure after the first job is visible undoes nothing: the error says so, and the rest are published by the stalled check', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const rename = fs.renameSync.bind(fs);
    let publishes = 0;
    vi.spyOn(fs, 'renameSync').mockImplementation((from, to) => {
      if (String(to).includes(`${path.sep}waiting${path.sep}`) && ++publishes === 3) throw Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO' });
      rename(from, to);
    });
    const err = (await q.addBulk(Array.from({ length: 5 }, (_, i) => ({ name: 'j', data: { i } }))).catch((e: unknown) => e)) as SpoolkitError;
    vi.restoreAllMocks();
    expect(err).toBeInstanceOf(SpoolkitError);
    expect(err.details).toMatchObject({ committed: true });
    const { published, pending } = err.details as { published: string[]; pending: string[] };
    expect(published).toHaveLength(2);
    expect(pending).toHaveLength(3);
    expect(err.message).toMatch(/Do not add them again/);
    for (const id of published) expect(await q.getJobState(id)).toBe('waiting');
    // The three, and the bulk's commit marker: they are to be published.
    const tmp = tmpFiles(q.store.dir);
    expect(tmp.filter((f) => !f.endsWith('.commit'))).toHaveLength(3);
    expect(tmp.filter((f) => f.endsWith('.commit'))).toHaveLength(1);
    // Minutes later a stalled check publishes the rest.
    reclaimStalled(q.store, { nowMs: Date.now() + 6 * 60_000, lockDurationMs: 30_000, maxStalledCount: 1 });
    expect(await q.getJobCounts('waiting')).toEqual({ waiting: 5 });
    for (const id of pending) expect(await q.getJobState(id)).toBe('waiting');
    expect(tmpFiles(q.store.dir)).toEqual([]);
  });

  it('a committed bulk whose publishing takes minutes: the jobs a stalled check published meanwhile count as published', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const rename = fs.renameSync.bind(fs);
    let publishes = 0;
    let checked = false;
    vi.spyOn(fs, 'renameSync').mockImplementation((from, to) => {
      if (!checked && String(to).includes(`${path.sep}waiting${path.sep}`) && ++publishes === 3) {
        // Minutes into the publishing, a worker's stalled check publishes the bulk's leftovers.
        checked = true;
        reclaimStalled(q.store, { nowMs: Date.now() + 6 * 60_000, lockDurationMs: 30_000, maxStalledCount: 1 });
      }
      rename(from, to);
    });
    const jobs = await q.addBulk(Array.from({ length: 5 }, (_, i) => ({ name: 'j', data: { i } })));
    vi.restoreAllMocks();
    expect(checked).toBe(true);
    expect(jobs).toHaveLength(5);
    expect(await q.getJobCounts('waiting')).toEqual({ waiting: 5 });
    for (const j of jobs) expect(await q.getJobState(j.id!)).toBe('waiting');
    expect(tmpFiles(q.store.dir)).toEqual([]);
  });

  it('concurrent durable adds sharing a failed run that had made jobs visible are not added again one by one', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool, durability: 'durable' }));
    const fsync = fs.fsyncSync.bind(fs);
    let failed = false;
    vi.spyOn(fs, 'fsyncSync').mockImplementation((fd) => {
      // The directory fsync after the jobs were published fails once (an I/O error).
      if (!failed && visible(q.store.dir).length === 4) {
        failed = true;
        throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
      }
      fsync(fd);
    });
    const results = await Promise.allSettled(Array.from({ length: 4 }, (_, i) => q.add('j', { i })));
    vi.restoreAllMocks();
    expect(failed).toBe(true);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect(((r as PromiseRejectedResult).reason as SpoolkitError).details).toMatchObject({ committed: true });
    }
    // Four jobs, not eight.
    expect(await q.getJobCounts('waiting')).toEqual({ waiting: 4 });
  });

  it('an add whose queue is obliterated under it (by another process) is made again in the new queue, not failed with a raw ENOENT', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    await q.add('old', {});
    const link = fs.linkSync.bind(fs);
    let obliterated = false;
    vi.spyOn(fs, 'linkSync').mockImplementation((from, to) => {
      if (!obliterated && String(to).includes(`${path.sep}ids${path.sep}`)) {
        obliterated = true;
        obliterate(q.store, true);
      }
      link(from, to);
    });
    const job = await q.add('new', { n: 1 });
    vi.restoreAllMocks();
    expect(obliterated).toBe(true);
    expect(await q.getJobCounts('waiting')).toEqual({ waiting: 1 });
    expect((await q.getJob(job.id!))!.name).toBe('new');
  });

  it('an automatic id found taken far ahead of the counter (a lost seq, or a block reserved before an obliterate) moves the counter past it', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    await q.addBulk(Array.from({ length: 150 }, (_, i) => ({ name: 'j', data: { i } })));
    fs.writeFileSync(path.join(q.store.dir, 'seq'), '0\n');
    IdAllocator.for(q.store).reset();
    const job = await q.add('after', {});
    expect(Number(job.id)).toBeGreaterThan(150);
    expect(await q.getJobCounts('waiting')).toEqual({ waiting: 151 });
    expect((await q.getJob('1'))!.name).toBe('j');
  });
});

