import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue, Worker } from '../../src/index.js';
import { takeLock } from '../../src/spool/id-lock.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';
import { exited, startFixture } from '../fixtures/core/procs.js';

describe('a spool lock whose holder was killed', () => {
  it('is respected while its holder lives and broken at once when it is gone, not 10 s later', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const lock = path.join(q.store.dir, 'concurrency.lock');
    const holder = await startFixture('lock-holder.ts', { SPOOL: spool, LOCK: lock });
    expect(fs.readFileSync(lock, 'utf8')).toContain(` ${holder.pid} `);
    expect(takeLock(q.store, lock, Date.now())).toBe(false);
    holder.kill('SIGKILL');
    await exited(holder);
    expect(takeLock(q.store, lock, Date.now())).toBe(true);
    expect(fs.readFileSync(lock, 'utf8')).toContain(` ${process.pid} `);
    // Nothing left beside it.
    expect(fs.readdirSync(q.store.dir).filter((n) => n.startsWith('concurrency.lock.'))).toEqual([]);
    fs.unlinkSync(lock);
  });

  it('a worker under a global concurrency claims at once after the claim lock holder is SIGKILLed', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    await q.setGlobalConcurrency(2);
    const holder = await startFixture('lock-holder.ts', { SPOOL: spool, LOCK: path.join(q.store.dir, 'concurrency.lock') });
    holder.kill('SIGKILL');
    await exited(holder);
    await q.add('j', {});
    let done = 0;
    const w = track(new Worker('q', async () => 'ok', { spool }));
    w.on('completed', () => done++);
    const t0 = Date.now();
    await waitFor(() => done === 1, 5000, 'the job');
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});
