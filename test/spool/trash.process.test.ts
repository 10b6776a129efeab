import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { moveToTrash, trashDir } from '../../src/spool/trash.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';
import { exited, startFixture } from '../fixtures/core/procs.js';

describe('deferred deletes across processes', () => {
  it('adds that reuse trashed files race two deleting processes: every job is intact, nothing is left', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const parked = 3000;
    const adds = 1500;
    // A second name for each parked file (outside the queue) keeps its inode alive, so an inode
    // number seen later is that file's and not a new file's that reused the number.
    const witness = path.join(spool, 'witness');
    fs.mkdirSync(witness);
    const parkedInodes = new Set<number>();
    for (let i = 0; i < parked; i++) {
      const file = path.join(q.store.dir, `old-${i}.json`);
      fs.writeFileSync(file, JSON.stringify({ old: i, pad: 'o'.repeat(200) }));
      fs.linkSync(file, path.join(witness, String(i)));
      parkedInodes.add(fs.statSync(file).ino);
      moveToTrash(q.store, file);
    }
    const go = path.join(spool, 'go');
    const env = { SPOOL: spool, GO: go };
    const emptiers = await Promise.all([startFixture('trash-emptier.ts', env), startFixture('trash-emptier.ts', env)]);
    const outputs = emptiers.map((p) => {
      let out = '';
      p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      return () => out;
    });
    fs.writeFileSync(go, '');
    const ids: string[] = [];
    for (let i = 0; i < adds; i++) ids.push((await q.add('new', { i }))!.id!);
    for (let i = 0; i < ids.length; i++) {
      const job = await q.getJob(ids[i]!);
      expect(job?.data).toEqual({ i });
      expect(job?.name).toBe('new');
    }
    expect(await q.getJobCounts('waiting')).toEqual({ waiting: adds });
    await waitFor(() => fs.readdirSync(trashDir(q.store)).length === 0, 20_000, 'trash emptied');
    for (const p of emptiers) p.kill('SIGTERM');
    for (const p of emptiers) expect(await exited(p)).toBe(0);
    // Every parked file was either reused by exactly one add or deleted by exactly one process.
    const deleted = outputs.map((o) => Number(/deleted (\d+)/.exec(o())?.[1] ?? NaN)).reduce((a, b) => a + b, 0);
    const reused = ids.filter((id) => parkedInodes.has(fs.statSync(q.store.idPath(id)).ino)).length;
    expect(deleted + reused).toBe(parked);
    for (const id of ids) expect(fs.readFileSync(q.store.idPath(id), 'utf8')).not.toContain('"old"');
  });
});
