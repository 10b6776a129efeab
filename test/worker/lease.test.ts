import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue, QueueEvents, Worker } from '../../src/index.js';
import { once, sleep, tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

function activeFiles(spool: string): string[] {
  return fs.readdirSync(path.join(spool, 'queues', 'q', 'active'));
}

describe('leases and stalled jobs', () => {
  it('fires the AbortSignal and discards the result when the lease is lost', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    let aborted: unknown;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const w = track(
      new Worker(
        'q',
        async (_job, _token, signal) => {
          signal!.addEventListener('abort', () => (aborted = signal!.reason));
          await gate;
          return 'late result';
        },
        { spool, lockDuration: 200, lockRenewTime: 50 },
      ),
    );
    const lost = once<[string[]]>(w, 'lockRenewalFailed');
    w.on('error', () => undefined);
    const job = await q.add('x', {});
    await waitFor(() => activeFiles(spool).length === 1, 3000);
    // Someone else removes the lease (as the stalled checker of another worker would).
    fs.rmSync(path.join(spool, 'queues', 'q', 'active', activeFiles(spool)[0]!));
    expect((await lost)[0]).toEqual([job.id]);
    await waitFor(() => aborted !== undefined, 2000);
    release();
    await sleep(100);
    expect(await q.getJobState(job.id!)).toBe('unknown');
    expect(await q.getJobCounts('completed')).toEqual({ completed: 0 });
  });

  it('puts a job whose lease expired back in the queue with stalledCounter + 1 and emits stalled', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const events = track(new QueueEvents('q', { spool }));
    await events.waitUntilReady();
    // A worker that never renews its lease and hangs: its job must be taken from it.
    let firstSignal: AbortSignal | undefined;
    const hung = track(
      new Worker(
        'q',
        async (_j, _t, signal) => {
          firstSignal = signal;
          await new Promise(() => undefined);
        },
        { spool, skipLockRenewal: true, skipStalledCheck: true, lockDuration: 150 },
      ),
    );
    hung.on('error', () => undefined);
    const job = await q.add('x', {});
    await waitFor(() => firstSignal !== undefined, 3000);
    const stalledEvent = once<[{ jobId: string }]>(events, 'stalled');
    const order: string[] = [];
    events.on('waiting', (a: { jobId: string; prev?: string }) => a.prev === 'active' && order.push('waiting:active'));
    events.on('stalled', () => order.push('stalled'));
    const ran: number[] = [];
    const rescuer = track(
      new Worker(
        'q',
        async (j) => {
          ran.push(j.stalledCounter);
          return 'rescued';
        },
        { spool, lockDuration: 150, stalledInterval: 100 },
      ),
    );
    const localStalled = once<[string, string]>(rescuer, 'stalled');
    expect((await stalledEvent)[0].jobId).toBe(job.id);
    // BullMQ's order: back to waiting first, then stalled.
    expect(order).toEqual(['waiting:active', 'stalled']);
    expect((await localStalled)[0]).toBe(job.id);
    await waitFor(async () => (await q.getJobState(job.id!)) === 'completed', 5000);
    expect(ran).toEqual([1]);
    expect((await q.getJob(job.id!))!.returnvalue).toBe('rescued');
    await hung.close(true);
  });

  it('a worker that claims again a job whose lease it lost aborts the earlier run at once', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    // Its leases are never renewed, so nothing but the new claim can tell the first run.
    const starts: AbortSignal[] = [];
    const w = track(
      new Worker(
        'q',
        async (_j, _t, signal) => {
          starts.push(signal!);
          if (starts.length === 1) await new Promise((resolve) => signal!.addEventListener('abort', resolve, { once: true }));
          return 'done';
        },
        { spool, concurrency: 2, skipLockRenewal: true, skipStalledCheck: true, lockDuration: 150, maxStalledCount: 5 },
      ),
    );
    const lost: string[][] = [];
    w.on('lockRenewalFailed', (ids: string[]) => lost.push(ids));
    w.on('error', () => undefined);
    const job = await q.add('x', {});
    await waitFor(() => starts.length === 1, 3000);
    // Another worker's stalled check takes the job back once the lease has run out; the same
    // worker, with a slot free, claims it again.
    const checker = track(new Worker('q', undefined, { spool, autorun: false, stalledInterval: 50, lockDuration: 150 }));
    await checker.startStalledCheckTimer();
    await waitFor(() => starts.length === 2, 5000);
    expect(starts[0]!.aborted).toBe(true);
    expect(lost).toEqual([[job.id]]);
    await waitFor(async () => (await q.getJobState(job.id!)) === 'completed', 5000);
  });

  it('with maxStalledCount 0 the first stall fails the job with BullMQ\'s reason', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const hung = new Worker('q', async () => new Promise(() => undefined), { spool, skipLockRenewal: true, skipStalledCheck: true, lockDuration: 100 });
    hung.on('error', () => undefined);
    const job = await q.add('x', {}, { attempts: 5 });
    await waitFor(() => activeFiles(spool).length === 1, 3000);
    await hung.pause(true);
    let ran = false;
    const rescuer = track(
      new Worker(
        'q',
        async () => {
          ran = true;
        },
        { spool, stalledInterval: 50, lockDuration: 100, maxStalledCount: 0 },
      ),
    );
    rescuer.on('error', () => undefined);
    await waitFor(async () => (await q.getJobState(job.id!)) === 'failed', 5000);
    expect(ran).toBe(false);
    expect((await q.getJob(job.id!))!.failedReason).toBe('job stalled more than allowable limit');
    await hung.close();
  });

  it('close(true) aborts running jobs and puts them back at once without counting the attempt', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    let signal: AbortSignal | undefined;
    const w = new Worker(
      'q',
      async (_j, _t, s) => {
        signal = s;
        await new Promise(() => undefined);
      },
      { spool },
    );
    const job = await q.add('x', {}, { attempts: 1 });
    await waitFor(() => signal !== undefined, 3000);
    await w.close(true);
    expect(signal!.aborted).toBe(true);
    expect(await q.getJobState(job.id!)).toBe('waiting');
    const again = (await q.getJob(job.id!))!;
    expect(again.attemptsMade).toBe(0);
    expect(again.stalledCounter).toBe(0);
  });

  it('close(true) escalates a graceful close that is waiting on a hung job', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    let signal: AbortSignal | undefined;
    const w = new Worker(
      'q',
      async (_j, _t, s) => {
        signal = s;
        await new Promise(() => undefined);
      },
      { spool },
    );
    const job = await q.add('x', {}, { attempts: 1 });
    await waitFor(() => signal !== undefined, 3000);
    let gracefulDone = false;
    const graceful = w.close().then(() => {
      gracefulDone = true;
    });
    await sleep(300);
    expect(gracefulDone).toBe(false);
    await w.close(true);
    await graceful;
    expect(signal!.aborted).toBe(true);
    expect(await q.getJobState(job.id!)).toBe('waiting');
    expect((await q.getJob(job.id!))!.attemptsMade).toBe(0);
  });

  it('close() waits for running jobs to finish', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    let started = false;
    const w = new Worker(
      'q',
      async () => {
        started = true;
        await sleep(150);
        return 'finished';
      },
      { spool },
    );
    const job = await q.add('x', {});
    await waitFor(() => started, 3000);
    await w.close();
    expect(await q.getJobState(job.id!)).toBe('completed');
    expect(fs.readdirSync(path.join(spool, 'workers'))).toEqual([]);
  });
});

describe('corrupt job files', () => {
  it('quarantines an unparseable file as a failed job with the reason, and keeps going', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const good1 = await q.add('x', 1);
    // Write garbage where a waiting job would be.
    const waitingDir = path.join(spool, 'queues', 'q', 'waiting');
    const top = fs.readdirSync(waitingDir)[0]!;
    const leaf = fs.readdirSync(path.join(waitingDir, top))[0]!;
    const first = fs.readdirSync(path.join(waitingDir, top, leaf))[0]!;
    const key = first.slice(0, first.indexOf('.'));
    fs.writeFileSync(path.join(waitingDir, top, leaf, `${key.slice(0, 13)}-zzzzzzzz-zzzz.broken-1.json`), '{ not json');
    const good2 = await q.add('x', 2);
    const done: string[] = [];
    const errors: Error[] = [];
    const w = track(new Worker('q', async (j) => void done.push(j.id!), { spool }));
    w.on('error', (e: Error) => errors.push(e));
    await waitFor(() => done.length === 2, 5000);
    expect(done.sort()).toEqual([good1.id, good2.id].sort());
    await waitFor(async () => (await q.getJobState('broken-1')) === 'failed', 3000);
    const bad = (await q.getJob('broken-1'))!;
    expect(bad.failedReason).toMatch(/corrupt job file .*not valid JSON/);
    expect(errors.some((e) => /quarantined/.test(e.message))).toBe(true);
    expect(fs.readdirSync(path.join(spool, 'queues', 'q', 'corrupt'))).toHaveLength(1);
  });
});
