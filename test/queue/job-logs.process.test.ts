/**
 * Log rows appended to one job by several processes at once, with keepLogs: the rows kept are the
 * last ones appended, none lost between them (a trim rewrites the log while others append).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { tmpSpool, track } from '../fixtures/core/helpers.js';
import { exited, startFixture } from '../fixtures/core/procs.js';

const N = 300;
const KEEP = 100;

describe('job logs written by several processes', () => {
  it('keepLogs keeps the last rows appended, with no row lost from among them', async () => {
    const spool = tmpSpool();
    const go = path.join(spool, 'go');
    const q = track(new Queue('q', { spool }));
    const job = await q.add('x', {});
    const writers = await Promise.all(['A', 'B', 'C'].map((WHO) => startFixture('log-writer.ts', { SPOOL: spool, JOB: job.id!, WHO, N: String(N), KEEP: String(KEEP), GO: go })));
    fs.writeFileSync(go, '');
    for (const w of writers) expect(await exited(w, 60_000)).toBe(0);
    const { logs, count } = await q.getJobLogs(job.id!);
    expect(count).toBe(KEEP);
    // Each writer's kept rows are the end of what it wrote: consecutive, up to its last row.
    for (const who of ['A', 'B', 'C']) {
      const mine = logs.filter((l) => l.startsWith(`${who}:`)).map((l) => Number(l.slice(2)));
      const expected = mine.length === 0 ? [] : Array.from({ length: mine.length }, (_, i) => N - mine.length + i);
      expect(mine, `${who}'s kept rows`).toEqual(expected);
    }
    // No lock left behind.
    expect(fs.readdirSync(path.join(q.store.dir, 'tmp')).filter((n) => n.startsWith('loglock-'))).toEqual([]);
  }, 90_000);
});
