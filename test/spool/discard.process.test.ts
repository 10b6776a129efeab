import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { removeJob } from '../../src/spool/admin.js';
import { tmpSpool, track } from '../fixtures/core/helpers.js';
import { exited, startFixture } from '../fixtures/core/procs.js';

/** Every job file under the queue's sets, with its number of names. */
function setFiles(dir: string): { file: string; nlink: number }[] {
  const out: { file: string; nlink: number }[] = [];
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.json')) out.push({ file: p, nlink: fs.statSync(p).nlink });
    }
  };
  for (const set of ['waiting', 'lifo', 'prioritized', 'delayed', 'reclaiming']) if (fs.existsSync(path.join(dir, set))) walk(path.join(dir, set));
  return out;
}

describe('removal racing other processes that move the same jobs', () => {
  it('never leaves a job without its id name: a job is either removed whole or still found by id', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    // A few ids, added and removed over and over while two processes keep re-filing them.
    const ids = Array.from({ length: 6 }, (_, i) => `k${i}`);
    const movers = await Promise.all([0, 1].map(() => startFixture('set-mover.ts', { SPOOL: spool, QUEUE: 'q', IDS: ids.join(',') })));
    const outs = movers.map((m) => {
      let out = '';
      m.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      m.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      return () => out;
    });
    let rounds = 0;
    let removed = 0;
    const deadline = Date.now() + 8_000;
    for (; rounds < 3000 && Date.now() < deadline; rounds++) {
      const id = ids[rounds % ids.length]!;
      await q.add('j', { rounds }, { jobId: id });
      removed += removeJob(q.store, id);
    }
    for (const m of movers) m.kill('SIGTERM');
    const codes = await Promise.all(movers.map((m) => exited(m)));
    expect(codes, outs.map((o) => o()).join('\n')).toEqual([0, 0]);
    const moved = outs.map((o) => Number(/moved (\d+)/.exec(o())?.[1] ?? NaN));
    // The movers ran alongside, and most removals went through.
    for (const count of moved) expect(count).toBeGreaterThan(100);
    expect(removed).toBeGreaterThan(rounds / 2);
    // No job file is left in a set without its id name.
    const left = setFiles(q.store.dir);
    expect(left.filter((f) => f.nlink < 2).map((f) => path.relative(q.store.dir, f.file))).toEqual([]);
    // Every job left (a removal that kept losing to the movers) is whole: found by id, and removable now.
    const found = (await Promise.all(ids.map((id) => q.getJob(id)))).filter((j) => j !== undefined);
    expect(found.length).toBe(left.length);
    for (const j of found) expect(removeJob(q.store, j.id!)).toBe(1);
    expect(setFiles(q.store.dir)).toEqual([]);
    expect(fs.readdirSync(path.join(q.store.dir, 'reclaiming'))).toEqual([]);
  }, 60_000);
});
