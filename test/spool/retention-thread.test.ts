import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue, Worker } from '../../src/index.js';
import { retentionThreadPasses, runRetentionOnThread, stopRetentionThread } from '../../src/spool/retention-thread.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';
import { completedQueue, keepNewest } from '../fixtures/core/retention.js';

describe('retention on the helper thread', () => {
  it('removes what a pass in the process would remove, files and id names included', async () => {
    const q = await completedQueue(30);
    keepNewest(q, 5);
    // 26 ids fall out of the newest 5: 26 removed from the list (the placeholder id has no file).
    expect(await runRetentionOnThread(q.store, Date.now(), {})).toEqual({ removed: 26, more: false });
    expect((await q.getJobCounts('completed')).completed).toBe(4);
    const left = fs.readdirSync(path.join(q.store.dir, 'completed'));
    expect(left).toHaveLength(4);
    // Removed jobs are gone by id too: the id index names went with the files.
    const gone = await Promise.all(Array.from({ length: 30 }, (_, i) => q.getJob(String(i + 1))));
    expect(gone.filter((j) => j !== undefined)).toHaveLength(4);
  });

  it('rejects with the error the pass met, and keeps serving passes afterwards', async () => {
    const q = await completedQueue(3);
    keepNewest(q, 0);
    const state = path.join(q.store.dir, 'retention.json');
    fs.rmSync(state, { force: true });
    fs.mkdirSync(state);
    const err = (await runRetentionOnThread(q.store, Date.now(), {}).catch((e: unknown) => e)) as NodeJS.ErrnoException;
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('EISDIR');
    expect(err.message).toMatch(/^EISDIR/);
    fs.rmdirSync(state);
    expect((await runRetentionOnThread(q.store, Date.now(), {})).removed).toBe(4);
    expect((await q.getJobCounts('completed')).completed).toBe(0);
  });

  it('fails passes waiting on a thread that ends, and starts a new thread for the next one', async () => {
    const q = await completedQueue(3);
    keepNewest(q, 1);
    const before = retentionThreadPasses();
    const pending = runRetentionOnThread(q.store, Date.now(), {}).catch((e: unknown) => e);
    await stopRetentionThread();
    expect(await pending).toMatchObject({ code: 'ERR_CLOSED' });
    // The lock the ended pass may have held is a directory that a pass removes when stale; none is left here.
    fs.rmSync(path.join(q.store.dir, 'retention.lock'), { recursive: true, force: true });
    // The ended pass may have removed the jobs before the thread stopped; either way the new
    // thread's pass answers and nothing is left.
    expect(typeof (await runRetentionOnThread(q.store, Date.now(), {})).removed).toBe('number');
    expect(retentionThreadPasses()).toBeGreaterThan(before);
    expect((await q.getJobCounts('completed')).completed).toBe(0);
  });

  it('a Worker that finished many jobs in a second hands its next pass to the thread', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    // 45 jobs, all finished within the Worker's first second: the pass after them removes 35, within
    // the in-process budget of 50, so only the count of finished jobs (at least 40) can send it to
    // the thread. (With the earlier threshold of 200 this test fails.)
    await q.addBulk(Array.from({ length: 45 }, (_, i) => ({ name: 'j', data: { i } })));
    const before = retentionThreadPasses();
    const w = track(new Worker('q', async () => 'ok', { spool, concurrency: 8, removeOnComplete: { count: 10 } }));
    const errors: unknown[] = [];
    w.on('error', (e) => errors.push(e));
    await waitFor(async () => (await q.getJobCounts('completed')).completed === 10 && retentionThreadPasses() > before, 10_000, 'retention down to 10 on the thread');
    expect(errors).toEqual([]);
  });

  it('a Worker reports a failed threaded pass as an error event and keeps working', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    fs.mkdirSync(path.join(q.store.dir, 'retention.json'));
    await q.addBulk(Array.from({ length: 400 }, (_, i) => ({ name: 'j', data: { i } })));
    const w = track(new Worker('q', async () => 'ok', { spool, concurrency: 8, removeOnComplete: { count: 10 }, autorun: false }));
    const errors: NodeJS.ErrnoException[] = [];
    w.on('error', (e) => errors.push(e as NodeJS.ErrnoException));
    void w.run();
    // The first pass (nothing finished yet) runs in the process; the one after 400 jobs on the thread.
    const fromThread = await waitFor(() => errors.find((e) => e.stack?.includes('retention-thread-main')), 5000, 'an error from the threaded pass');
    expect(fromThread?.code).toBe('EISDIR');
    await q.add('after', {});
    await waitFor(async () => (await q.getJobCounts('completed')).completed === 401, 10_000, 'the job added after the error');
  });

  it('a Worker that meets a backlog it did not make (more than one budgeted pass) sends the rest to the thread', async () => {
    // 1,200 jobs finished elsewhere and kept; this Worker finishes one job that keeps none.
    const q = await completedQueue(1200);
    const spool = q.store.root;
    const before = retentionThreadPasses();
    await q.add('last', {}, { removeOnComplete: 0 });
    const w = track(new Worker('q', async () => 'ok', { spool }));
    const errors: unknown[] = [];
    w.on('error', (e) => errors.push(e));
    // The first pass in the process removes at most 50; the one after goes to the thread.
    // (The thread's answer may arrive a moment after its removals show.)
    await waitFor(async () => (await q.getJobCounts('completed')).completed === 0 && retentionThreadPasses() > before, 10_000, 'the backlog removed on the thread');
    expect(errors).toEqual([]);
  });

  it('an aborted signal stops the pass on the thread before its next removal; nothing is lost', async () => {
    const q = await completedQueue(20);
    keepNewest(q, 0);
    const abort = new AbortController();
    abort.abort();
    expect(await runRetentionOnThread(q.store, Date.now(), {}, abort.signal)).toEqual({ removed: 0, more: true });
    expect((await q.getJobCounts('completed')).completed).toBe(20);
    expect((await runRetentionOnThread(q.store, Date.now(), {})).removed).toBe(21);
    expect((await q.getJobCounts('completed')).completed).toBe(0);
  });
});
