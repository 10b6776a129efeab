import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FlowProducer, Queue, QueueEvents, Worker, type Job, type Processor } from '../src/index.js';
import { envSpool, sleep, tmpSpool, track, waitFor } from './fixtures/core/helpers.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function setup() {
  const spool = tmpSpool();
  const flows = track(new FlowProducer({ spool }));
  const parents = track(new Queue('parents', { spool }));
  const kids = track(new Queue('kids', { spool }));
  const worker = (queue: string, fn: Processor, opts: Record<string, unknown> = {}) => track(new Worker(queue, fn, { spool, pollIntervalMs: 20, ...opts }));
  return { spool, flows, parents, kids, worker };
}

describe('FlowProducer', () => {
  it('adds a tree across queues: parents wait for their children, with UUID ids, BullMQ events and counts', async () => {
    const { spool, flows, parents, kids } = setup();
    const events = track(new QueueEvents('parents', { spool }));
    const seen: string[] = [];
    for (const e of ['added', 'waiting-children', 'waiting']) events.on(e, (a: { jobId: string }) => seen.push(`${e}:${a.jobId}`));
    await events.waitUntilReady();
    const tree = await flows.add({
      name: 'report',
      queueName: 'parents',
      data: { month: 11 },
      children: [
        { name: 'a', queueName: 'kids', data: { n: 1 } },
        { name: 'b', queueName: 'kids', data: { n: 2 }, opts: { jobId: 'b-fixed' }, children: [{ name: 'c', queueName: 'parents', data: { n: 3 } }] },
      ],
    });
    expect(tree.job.id).toMatch(UUID);
    expect(tree.children!.map((c) => c!.job.name)).toEqual(['a', 'b']);
    expect(tree.children![0]).not.toHaveProperty('children');
    expect(tree.children![1]!.job.id).toBe('b-fixed');
    const grandchild = tree.children![1]!.children![0]!.job;
    expect(await tree.job.getState()).toBe('waiting-children');
    expect(await tree.children![1]!.job.getState()).toBe('waiting-children');
    expect(await tree.children![0]!.job.getState()).toBe('waiting');
    expect(await grandchild.getState()).toBe('waiting');
    // As BullMQ shows a child: its parent's id and queue key, and the parent's key.
    expect(tree.children![0]!.job.parent).toEqual({ id: tree.job.id, queueKey: 'bull:parents' });
    expect(tree.children![0]!.job.parentKey).toBe(`bull:parents:${tree.job.id}`);
    expect(grandchild.parentKey).toBe('bull:kids:b-fixed');
    expect(await parents.getJobCounts('waiting', 'waiting-children')).toEqual({ waiting: 1, 'waiting-children': 1 });
    expect(await kids.getJobCounts('waiting', 'waiting-children')).toEqual({ waiting: 1, 'waiting-children': 1 });
    expect(await parents.count()).toBe(2);
    expect((await parents.getWaitingChildren()).map((j) => j.id)).toEqual([tree.job.id]);
    expect(await parents.getWaitingChildrenCount()).toBe(1);
    expect((await tree.job.getDependencies()).unprocessed!.sort()).toEqual([`bull:kids:${tree.children![0]!.job.id}`, 'bull:kids:b-fixed'].sort());
    await waitFor(() => seen.length >= 4);
    expect(seen).toEqual([`added:${tree.job.id}`, `waiting-children:${tree.job.id}`, `added:${grandchild.id}`, `waiting:${grandchild.id}`]);
  });

  it('runs children first; the parent runs once they are done and reads their return values', async () => {
    const { flows, worker } = setup();
    const order: string[] = [];
    const results: unknown[] = [];
    worker('kids', async (job) => {
      order.push(job.name);
      if (job.name === 'b') return { sum: Object.values(await job.getChildrenValues<number>()).reduce((a, b) => a + b, 0) };
      return job.data.n * 10;
    });
    const pw = worker('parents', async (job) => {
      order.push(job.name);
      if (job.name === 'c') return 30;
      return job.getChildrenValues();
    });
    pw.on('completed', (job: Job, value: unknown) => results.push([job.name, value]));
    const tree = await flows.add({
      name: 'report',
      queueName: 'parents',
      children: [
        { name: 'a', queueName: 'kids', data: { n: 1 } },
        { name: 'b', queueName: 'kids', data: {}, opts: { jobId: 'b-fixed' }, children: [{ name: 'c', queueName: 'parents', data: {} }] },
      ],
    });
    await waitFor(() => results.some((r) => (r as unknown[])[0] === 'report'), 10_000);
    expect(order.indexOf('report')).toBe(order.length - 1);
    expect(order.indexOf('c')).toBeLessThan(order.indexOf('b'));
    expect(results.find((r) => (r as unknown[])[0] === 'report')).toEqual(['report', { [`bull:kids:${tree.children![0]!.job.id}`]: 10, 'bull:kids:b-fixed': { sum: 30 } }]);
    expect(await tree.job.getState()).toBe('completed');
    expect(await tree.job.getDependenciesCount()).toEqual({ processed: 2, unprocessed: 0, failed: 0, ignored: 0 });
    // getFlow reads the tree back: processed children first, each with its own children.
    const read = (await flows.getFlow({ id: tree.job.id!, queueName: 'parents' }))!;
    expect(read.job.returnvalue).toEqual(results.find((r) => (r as unknown[])[0] === 'report')![1 as keyof typeof results[0]]);
    expect(read.children!.map((c) => c!.job.name).sort()).toEqual(['a', 'b']);
    const b = read.children!.find((c) => c!.job.name === 'b')!;
    expect(b.children!.map((c) => c!.job.name)).toEqual(['c']);
    expect((await flows.getFlow({ id: tree.job.id!, queueName: 'parents', depth: 1 }))!).not.toHaveProperty('children');
    expect((await flows.getFlow({ id: tree.job.id!, queueName: 'parents', maxChildren: 1 }))!.children).toHaveLength(1);
    expect(await flows.getFlow({ id: 'nope', queueName: 'parents' })).toBeUndefined();
  });

  it('a released parent runs before jobs that were waiting, unless it has a priority or a delay', async () => {
    const { flows, parents, kids } = setup();
    const tree = await flows.add({ name: 'p', queueName: 'parents', children: [{ name: 'k', queueName: 'kids' }] });
    const delayed = await flows.add({ name: 'pd', queueName: 'parents', opts: { delay: 60_000 }, children: [{ name: 'k', queueName: 'kids' }] });
    const prio = await flows.add({ name: 'pp', queueName: 'parents', opts: { priority: 5 }, children: [{ name: 'k', queueName: 'kids' }] });
    await parents.add('earlier', {});
    const w = track(new Worker('kids', null, { spool: kids.spoolRoot }));
    for (let i = 0; i < 3; i++) {
      const job = (await w.getNextJob('t'))!;
      await job.moveToCompleted('ok', 't', false);
    }
    expect(await tree.job.getState()).toBe('waiting');
    expect(await delayed.job.getState()).toBe('delayed');
    expect(await prio.job.getState()).toBe('prioritized');
    // The released parent is at the front: it is taken before the job added earlier.
    const pw = track(new Worker('parents', null, { spool: parents.spoolRoot }));
    expect((await pw.getNextJob('t'))!.id).toBe(tree.job.id);
  });

  it('a job whose id is taken is not added: the existing job stands in, linked to its parent in the flow (as BullMQ)', async () => {
    const { flows, parents, kids, spool } = setup();
    await kids.add('taken', { v: 1 }, { jobId: 'dup' });
    const events = track(new QueueEvents('kids', { spool }));
    const duplicated: string[] = [];
    events.on('duplicated', ({ jobId }: { jobId: string }) => duplicated.push(jobId));
    await events.waitUntilReady();
    const tree = await flows.add({ name: 'p', queueName: 'parents', children: [{ name: 'x', queueName: 'kids' }, { name: 'y', queueName: 'kids', data: { v: 2 }, opts: { jobId: 'dup' } }] });
    expect(tree.children![1]!.job.id).toBe('dup');
    const dup = (await kids.getJob('dup'))!;
    expect(dup.data).toEqual({ v: 1 });
    expect(dup.parent).toEqual({ id: tree.job.id, queueKey: 'bull:parents' });
    expect(await kids.getJobCounts('waiting')).toEqual({ waiting: 2 });
    expect((await tree.job.getDependencies()).unprocessed!.sort()).toEqual([`bull:kids:${tree.children![0]!.job.id}`, 'bull:kids:dup'].sort());
    await waitFor(() => duplicated.length === 1, 5_000, 'the duplicated event');
    expect(duplicated).toEqual(['dup']);
  });

  it('a flow added again with the same ids changes nothing, and its parent runs once with every value', async () => {
    const { flows, parents, kids, spool } = setup();
    const flow = { name: 'p', queueName: 'parents', opts: { jobId: 'r' }, children: [{ name: 'c', queueName: 'kids', opts: { jobId: 'c1' } }, { name: 'c', queueName: 'kids', opts: { jobId: 'c2' } }] };
    await flows.add(flow);
    const again = await flows.add({ ...flow, data: { again: true } });
    expect([again.job.id, ...again.children!.map((c) => c!.job.id)]).toEqual(['r', 'c1', 'c2']);
    expect(await parents.getJobCounts('waiting-children')).toEqual({ 'waiting-children': 1 });
    expect(await kids.getJobCounts('waiting')).toEqual({ waiting: 2 });
    expect((await parents.getJob('r'))!.data).toEqual({});
    const runs: string[] = [];
    track(new Worker('kids', async (job) => { runs.push(job.id!); return job.id; }, { spool }));
    const values: unknown[] = [];
    const pw = track(new Worker('parents', async (job) => { runs.push(job.id!); return job.getChildrenValues(); }, { spool }));
    pw.on('completed', (_job: unknown, v: unknown) => values.push(v));
    await waitFor(() => values.length === 1, 10_000, 'the parent ran');
    await sleep(200);
    expect(runs.sort()).toEqual(['c1', 'c2', 'r']);
    expect(values).toEqual([{ 'bull:kids:c1': 'c1', 'bull:kids:c2': 'c2' }]);
    // Once more, all of it finished: still nothing is added, and nothing runs again.
    await flows.add(flow);
    await sleep(300);
    expect(runs).toHaveLength(3);
    expect(await parents.getJobCounts('completed')).toEqual({ completed: 1 });
  });

  it('bad options or a missing parent add nothing at all', async () => {
    const { flows, parents, kids, spool } = setup();
    await expect(flows.add({ name: 'p', queueName: 'parents', opts: { deduplication: { id: 'd' } }, children: [{ name: 'x', queueName: 'kids' }] })).rejects.toThrow(
      'Deduplication options cannot be used on flow nodes with children',
    );
    await expect(flows.add({ name: 'p', queueName: 'parents', children: [{ name: 'x', queueName: 'kids', opts: { deduplication: { id: 'd' } } }] })).rejects.toThrow(
      'Deduplication and parent options cannot be used together',
    );
    await expect(
      flows.add({ name: 'p', queueName: 'parents', children: [{ name: 'x', queueName: 'kids', opts: { failParentOnFailure: true, removeDependencyOnFailure: true } }] }),
    ).rejects.toThrow('The following options cannot be used together: removeDependencyOnFailure, failParentOnFailure');
    await expect(flows.add({ name: 'p', queueName: 'parents', opts: { parent: { id: 'nope', queue: 'bull:parents' } } })).rejects.toThrow('Missing key for parent job bull:parents:nope. addJob');
    const badParent = { id: 7, queue: 'bull:parents' } as unknown as { id: string; queue: string };
    await expect(flows.add({ name: 'p', queueName: 'parents', opts: { parent: badParent } })).rejects.toMatchObject({ code: 'ERR_INVALID_JOB', message: expect.stringMatching(/^parent must be \{ id: string, queue: string \}/) });
    await expect(kids.add('k', {}, { parent: badParent })).rejects.toMatchObject({ code: 'ERR_INVALID_JOB' });
    expect(await parents.getJobCounts()).toMatchObject({ waiting: 0, 'waiting-children': 0 });
    expect(await kids.getJobCounts()).toMatchObject({ waiting: 0, 'waiting-children': 0 });
    // Nothing is left in tmp/.
    expect(fs.readdirSync(path.join(spool, 'queues', 'parents', 'tmp')).filter((n) => !n.startsWith('o-'))).toEqual([]);
  });
});

describe('child failure options', () => {
  async function failOne(opts: Record<string, unknown>, extra: { removeOnFail?: boolean } = {}) {
    const s = setup();
    const tree = await s.flows.add({
      name: 'p',
      queueName: 'parents',
      children: [
        { name: 'bad', queueName: 'kids', opts: { ...opts, ...extra } },
        { name: 'slow', queueName: 'kids', opts: { delay: 60_000 } },
      ],
    });
    const w = s.worker('kids', async (job) => {
      throw new Error(`boom ${job.name}`);
    });
    const failed: string[] = [];
    w.on('failed', (job: Job) => failed.push(job.name));
    await waitFor(() => failed.includes('bad'), 10_000);
    await w.close();
    const bad = tree.children![0]!.job;
    return { ...s, tree, bad, badKey: `bull:kids:${bad.id}`, slowKey: `bull:kids:${tree.children![1]!.job.id}` };
  }

  it('none: the parent keeps waiting, the failed child unprocessed', async () => {
    const { tree, badKey, slowKey } = await failOne({});
    expect(await tree.job.getState()).toBe('waiting-children');
    expect((await tree.job.getDependencies()).unprocessed!.sort()).toEqual([badKey, slowKey].sort());
  });

  it('failParentOnFailure: the parent is sent to run at once and fails with "child <key> failed" without running', async () => {
    const { tree, badKey, slowKey, worker } = await failOne({ failParentOnFailure: true });
    expect(await tree.job.getState()).toBe('waiting');
    expect(await tree.job.getDependencies()).toEqual({ processed: {}, unprocessed: [slowKey], failed: [badKey], ignored: {} });
    let ran = false;
    const pw = worker('parents', async () => {
      ran = true;
    });
    const failures: string[] = [];
    pw.on('failed', (_job: Job, err: Error) => failures.push(err.message));
    await waitFor(() => failures.length === 1, 10_000);
    expect(failures).toEqual([`child ${badKey} failed`]);
    expect(ran).toBe(false);
    expect(await tree.job.getState()).toBe('failed');
  });

  it('continueParentOnFailure: the parent runs at once, the failure is ignored and recorded', async () => {
    const { tree, badKey, slowKey } = await failOne({ continueParentOnFailure: true });
    expect(await tree.job.getState()).toBe('waiting');
    expect(await tree.job.getIgnoredChildrenFailures()).toEqual({ [badKey]: 'boom bad' });
    expect(await tree.job.getFailedChildrenValues()).toEqual({ [badKey]: 'boom bad' });
    expect((await tree.job.getDependencies()).unprocessed).toEqual([slowKey]);
  });

  it('ignoreDependencyOnFailure: recorded, no longer awaited; the parent still waits for the others', async () => {
    const { tree, badKey, slowKey } = await failOne({ ignoreDependencyOnFailure: true });
    expect(await tree.job.getState()).toBe('waiting-children');
    expect(await tree.job.getDependencies()).toEqual({ processed: {}, unprocessed: [slowKey], failed: [], ignored: { [badKey]: 'boom bad' } });
    expect(await tree.job.getDependenciesCount({ ignored: true, unprocessed: true })).toEqual({ unprocessed: 1, ignored: 1 });
  });

  it('removeDependencyOnFailure: dropped and not recorded; removing the last child sends the parent on', async () => {
    const { tree, slowKey, kids } = await failOne({ removeDependencyOnFailure: true });
    expect(await tree.job.getDependencies()).toEqual({ processed: {}, unprocessed: [slowKey], failed: [], ignored: {} });
    expect(await kids.remove(tree.children![1]!.job.id!)).toBe(1);
    expect(await tree.job.getState()).toBe('waiting');
  });

  it('a failed child not kept (removeOnFail: true) is no longer awaited, as BullMQ removes it', async () => {
    const { tree, slowKey } = await failOne({}, { removeOnFail: true });
    expect((await tree.job.getDependencies()).unprocessed).toEqual([slowKey]);
  });

  it('a parent with pending children fails when its processor returns (BullMQ: pending dependencies)', async () => {
    const { tree, worker } = await failOne({ continueParentOnFailure: true });
    const failures: string[] = [];
    const pw = worker('parents', async () => 'done');
    pw.on('failed', (_job: Job, err: Error) => failures.push(err.message));
    await waitFor(() => failures.length === 1, 10_000);
    expect(failures).toEqual([`Job ${tree.job.id} has pending dependencies. moveToFinished`]);
  });
});

describe('children added by a running parent (moveToWaitingChildren)', () => {
  it('the parent waits for the children it adds, then runs again and completes', async () => {
    const { parents, kids, worker } = setup();
    const steps: string[] = [];
    worker('kids', async (job) => job.data.n * 2);
    const pw = worker('parents', async (job, token) => {
      if (job.data.step === undefined) {
        await job.updateData({ step: 1 });
        await kids.addBulk([1, 2, 3].map((n) => ({ name: 'k', data: { n }, opts: { parent: { id: job.id!, queue: job.queueQualifiedName } } })));
        const moved = await job.moveToWaitingChildren(token!);
        steps.push(`moved:${moved}`);
        if (moved) throw new (await import('../src/index.js')).WaitingChildrenError();
      }
      steps.push(`again:${await job.moveToWaitingChildren(token!)}`);
      return Object.values(await job.getChildrenValues<number>()).sort();
    });
    const done: unknown[] = [];
    pw.on('completed', (_job: Job, v: unknown) => done.push(v));
    const parent = await parents.add('p', {});
    await waitFor(() => done.length === 1, 10_000);
    expect(done).toEqual([[2, 4, 6]]);
    expect(steps).toEqual(['moved:true', 'again:false']);
    expect((await parents.getJob(parent.id!))!.attemptsMade).toBe(1);
  });
});

describe('a fetched job (getNextJob) moved to wait for its children', () => {
  it('is no longer held by its Worker, and is fetched again once its children are done', async () => {
    const { parents, kids, worker } = setup();
    const w = track(new Worker('parents', null, { spool: parents.spoolRoot, heartbeatIntervalMs: 50 }));
    const added = await parents.add('p', {});
    const job = (await w.getNextJob('t'))!;
    await kids.add('k', {}, { parent: { id: job.id!, queue: job.queueQualifiedName } });
    expect(await job.moveToWaitingChildren('t')).toBe(true);
    expect(await job.extendLock('t', 1000)).toBe(0);
    await waitFor(async () => (await parents.getWorkers()).some((h) => h.running === 0), 5000, 'the heartbeat holds nothing');
    worker('kids', async () => 'kid');
    await waitFor(async () => (await parents.getJobState(added.id!)) === 'waiting', 10_000);
    const again = (await w.getNextJob('t2'))!;
    expect(again.id).toBe(added.id);
    expect(await again.getChildrenValues()).toEqual({ [`bull:kids:${(await kids.getJobs(['completed']))[0]!.id}`]: 'kid' });
    await again.moveToCompleted('done', 't2', false);
    expect(await parents.getJobState(added.id!)).toBe('completed');
  });
});

describe('removing and retrying in a flow', () => {
  it('removing a parent removes its children; removeChildren: false keeps them', async () => {
    const { flows, parents, kids } = setup();
    const a = await flows.add({ name: 'p', queueName: 'parents', children: [{ name: 'k', queueName: 'kids', children: [{ name: 'g', queueName: 'kids' }] }] });
    const b = await flows.add({ name: 'p', queueName: 'parents', children: [{ name: 'k', queueName: 'kids' }] });
    expect(await parents.remove(a.job.id!)).toBe(1);
    expect(await kids.getJob(a.children![0]!.job.id!)).toBeUndefined();
    expect(await kids.getJob(a.children![0]!.children![0]!.job.id!)).toBeUndefined();
    await b.job.remove({ removeChildren: false });
    expect(await kids.getJobState(b.children![0]!.job.id!)).toBe('waiting');
    expect(fs.existsSync(path.join(parents.queueDir, 'deps', a.job.id!))).toBe(false);
  });

  it('clean removes waiting parents added before the grace, leaving their children', async () => {
    const { flows, parents, kids } = setup();
    const tree = await flows.add({ name: 'p', queueName: 'parents', children: [{ name: 'k', queueName: 'kids' }] });
    expect(await parents.clean(60_000, 0, 'waiting-children')).toEqual([]);
    expect(await parents.clean(0, 0, 'waiting-children')).toEqual([tree.job.id]);
    expect(await parents.getJobState(tree.job.id!)).toBe('unknown');
    expect(await kids.getJobState(tree.children![0]!.job.id!)).toBe('waiting');
  });

  it('removeChildDependency and removeUnprocessedChildren let the parent go on', async () => {
    const { flows, kids } = setup();
    const one = await flows.add({ name: 'p', queueName: 'parents', children: [{ name: 'k', queueName: 'kids' }] });
    const child = (await kids.getJob(one.children![0]!.job.id!))!;
    expect(await child.removeChildDependency()).toBe(true);
    expect(child.parentKey).toBeUndefined();
    expect((await kids.getJob(child.id!))!.parent).toBeUndefined();
    expect(await one.job.getState()).toBe('waiting');
    expect(await child.removeChildDependency()).toBe(false);
    const two = await flows.add({ name: 'p', queueName: 'parents', children: [{ name: 'k1', queueName: 'kids' }, { name: 'k2', queueName: 'kids', children: [{ name: 'g', queueName: 'kids' }] }] });
    await two.job.removeUnprocessedChildren();
    expect(await kids.getJobCounts('waiting', 'waiting-children')).toEqual({ waiting: 1, 'waiting-children': 0 });
    expect(await two.job.getState()).toBe('waiting');
  });

  it('a child retried after it completed is awaited again; a child kept by nobody still counts', async () => {
    const { flows, kids } = setup();
    const tree = await flows.add({ name: 'p', queueName: 'parents', children: [{ name: 'k', queueName: 'kids', opts: { removeOnComplete: true } }, { name: 'k2', queueName: 'kids' }] });
    const w = track(new Worker('kids', null, { spool: kids.spoolRoot }));
    const first = (await w.getNextJob('t'))!;
    await first.moveToCompleted(7, 't', false);
    const second = (await w.getNextJob('t'))!;
    await second.moveToCompleted(8, 't', false);
    expect(await tree.job.getChildrenValues()).toEqual({ [`bull:kids:${first.id}`]: 7, [`bull:kids:${second.id}`]: 8 });
    expect(await kids.getJob(first.id!)).toBeUndefined();
    await (await kids.getJob(second.id!))!.retry('completed');
    expect((await tree.job.getDependencies()).unprocessed).toEqual([`bull:kids:${second.id}`]);
  });
});

describe('inline mode', () => {
  it('runs a flow in the calling process, children first, in the order a Worker takes them', async () => {
    const spool = tmpSpool();
    const order: string[] = [];
    track(new Worker('kids', async (job) => (order.push(job.name), job.name), { spool, inline: true }));
    track(new Worker('parents', async (job) => (order.push(job.name), job.getChildrenValues()), { spool, inline: true }));
    const flows = track(new FlowProducer({ spool, inline: true }));
    const tree = await flows.add({ name: 'p', queueName: 'parents', children: [{ name: 'a', queueName: 'kids' }, { name: 'b', queueName: 'kids' }] });
    expect(order).toEqual(['a', 'b', 'p']);
    const parents = track(new Queue('parents', { spool }));
    expect((await parents.getJob(tree.job.id!))!.returnvalue).toEqual({ [`bull:kids:${tree.children![0]!.job.id}`]: 'a', [`bull:kids:${tree.children![1]!.job.id}`]: 'b' });
  });

  it('does not run again the jobs of a flow added again with the same ids', async () => {
    const spool = tmpSpool();
    const order: string[] = [];
    track(new Worker('kids', async (job) => (order.push(job.name), job.name), { spool, inline: true }));
    track(new Worker('parents', async (job) => (order.push(job.name), job.getChildrenValues()), { spool, inline: true }));
    const flows = track(new FlowProducer({ spool, inline: true }));
    const flow = { name: 'p', queueName: 'parents', opts: { jobId: 'p1' }, children: [{ name: 'a', queueName: 'kids', opts: { jobId: 'a1' } }] };
    await flows.add(flow);
    await flows.add(flow);
    expect(order).toEqual(['a', 'p']);
    // Nor the jobs of one another producer added and that wait for a worker.
    await track(new FlowProducer({ spool, inline: false })).add({ ...flow, opts: { jobId: 'p2' }, children: [{ name: 'b', queueName: 'kids', opts: { jobId: 'b2' } }] });
    await flows.add({ ...flow, opts: { jobId: 'p2' }, children: [{ name: 'b', queueName: 'kids', opts: { jobId: 'b2' } }] });
    expect(order).toEqual(['a', 'p']);
  });
});

describe('null options', () => {
  it('new FlowProducer(null) reads as no options, as in BullMQ (a TypeError before)', async () => {
    const spool = envSpool();
    const producer = track(new FlowProducer(null as never));
    expect(producer.opts).toEqual({});
    const { job } = await producer.add({ name: 'p', queueName: 'q', data: {} });
    expect(fs.existsSync(path.join(spool, 'queues', 'q'))).toBe(true);
    expect(job.id).toBeDefined();
  });
});
