import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { POOL_MAX, recycle } from '../../src/spool/pool.js';
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

  it('deletes instead of pooling once the pool holds POOL_MAX files', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const free = path.join(spool, 'queues', 'q', 'free');
    for (let i = 0; i < POOL_MAX; i++) fs.writeFileSync(path.join(free, `f${i}`), '');
    const extra = path.join(spool, 'extra');
    fs.writeFileSync(extra, 'x');
    // The pool size is estimated once a second per process; a fresh directory is counted now.
    expect(recycle(q.store, extra)).toBe(true);
    expect(fs.existsSync(extra)).toBe(false);
    expect(fs.readdirSync(free)).toHaveLength(POOL_MAX);
  });
});
