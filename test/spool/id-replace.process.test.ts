import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { sleep, tmpSpool, track } from '../fixtures/core/helpers.js';
import { exited, startFixture } from '../fixtures/core/procs.js';

const COUNT = 300;

describe('stale id entries replaced by racing producers', () => {
  it('four producers adding the same custom ids over leftover entries make one job per id', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    // Entries with no job behind them, as an add or removal that died half-way leaves them.
    for (let i = 0; i < COUNT; i++) {
      const tmp = path.join(q.store.dir, 'tmp', `leftover-${i}`);
      fs.writeFileSync(tmp, 'x');
      expect(q.store.linkIdEntry(tmp, `c${i}`)).toBe(true);
      fs.unlinkSync(tmp);
    }
    // Old enough to be judged leftovers (5 s).
    await sleep(5200);
    const start = Date.now() + 2500;
    const producers = await Promise.all([0, 1, 2, 3].map(() => startFixture('custom-id-producer.ts', { SPOOL: spool, START_MS: String(start), COUNT: String(COUNT) })));
    for (const p of producers) expect(await exited(p, 30_000)).toBe(0);
    const files = fs.readdirSync(path.join(q.store.dir, 'waiting'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    const perId = new Map<string, number>();
    for (const f of files) {
      const id = f.name.split('.').slice(1, -1).join('.');
      perId.set(id, (perId.get(id) ?? 0) + 1);
    }
    expect([...perId].filter(([, n]) => n > 1)).toEqual([]);
    expect(perId.size).toBe(COUNT);
    for (let i = 0; i < COUNT; i += 37) expect(await q.getJobState(`c${i}`)).toBe('waiting');
  }, 60_000);
});
