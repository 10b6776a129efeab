import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FlowProducer, Queue, Worker, type FlowJob } from '../src/index.js';
import { openQueueStore } from '../src/spool/open.js';
import { reclaimStalled } from '../src/spool/reclaim.js';
import { sleep, tmpSpool, track, tmpFiles, waitFor } from './fixtures/core/helpers.js';
import { exited, startFixture } from './fixtures/core/procs.js';
import { flowOf } from './fixtures/core/flow-adder.js';

/** Every job of a flow: queue and id, depth first. */
function jobsOf(flow: FlowJob): { queue: string; id: string }[] {
  return [{ queue: flow.queueName, id: flow.opts!.jobId! }, ...(flow.children ?? []).flatMap((c) => jobsOf(c as FlowJob))];
}

describe('a producer SIGKILLed in the middle of FlowProducer.add', () => {
  it('leaves each flow whole or absent once its process is known gone, across every queue of the flow', async () => {
    // Each round kills a producer of 71-job flows (three queues) at a random moment; rounds go on
    // (at most 10) until a kill landed while a flow's files were in tmp/ with their id names.
    let inWindow = 0;
    let rounds = 0;
    for (; rounds < 10 && inWindow === 0; rounds++) {
      const spool = path.join(tmpSpool(), 'spool');
      const resolvedFile = path.join(spool, '..', 'resolved');
      fs.writeFileSync(resolvedFile, '');
      const child = await startFixture('flow-adder.ts', { SPOOL: spool, RESOLVED: resolvedFile });
      await sleep(150 + Math.floor(Math.random() * 250));
      child.kill('SIGKILL');
      expect(await exited(child)).toBe('SIGKILL');
      const tmpDir = path.join(spool, 'queues', 'parents');
      if (tmpFiles(tmpDir).some((f) => !/\.(open|commit|undo)$/.test(f) && fs.statSync(f).nlink >= 2)) inWindow++;
      const resolved = fs.readFileSync(resolvedFile, 'utf8').split('\n').filter(Boolean).map(Number);

      // The root queue's stalled check settles the dead producer's flow at once (its pid is gone).
      reclaimStalled(openQueueStore('parents', { spool }), { nowMs: Date.now(), lockDurationMs: 30_000, maxStalledCount: 1 });
      expect(tmpFiles(tmpDir).filter((f) => !path.basename(f).startsWith('o-'))).toEqual([]);
      expect(orphanIdNames(spool)).toEqual([]);

      const queues = new Map(['parents', 'kids-a', 'kids-b'].map((q) => [q, track(new Queue(q, { spool }))]));
      const last = (resolved.at(-1) ?? -1) + 2;
      for (let n = 0; n <= last; n++) {
        const jobs = jobsOf(flowOf(n));
        const states = await Promise.all(jobs.map((j) => queues.get(j.queue)!.getJobState(j.id)));
        const present = states.filter((s) => s !== 'unknown').length;
        expect([0, jobs.length], `flow ${n}: ${present} of ${jobs.length} jobs`).toContain(present);
        if (resolved.includes(n)) expect(present, `flow ${n} resolved`).toBe(jobs.length);
        if (present === 0) continue;
        // A whole flow waits as added: parents for their children, leaves to run.
        expect(states[0]).toBe('waiting-children');
        const root = (await queues.get('parents')!.getJob(`f${n}`))!;
        expect((await root.getDependencies()).unprocessed).toHaveLength(40);
      }
    }
    expect(inWindow, `no kill landed inside a flow's write in ${rounds} rounds`).toBeGreaterThan(0);
  }, 120_000);

  it('killed right after the commit, its flow is published whole into every queue by the stalled check', async () => {
    const spool = path.join(tmpSpool(), 'spool');
    const resolvedFile = path.join(spool, '..', 'resolved');
    fs.writeFileSync(resolvedFile, '');
    const child = await startFixture('flow-adder.ts', { SPOOL: spool, RESOLVED: resolvedFile, KILL_AT: 'commit' });
    expect(await exited(child)).toBe('SIGKILL');
    const tmpDir = path.join(spool, 'queues', 'parents');
    expect(tmpFiles(tmpDir).filter((f) => f.endsWith('.commit'))).toHaveLength(1);
    reclaimStalled(openQueueStore('parents', { spool }), { nowMs: Date.now(), lockDurationMs: 30_000, maxStalledCount: 1 });
    expect(tmpFiles(tmpDir).filter((f) => !path.basename(f).startsWith('o-'))).toEqual([]);
    const queues = new Map(['parents', 'kids-a', 'kids-b'].map((q) => [q, track(new Queue(q, { spool }))]));
    const jobs = jobsOf(flowOf(0));
    const states = await Promise.all(jobs.map((j) => queues.get(j.queue)!.getJobState(j.id)));
    expect(states.filter((s) => s === 'unknown')).toEqual([]);
    expect(await queues.get('kids-a')!.getJobCounts('waiting', 'waiting-children')).toEqual({ waiting: 10, 'waiting-children': 10 });
    expect(await queues.get('kids-b')!.getJobCounts('waiting', 'waiting-children')).toEqual({ waiting: 20, 'waiting-children': 0 });
    expect(await queues.get('parents')!.getJobCounts('waiting', 'waiting-children')).toEqual({ waiting: 30, 'waiting-children': 1 });
    expect(orphanIdNames(spool)).toEqual([]);
  });
});

/** Id index entries with no other name (a job's file lost, or an add not undone), in any queue. */
function orphanIdNames(spool: string): string[] {
  const out: string[] = [];
  for (const q of fs.readdirSync(path.join(spool, 'queues'))) {
    const ids = path.join(spool, 'queues', q, 'ids');
    if (!fs.existsSync(ids)) continue;
    for (const shard of fs.readdirSync(ids)) for (const id of fs.readdirSync(path.join(ids, shard))) if (fs.statSync(path.join(ids, shard, id)).nlink < 2) out.push(`${q}/${id}`);
  }
  return out;
}

describe('a worker SIGKILLed between finishing a child and telling its parent', () => {
  it('leaves the parent waiting until the stalled check of its queue finds the child done and moves it on', async () => {
    const spool = tmpSpool();
    const flows = track(new FlowProducer({ spool }));
    const tree = await flows.add({ name: 'root', queueName: 'parents', children: [{ name: 'kid', queueName: 'kids' }] });
    const child = await startFixture('killed-before-parent.ts', { SPOOL: spool });
    expect(await exited(child)).toBe('SIGKILL');
    expect(await tree.children![0]!.job.getState()).toBe('completed');
    expect(await tree.job.getState()).toBe('waiting-children');
    const done: unknown[] = [];
    const w = track(new Worker('parents', async (job) => job.getChildrenValues(), { spool, stalledInterval: 200, pollIntervalMs: 50 }));
    w.on('completed', (_job: unknown, v: unknown) => done.push(v));
    await waitFor(() => done.length === 1, 10_000, 'the parent ran');
    expect(done).toEqual([{ [`bull:kids:${tree.children![0]!.job.id}`]: 'kid-value' }]);
  });
});

describe('a flow added again after its producer was SIGKILLed before the commit', () => {
  it('is added whole: the dead producer\'s files are settled first, not taken for existing jobs', async () => {
    const spool = path.join(tmpSpool(), 'spool');
    const resolvedFile = path.join(spool, '..', 'resolved');
    fs.writeFileSync(resolvedFile, '');
    const child = await startFixture('flow-adder.ts', { SPOOL: spool, RESOLVED: resolvedFile, KILL_AT: 'before-commit' });
    expect(await exited(child)).toBe('SIGKILL');
    const tmpDir = path.join(spool, 'queues', 'parents');
    expect(tmpFiles(tmpDir).filter((f) => f.endsWith('.open'))).toHaveLength(1);
    // The app adds the same flow again, as after any crash of its producer.
    const flows = track(new FlowProducer({ spool }));
    const tree = await flows.add(flowOf(0));
    expect(tree.job.id).toBe('f0');
    // A stalled check after that finds nothing of the dead producer's left to undo the new flow's jobs.
    reclaimStalled(openQueueStore('parents', { spool }), { nowMs: Date.now(), lockDurationMs: 30_000, maxStalledCount: 1 });
    const queues = new Map(['parents', 'kids-a', 'kids-b'].map((q) => [q, track(new Queue(q, { spool }))]));
    const jobs = jobsOf(flowOf(0));
    const states = await Promise.all(jobs.map((j) => queues.get(j.queue)!.getJobState(j.id)));
    expect(states.filter((s) => s === 'unknown')).toEqual([]);
    expect(states[0]).toBe('waiting-children');
    expect((await (await queues.get('parents')!.getJob('f0'))!.getDependencies()).unprocessed).toHaveLength(40);
  });
});

describe('a producer SIGKILLed between publishing a flow and linking an existing child to it', () => {
  it('has the stalled check of the parent\'s queue link it, and the parent runs with its value', async () => {
    const spool = tmpSpool();
    const kids = track(new Queue('kids', { spool }));
    await kids.add('leaf', {}, { jobId: 'loose' });
    const kw = track(new Worker('kids', async (job) => `${job.id} value`, { spool, pollIntervalMs: 50 }));
    await waitFor(async () => (await kids.getJobState('loose')) === 'completed', 10_000, 'loose completed');
    const child = await startFixture('flow-dup-adder.ts', { SPOOL: spool });
    expect(await exited(child)).toBe('SIGKILL');
    const parents = track(new Queue('parents', { spool }));
    expect(await parents.getJobState('summary')).toBe('waiting-children');
    await waitFor(async () => (await kids.getJobState('fresh')) === 'completed', 10_000, 'fresh completed');
    // The new child finished; the existing one was never linked, so the parent still waits.
    expect(await parents.getJobState('summary')).toBe('waiting-children');
    const done: unknown[] = [];
    const pw = track(new Worker('parents', async (job) => job.getChildrenValues(), { spool, stalledInterval: 200, pollIntervalMs: 50 }));
    pw.on('completed', (_job: unknown, v: unknown) => done.push(v));
    await waitFor(() => done.length === 1, 10_000, 'the parent ran');
    expect(done).toEqual([{ 'bull:kids:loose': 'loose value', 'bull:kids:fresh': 'fresh value' }]);
    await kw.close();
  });
});

describe('worker processes SIGKILLed while flows run', () => {
  it('runs every parent after all its children, once their values are in, whatever is killed when', async () => {
    const spool = tmpSpool();
    const runs = path.join(spool, '..', `runs-${process.pid}`);
    fs.writeFileSync(runs, '');
    const flows = track(new FlowProducer({ spool }));
    const FLOWS = 20;
    for (let n = 0; n < FLOWS; n++) {
      await flows.add({
        name: 'root',
        queueName: 'parents',
        opts: { jobId: `r${n}` },
        children: [
          { name: 'mid', queueName: 'parents', opts: { jobId: `r${n}-mid` }, children: [1, 2].map((v) => ({ name: 'leaf', queueName: 'kids', data: { v } })) },
          ...[1, 2, 3, 4, 5, 6, 7].map((v) => ({ name: 'leaf', queueName: 'kids', data: { v } })),
        ],
      });
    }
    const env = { SPOOL: spool, RUNS: runs, LOCK_MS: '1000', STALLED_MS: '300' };
    const workers: ChildProcess[] = [await startFixture('flow-worker.ts', env), await startFixture('flow-worker.ts', env)];
    const parents = track(new Queue('parents', { spool }));
    let kills = 0;
    for (; kills < 12; kills++) {
      await sleep(100 + Math.floor(Math.random() * 300));
      const victim = workers.splice(Math.floor(Math.random() * workers.length), 1)[0]!;
      victim.kill('SIGKILL');
      await exited(victim);
      workers.push(await startFixture('flow-worker.ts', env));
    }
    await waitFor(async () => (await parents.getJobCounts('completed')).completed === FLOWS * 2, 90_000, 'every parent completed');
    for (const w of workers) w.kill('SIGTERM');
    for (const w of workers) await exited(w);
    const lines = fs.readFileSync(runs, 'utf8').split('\n').filter(Boolean);
    expect(lines.filter((l) => l.startsWith('early'))).toEqual([]);
    for (let n = 0; n < FLOWS; n++) {
      const mid = (await parents.getJob(`r${n}-mid`))!;
      expect(mid.returnvalue, `r${n}-mid`).toEqual({ sum: 3, count: 2 });
      const root = (await parents.getJob(`r${n}`))!;
      const values = (await root.getChildrenValues()) as Record<string, unknown>;
      expect(Object.keys(values), `r${n}`).toHaveLength(8);
      expect(values[`bull:parents:r${n}-mid`]).toEqual({ sum: 3, count: 2 });
      expect(root.returnvalue, `r${n}`).toEqual({ sum: 31, count: 8 });
      // The root started only after each of its children had ended.
      const start = lines.findIndex((l) => l.startsWith(`start parents r${n} `));
      for (const key of Object.keys(values)) {
        const [, queue, id] = key.split(':');
        const end = lines.findIndex((l) => l.startsWith(`end ${queue} ${id} `));
        expect(end, `${key} ended before r${n} started`).toBeGreaterThanOrEqual(0);
        expect(end, `${key} ended before r${n} started`).toBeLessThan(start);
      }
    }
  }, 180_000);
});
