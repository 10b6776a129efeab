import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue, Worker } from '../../src/index.js';
import { emptyTrash, hasParked, moveToTrash, trashDir } from '../../src/spool/trash.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

function park(q: Queue, n: number): void {
  for (let i = 0; i < n; i++) {
    const file = path.join(q.store.dir, `removed-${i}.json`);
    fs.writeFileSync(file, `{"i":${i}}`);
    expect(moveToTrash(q.store, file)).toBe(true);
  }
}

describe('deferred deletes (trash/)', () => {
  it('moveToTrash renames a file in, creating trash/ if needed, and says false for a missing file', () => {
    const q = track(new Queue('q', { spool: tmpSpool() }));
    fs.rmSync(trashDir(q.store), { recursive: true, force: true });
    park(q, 3);
    expect(fs.readdirSync(trashDir(q.store))).toHaveLength(3);
    expect(moveToTrash(q.store, path.join(q.store.dir, 'no-such-file'))).toBe(false);
    expect(fs.readdirSync(trashDir(q.store))).toHaveLength(3);
  });

  it('emptyTrash deletes everything, stops when asked between two deletes, and copes with no trash/', async () => {
    const q = track(new Queue('q', { spool: tmpSpool() }));
    expect(hasParked(q.store)).toBe(false);
    park(q, 10);
    expect(hasParked(q.store)).toBe(true);
    let calls = 0;
    expect(await emptyTrash(q.store, () => ++calls > 4)).toBe(4);
    expect(fs.readdirSync(trashDir(q.store))).toHaveLength(6);
    expect(hasParked(q.store)).toBe(true); // stopped early: still something to delete
    expect(await emptyTrash(q.store, () => false)).toBe(6);
    expect(fs.readdirSync(trashDir(q.store))).toEqual([]);
    expect(hasParked(q.store)).toBe(false);
    fs.rmdirSync(trashDir(q.store));
    expect(await emptyTrash(q.store, () => false)).toBe(0);
  });

  it('two processes emptying at once delete each file once and never fail on the other one\'s deletes', async () => {
    const q = track(new Queue('q', { spool: tmpSpool() }));
    park(q, 300);
    const [a, b] = await Promise.all([emptyTrash(q.store, () => false), emptyTrash(q.store, () => false)]);
    expect(a + b).toBe(300);
    expect(fs.readdirSync(trashDir(q.store))).toEqual([]);
  });

  it('add reuses a file parked in trash/ when the pool is empty, with no trace of the old content', async () => {
    const q = track(new Queue('q', { spool: tmpSpool() }));
    const old = path.join(q.store.dir, 'old.json');
    fs.writeFileSync(old, JSON.stringify({ secret: 'x'.repeat(3000) }));
    const ino = fs.statSync(old).ino;
    moveToTrash(q.store, old);
    const job = await q.add('new', { n: 1 });
    expect(fs.statSync(q.store.idPath(job.id!)).ino).toBe(ino);
    expect(fs.readdirSync(trashDir(q.store))).toEqual([]);
    expect(fs.readFileSync(q.store.idPath(job.id!), 'utf8')).not.toContain('secret');
    expect((await q.getJob(job.id!))?.data).toEqual({ n: 1 });
  });

  it('an idle Worker empties trash/, and one with jobs to run leaves it until it is idle', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    await q.add('slow', {});
    park(q, 50); // after the add, which would have reused one of them
    const w = track(new Worker('q', async () => gate, { spool }));
    try {
      await waitFor(async () => (await q.getJobCounts('active')).active === 1, 3000);
      // Busy: the retention pass (every second) finds a job in flight and deletes nothing.
      await new Promise((r) => setTimeout(r, 1300));
      expect(fs.readdirSync(trashDir(q.store))).toHaveLength(50);
    } finally {
      release();
    }
    await waitFor(() => fs.readdirSync(trashDir(q.store)).length === 0, 5000);
    await w.close();
  });
});
