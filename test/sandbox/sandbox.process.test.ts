import { afterEach, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSandboxedProcessor, type SandboxedProcessor, type SandboxHostJob } from '../../src/sandbox/index.js';
import { isDelayedError, isUnrecoverableError, UnrecoverableError } from '../../src/errors.js';
import { FlowProducer, Queue, Worker } from '../../src/index.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';
import { exited, startFixture } from '../fixtures/core/procs.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../fixtures/runtime/sandbox/${name}`, import.meta.url));

/** A host-side job that records what the sandbox did to it. */
function hostJob(data: Record<string, unknown> = {}): SandboxHostJob & { calls: string[]; progress: unknown; logs: string[]; delayedUntil?: number } {
  const job = {
    id: '1',
    name: 'demo',
    data,
    attemptsMade: 0,
    token: 'tok-1',
    progress: 0 as unknown,
    logs: [] as string[],
    calls: [] as string[],
    delayedUntil: undefined as number | undefined,
    async getChildrenValues() {
      return { 'bull:kids:1': 42 };
    },
    async updateProgress(value: unknown) {
      await new Promise((r) => setTimeout(r, 20));
      job.calls.push(`progress:${JSON.stringify(value)}`);
      job.progress = value;
    },
    async log(row: string) {
      job.logs.push(row);
      return job.logs.length;
    },
    async updateData(next: unknown) {
      job.calls.push('updateData');
      job.data = next as Record<string, unknown>;
    },
    async moveToDelayed(timestamp: number) {
      job.delayedUntil = timestamp;
    },
  };
  return job;
}

const open: SandboxedProcessor[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.close()));
});
function sandbox(file: string, opts: Parameters<typeof createSandboxedProcessor>[1] = {}): SandboxedProcessor {
  const p = createSandboxedProcessor(fixture(file), opts);
  open.push(p);
  return p;
}

for (const useWorkerThreads of [false, true]) {
  describe(useWorkerThreads ? 'in worker threads' : 'in child processes', () => {
    it('proxies progress, log and updateData to the real job and returns the result', async () => {
      const p = sandbox('progress.mjs', { useWorkerThreads });
      const job = hostJob({ n: 1 });
      const result = (await p(job, 'tok-1', new AbortController().signal)) as Record<string, unknown>;
      expect(result.data).toEqual({ n: 1, touched: true });
      expect(result.token).toBe('tok-1');
      expect(result.hasSignal).toBe(true);
      expect(job.logs).toEqual(['working on demo']);
      expect(job.data).toEqual({ n: 1, touched: true });
      // The un-awaited last progress call was applied before the outcome was reported.
      expect(job.calls).toEqual(['progress:50', 'updateData', 'progress:100']);
      if (useWorkerThreads) expect(result.pid).toBe(process.pid);
      else expect(result.pid).not.toBe(process.pid);
    });

    it('re-creates errors with their name so UnrecoverableError and DelayedError classify', async () => {
      const p = sandbox('throws.mjs', { useWorkerThreads });
      const unrecoverable = await p(hostJob({ kind: 'unrecoverable' })).catch((e: unknown) => e);
      expect(isUnrecoverableError(unrecoverable)).toBe(true);
      expect(unrecoverable).toBeInstanceOf(UnrecoverableError);
      expect((unrecoverable as Error).message).toBe('cannot ever work');

      const delayedJob = hostJob({ kind: 'delayed' });
      const delayed = await p(delayedJob).catch((e: unknown) => e);
      expect(isDelayedError(delayed)).toBe(true);
      expect(delayedJob.delayedUntil).toBeGreaterThan(Date.now());

      const plain = (await p(hostJob({ kind: 'plain' })).catch((e: unknown) => e)) as Error & { code?: string };
      expect(plain.name).toBe('TypeError');
      expect(plain.code).toBe('E_FIXTURE');
      expect(plain.stack).toContain('throws.mjs');
    });

    it('carries what an in-process run would: a non-Error value, extra error properties, a flow method answered by the worker\'s job', async () => {
      const p = sandbox('throws.mjs', { useWorkerThreads });
      const object = (await p(hostJob({ kind: 'object' })).catch((e: unknown) => e)) as Error;
      expect(object.message).toBe('Non-error thrown: {"a":1}');
      const extra = (await p(hostJob({ kind: 'extra' })).catch((e: unknown) => e)) as Error & { extra?: unknown; retryable?: unknown };
      expect([extra.message, extra.extra, extra.retryable]).toEqual(['with extras', { a: 1 }, false]);
      const flow = (await p(hostJob({ kind: 'flow' })).catch((e: unknown) => e)) as Error;
      expect(flow.message).toBe('children {"bull:kids:1":42}');
    });

    it('fails the running job with the error a child throws outside its await', async () => {
      const p = sandbox('throws.mjs', { useWorkerThreads });
      const err = (await p(hostJob({ kind: 'async-crash' })).catch((e: unknown) => e)) as Error;
      expect(err.message).toMatch(/async crash/);
      // The crashed child is gone; the next job gets a new one.
      await expect(p(hostJob({ kind: 'plain' }))).rejects.toThrow('plain failure');
    });

    it('under a Worker, moveToWait with WaitingError puts the job back and it runs again, its start counted', async () => {
      const spool = tmpSpool();
      const q = track(new Queue('q', { spool }));
      const results: unknown[] = [];
      const w = track(new Worker('q', fixture('move-to-wait.mjs'), { spool, useWorkerThreads, pollIntervalMs: 20 }));
      w.on('completed', (_job: unknown, value: unknown) => results.push(value));
      w.on('failed', (_job: unknown, err: Error) => results.push(`failed: ${err.message}`));
      const job = await q.add('m', {});
      await waitFor(() => results.length > 0, 15_000);
      expect(results).toEqual([{ attemptsStarted: 2, attemptsMade: 0 }]);
      expect((await q.getJob(job.id!))!.attemptsMade).toBe(1);
    });

    it('under a Worker, a sandboxed parent waits for its children and reads their values through the worker', async () => {
      const spool = tmpSpool();
      const flows = track(new FlowProducer({ spool }));
      const kids = track(new Queue('kids', { spool }));
      const results: unknown[] = [];
      track(new Worker('kids', fixture('flow-parent.mjs'), { spool, useWorkerThreads, pollIntervalMs: 20 }));
      const pw = track(new Worker('parents', fixture('flow-parent.mjs'), { spool, useWorkerThreads, pollIntervalMs: 20 }));
      pw.on('completed', (job: { name: string }, value: unknown) => results.push([job.name, value]));
      pw.on('failed', (_job: unknown, err: Error) => results.push(`failed: ${err.message}`));
      const tree = await flows.add({ name: 'tree', queueName: 'parents', children: [{ name: 'kid', queueName: 'kids', data: { v: 7 }, opts: { jobId: 'k7' } }] });
      await waitFor(() => results.length > 0, 15_000);
      expect(results).toEqual([['tree', { values: { 'bull:kids:k7': 7 }, unprocessed: 0, count: { processed: 1, unprocessed: 0, failed: 0, ignored: 0 } }]]);
      // A parent that adds no children itself but is given one while it waits, then moves to wait for it.
      const parents = track(new Queue('parents', { spool }));
      await pw.pause();
      const waiter = await parents.add('waiter', { wait: true });
      await kids.add('kid', { v: 5 }, { jobId: 'k5', delay: 1500, parent: { id: waiter.id!, queue: 'bull:parents' } });
      pw.resume();
      await waitFor(() => results.length > 1, 15_000);
      expect(results[1]).toEqual(['waiter', { values: { 'bull:kids:k5': 5 }, unprocessed: 0, count: { processed: 1, unprocessed: 0, failed: 0, ignored: 0 } }]);
      expect((await parents.getJob(waiter.id!))!.attemptsStarted).toBe(2);
      expect(await tree.job.getState()).toBe('completed');
    });

    it('forwards abort to the processor signal', async () => {
      const p = sandbox('cooperative.mjs', { useWorkerThreads });
      const controller = new AbortController();
      const running = p(hostJob(), undefined, controller.signal).catch((e: unknown) => e);
      setTimeout(() => controller.abort(new Error('time limit reached')), 100);
      const err = (await running) as Error;
      expect(err.message).toBe('time limit reached');
      expect(p.stats().killed).toBe(0);
    });

    it('kills a child that ignores abort once the grace has passed', async () => {
      const p = sandbox('hangs.mjs', { useWorkerThreads, killGraceMs: 300 });
      const controller = new AbortController();
      const job = hostJob();
      const running = p(job, undefined, controller.signal).catch((e: unknown) => e);
      // Wait until the child is inside the processor (it logs first).
      for (let i = 0; i < 100 && job.logs.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(job.logs).toEqual(['about to hang']);
      controller.abort(new Error('time limit reached'));
      const err = (await running) as Error;
      expect(err.message).toMatch(/did not stop within 300 ms.*time limit reached.*killed/);
      expect(p.stats().killed).toBe(1);
      expect(p.stats().children).toBe(0);
    });

    it("close() fires a running processor's signal and lets it stop before its child ends", async () => {
      const p = sandbox('waits-for-abort.mjs', { useWorkerThreads, killGraceMs: 5000 });
      const job = hostJob();
      const running = p(job).catch((e: unknown) => e);
      for (let i = 0; i < 100 && job.logs.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(job.logs).toEqual(['waiting for abort']);
      await p.close();
      expect(((await running) as Error).message).toMatch(/^aborted: .*closed/);
      expect(p.stats()).toMatchObject({ children: 0, killed: 0 });
    });

    it('close() kills a running child that ignores its signal once killGraceMs has passed', async () => {
      const p = sandbox('hangs.mjs', { useWorkerThreads, killGraceMs: 300 });
      const job = hostJob();
      const running = p(job).catch((e: unknown) => e);
      for (let i = 0; i < 100 && job.logs.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      await p.close();
      expect(((await running) as Error).message).toMatch(/did not stop within 300 ms/);
      expect(p.stats()).toMatchObject({ children: 0, killed: 1 });
    });

    it('close({ killGraceMs }) shortens the grace of a job already aborted with a longer one', async () => {
      const p = sandbox('hangs.mjs', { useWorkerThreads, killGraceMs: 20_000 });
      const job = hostJob();
      const ac = new AbortController();
      const running = p(job, undefined, ac.signal).catch((e: unknown) => e);
      for (let i = 0; i < 100 && job.logs.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      ac.abort(new Error('lease lost'));
      const closing = p.close({ killGraceMs: 200 });
      const err = (await Promise.race([running, new Promise((r) => setTimeout(() => r('still running after 5 s'), 5000))])) as Error | string;
      expect(typeof err === 'string' ? err : err.message).toMatch(/did not stop within 2\d\d ms after its job was aborted \(lease lost\)/);
      await closing;
      expect(p.stats()).toMatchObject({ children: 0, killed: 1 });
    });

    it('under a Worker, close(true) fires the running processor\'s signal before its child ends, and hands the job back once it has', async () => {
      const spool = tmpSpool();
      const marks = path.join(spool, 'marks.txt');
      const q = track(new Queue('q', { spool }));
      const job = await q.add('j', { marks, cleanupMs: 300 });
      const w = new Worker('q', fixture('waits-for-abort.mjs'), { spool, useWorkerThreads });
      await waitFor(async () => (await q.getJobLogs(job.id!)).logs.length === 1, 10_000, 'the job to start');
      const closing = w.close(true);
      // The processor takes 300 ms to stop: until then its job is not given to anyone else.
      await new Promise((r) => setTimeout(r, 100));
      expect(await q.getJobState(job.id!)).toBe('active');
      await closing;
      expect(fs.readFileSync(marks, 'utf8')).toMatch(/^aborted: .*closed with force/);
      expect(await q.getJobState(job.id!)).toBe('waiting');
    });

    it('close(true) keeps the lease of a job whose processor takes longer to stop than lockDuration: no other worker takes it meanwhile', async () => {
      const spool = tmpSpool();
      const marks = path.join(spool, 'marks.txt');
      const q = track(new Queue('q', { spool }));
      const job = await q.add('j', { marks, cleanupMs: 2500 });
      const a = new Worker('q', fixture('waits-for-abort.mjs'), { spool, useWorkerThreads, lockDuration: 1000 });
      await waitFor(async () => (await q.getJobLogs(job.id!)).logs.length === 1, 10_000, 'the job to start');
      const startedByB: number[] = [];
      const b = track(new Worker('q', async () => void startedByB.push(Date.now()), { spool, lockDuration: 1000, stalledInterval: 200 }));
      await a.close(true);
      const closedAt = Date.now();
      expect(fs.readFileSync(marks, 'utf8')).toMatch(/^aborted: /);
      await waitFor(() => startedByB.length > 0, 10_000, 'the other worker to run the job');
      expect(startedByB[0]).toBeGreaterThanOrEqual(closedAt);
      await b.close();
    });

    it('fails the job with a clear reason when the child exits under it', async () => {
      const p = sandbox('crash.mjs', { useWorkerThreads });
      const err = (await p(hostJob()).catch((e: unknown) => e)) as Error;
      expect(err.message).toMatch(/exited while running job 1 \(code 3\)/);
    });

    it('rejects every job with a message naming the fix when the file exports no function', async () => {
      const p = sandbox('bad-export.mjs', { useWorkerThreads });
      const err = (await p(hostJob()).catch((e: unknown) => e)) as Error;
      expect(err.message).toMatch(/must export a function.*exports number/);
    });
  });
}

describe('pooling and recycling', () => {
  it('reuses one warm child for sequential jobs and loads CommonJS processors', async () => {
    const p = sandbox('commonjs.cjs');
    const a = (await p(hostJob({ n: 2 }))) as { doubled: number; pid: number };
    const b = (await p(hostJob({ n: 3 }))) as { doubled: number; pid: number };
    expect([a.doubled, b.doubled]).toEqual([4, 6]);
    expect(a.pid).toBe(b.pid);
    expect(p.stats().started).toBe(1);
  });

  it('runs concurrent jobs in separate children', async () => {
    const p = sandbox('commonjs.cjs');
    const results = (await Promise.all([1, 2, 3].map((n) => p(hostJob({ n }))))) as { pid: number }[];
    expect(new Set(results.map((r) => r.pid)).size).toBe(3);
  });

  it('retires a child after maxJobsPerChild jobs', async () => {
    const p = sandbox('commonjs.cjs', { maxJobsPerChild: 2 });
    const pids: number[] = [];
    for (let n = 0; n < 5; n++) pids.push(((await p(hostJob({ n }))) as { pid: number }).pid);
    expect(pids[0]).toBe(pids[1]);
    expect(pids[2]).not.toBe(pids[1]);
    expect(pids[2]).toBe(pids[3]);
    expect(pids[4]).not.toBe(pids[3]);
    expect(p.stats().recycled).toBe(2);
  });

  it('retires a child whose memory grew past maxMemoryMb', async () => {
    const p = sandbox('memory.mjs', { maxMemoryMb: 150 });
    const first = (await p(hostJob({ mb: 10 }))) as { pid: number };
    const second = (await p(hostJob({ mb: 200 }))) as { pid: number };
    const third = (await p(hostJob({ mb: 1 }))) as { pid: number };
    expect(second.pid).toBe(first.pid);
    expect(third.pid).not.toBe(second.pid);
    expect(p.stats().recycled).toBe(1);
  });

  it('a Worker or sandbox given a processor file that does not exist refuses at once, with BullMQ\'s words', () => {
    expect(() => createSandboxedProcessor(fixture('missing.mjs'))).toThrow(/^File .*missing\.mjs does not exist/);
    const spool = tmpSpool();
    expect(() => new Worker('q', fixture('missing.mjs'), { spool, autorun: false })).toThrow(/^File .*missing\.mjs does not exist/);
    expect(() => new Worker('q', new URL('file:///nowhere/p.mjs'), { spool, autorun: false })).toThrow(/^URL file:\/\/\/nowhere\/p\.mjs does not exist in the local file system/);
  });

  it('inline mode runs a processor file too', async () => {
    const spool = tmpSpool();
    track(new Worker('inl', fixture('commonjs.cjs'), { spool, inline: true }));
    const q = track(new Queue('inl', { spool, inline: true }));
    const job = await q.add('x', { n: 2 });
    expect(await job.getState()).toBe('completed');
    expect(job.failedReason).toBeUndefined();
  });

  for (const threads of [false, true]) {
    it(`loses none of what a child wrote when it is retired after its job or closed (${threads ? 'threads' : 'processes'})`, async () => {
      const host = await startFixture('sandbox-output.ts', { PROCESSOR: fixture('writes-output.mjs'), THREADS: threads ? '1' : '0', JOBS: '3' });
      let stderr = '';
      host.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      expect(await exited(host, 30_000)).toBe(0);
      expect(stderr.match(/LAST-LINE/g)).toHaveLength(3);
      expect(stderr.match(/^job \d+ line \d+ /gm)).toHaveLength(600);
    });
  }

  it('close() stops every child and later calls reject', async () => {
    const p = sandbox('commonjs.cjs');
    await p(hostJob({ n: 1 }));
    expect(p.stats().children).toBe(1);
    await p.close();
    expect(p.stats().children).toBe(0);
    await expect(p(hostJob({ n: 1 }))).rejects.toThrow(/closed/);
  });
});
