import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { tmpSpool, track } from '../fixtures/core/helpers.js';
import { exited, startFixture } from '../fixtures/core/procs.js';

describe('id index across processes', () => {
  it('links into ranges that another process keeps pruning: every link lands, none is lost', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const store = q.store;
    // The two newest ranges hold an entry for the whole test, so every range used below may be pruned.
    const job = path.join(store.dir, 'tmp', 'job');
    fs.writeFileSync(job, '{}');
    expect(store.linkIdEntry(job, '900001')).toBe(true);
    expect(store.linkIdEntry(job, '901001')).toBe(true);
    const pruner = await startFixture('id-pruner.ts', { QUEUE_DIR: store.dir });
    let out = '';
    pruner.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    let links = 0;
    const deadline = Date.now() + 10_000;
    for (let round = 0; round < 20 && Date.now() < deadline; round++) {
      for (let range = 400; range >= 3; range--) {
        const id = `${range}${String(round).padStart(3, '0')}`;
        expect(store.linkIdEntry(job, id)).toBe(true);
        // A directory holding an entry is never pruned.
        expect(fs.statSync(store.idPath(id)).ino).toBe(fs.statSync(job).ino);
        store.removeIdEntry(id);
        links++;
      }
    }
    pruner.kill('SIGTERM');
    expect(await exited(pruner)).toBe(0);
    const pruned = Number(/pruned (\d+)/.exec(out)?.[1] ?? NaN);
    expect(links).toBeGreaterThan(1000);
    // The pruner ran alongside: it removed directories the links had to make again.
    expect(pruned).toBeGreaterThan(0);
    expect(fs.statSync(job).nlink).toBe(3);
  });
});
