import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Worker } from '../../src/index.js';
import { runRetention } from '../../src/spool/retention.js';
import { retentionThreadPasses } from '../../src/spool/retention-thread.js';
import { sleep } from '../fixtures/core/helpers.js';
import { completedQueue, keepNewest } from '../fixtures/core/retention.js';

// In the process project: the test watches for a window of about a second and runs alone.
describe('closing a Worker while its retention pass runs on the thread', () => {
  it('stops the pass before its next removal, and a later pass removes exactly what was left', async () => {
    const q = await completedQueue(20_000);
    keepNewest(q, 0);
    const before = retentionThreadPasses();
    const w = new Worker('q', async () => 'ok', { spool: q.store.root });
    // The first pass runs in the Worker's own thread and stops at its event budget; the next one
    // goes to the retention thread. The lock is only ever seen from here while the thread holds
    // it: a pass in the Worker's own thread runs to its end before this code runs again.
    const lock = path.join(q.store.dir, 'retention.lock');
    const started = Date.now();
    while (!fs.existsSync(lock) && Date.now() - started < 15_000) await sleep(2);
    expect(fs.existsSync(lock)).toBe(true);
    await w.close();
    // The thread answered (the pass ended) and its lock is gone.
    expect(retentionThreadPasses()).toBeGreaterThan(before);
    expect(fs.existsSync(lock)).toBe(false);
    // Stopped early: most of the 20,000 are still there, none lost from the state.
    const left = (await q.getJobCounts('completed')).completed ?? 0;
    expect(left).toBeGreaterThan(10_000);
    // (The count also holds the placeholder id, which has no file.)
    expect(runRetention(q.store, Date.now()).removed).toBe(left + 1);
    expect((await q.getJobCounts('completed')).completed).toBe(0);
  }, 90_000);
});
