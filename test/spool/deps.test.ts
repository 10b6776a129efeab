import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FlowProducer, Queue, Worker } from '../../src/index.js';
import { attachChildren, childRef, depsDir, detachChildren, readEntries, settleParent, sweepParents, writeEntry } from '../../src/spool/deps.js';
import { openQueueStore } from '../../src/spool/open.js';
import { parentViewCount } from '../../src/spool/parent-view.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

function setup() {
  const spool = tmpSpool();
  const flows = track(new FlowProducer({ spool }));
  const parents = track(new Queue('parents', { spool }));
  const kids = track(new Queue('kids', { spool }));
  return { spool, flows, parents, kids, pstore: openQueueStore('parents', { spool }), kstore: openQueueStore('kids', { spool }) };
}

describe('children files under their parent', () => {
  it('a child attached again after an undone add is awaited afresh, not left as removed', async () => {
    const { parents, pstore, kstore } = setup();
    const parent = await parents.add('p', {});
    const specs = [{ opts: { parent: { id: parent.id!, queue: 'bull:parents' } } }];
    const attached = attachChildren(kstore, specs, () => 'kid-1');
    detachChildren(kstore, attached);
    expect(readEntries(pstore, parent.id!).get(childRef('kids', 'kid-1'))?.s).toBe('removed');
    attachChildren(kstore, specs, () => 'kid-1');
    expect(readEntries(pstore, parent.id!).size).toBe(0);
    expect((await parent.getDependencies()).unprocessed).toEqual(['bull:kids:kid-1']);
  });

  it('names a long child reference by its hash, and a torn file counts as no file', async () => {
    const { flows, pstore } = setup();
    const longId = `k${'x'.repeat(198)}`;
    const tree = await flows.add({ name: 'p', queueName: 'parents', children: [{ name: 'k', queueName: 'kids', opts: { jobId: longId } }, { name: 'k2', queueName: 'kids' }] });
    writeEntry(pstore, tree.job.id!, { k: childRef('kids', longId), s: 'processed', v: 1, t: 1 });
    const names = fs.readdirSync(depsDir(pstore, tree.job.id!));
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^h-[0-9a-f]{40}\.json$/);
    fs.writeFileSync(path.join(depsDir(pstore, tree.job.id!), `${childRef('kids', tree.children![1]!.job.id!)}.json`), '{"k":"kids:');
    expect([...readEntries(pstore, tree.job.id!).keys()]).toEqual([childRef('kids', longId)]);
    expect(await tree.job.getChildrenValues()).toEqual({ [`bull:kids:${longId}`]: 1 });
  });
});

describe('a flow reusing existing jobs, undone or refused', () => {
  it('refuses a job id another call is adding (not yet visible), adding nothing', async () => {
    const { flows, parents, kids, kstore } = setup();
    // Another add's file, linked into the id index and not yet published; its writer is alive.
    const tmp = kstore.writeJobTmp(`${JSON.stringify({ v: 1, id: 'busy', name: 'k', opts: {}, timestamp: Date.now() })}\n`);
    expect(kstore.linkIdEntry(tmp, 'busy')).toBe(true);
    const err = await flows.add({ name: 'p', queueName: 'parents', children: [{ name: 'k', queueName: 'kids', opts: { jobId: 'busy' } }, { name: 'k', queueName: 'kids' }] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_DUPLICATE_JOB', message: expect.stringContaining('is being added by another call') });
    expect(await parents.getJobCounts()).toMatchObject({ waiting: 0, 'waiting-children': 0 });
    expect(await kids.getJobCounts()).toMatchObject({ waiting: 0 });
  });

  it('a long flow whose bulk another process took for stalled is added again, not failed with a file error', async () => {
    const { flows, parents, kids } = setup();
    const link = fs.linkSync;
    const utimes = fs.utimesSync;
    let slowed = false;
    let undone = false;
    // The first id link stalls 600 ms; at the marker's next refresh another process has renamed it to .undo.
    fs.linkSync = ((a: fs.PathLike, b: fs.PathLike) => {
      if (!slowed) {
        slowed = true;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600);
      }
      return link(a, b);
    }) as typeof fs.linkSync;
    fs.utimesSync = ((file: fs.PathLike, ...rest: unknown[]) => {
      if (!undone && String(file).endsWith('.open')) {
        undone = true;
        fs.renameSync(file, String(file).replace(/\.open$/, '.undo'));
      }
      return (utimes as (...a: unknown[]) => void)(file, ...rest);
    }) as typeof fs.utimesSync;
    let tree;
    try {
      tree = await flows.add({ name: 'p', queueName: 'parents', opts: { jobId: 'L' }, children: [1, 2, 3].map((i) => ({ name: 'k', queueName: 'kids', opts: { jobId: `l${i}` } })) });
    } finally {
      fs.linkSync = link;
      fs.utimesSync = utimes;
    }
    expect(undone).toBe(true);
    expect(tree.job.id).toBe('L');
    expect(await parents.getJobState('L')).toBe('waiting-children');
    expect(await Promise.all(['l1', 'l2', 'l3'].map((id) => kids.getJobState(id)))).toEqual(['waiting', 'waiting', 'waiting']);
  });

  it('an undone flow that cannot read one listed child still releases the others, and throws its own error', async () => {
    const { flows, kstore } = setup();
    const d = (await flows.add({ name: 'd', queueName: 'parents', opts: { jobId: 'D' }, children: [{ name: 'k', queueName: 'kids', opts: { jobId: 'x' } }] })).job;
    fs.mkdirSync(path.dirname(kstore.idPath('z')), { recursive: true });
    fs.writeFileSync(kstore.idPath('z'), 'gone soon');
    // Once the flow fails on z, reading c's id name fails (an I/O error).
    const open = fs.openSync;
    let failed = false;
    fs.openSync = ((file: fs.PathLike, ...rest: unknown[]) => {
      if (String(file) === kstore.idPath('c') && failed) throw Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
      if (String(file) === kstore.idPath('z')) failed = true;
      return (open as (...a: unknown[]) => number)(file, ...rest);
    }) as typeof fs.openSync;
    let err: unknown;
    try {
      err = await flows.add({ name: 'd', queueName: 'parents', opts: { jobId: 'D' }, children: [{ name: 'k', queueName: 'kids', opts: { jobId: 'c' } }, { name: 'k', queueName: 'kids', opts: { jobId: 'z' } }] }).catch((e: unknown) => e);
    } finally {
      fs.openSync = open;
    }
    expect(err).toMatchObject({ code: 'ERR_DUPLICATE_JOB', message: expect.stringContaining('is being removed') });
    // z is released; c, unreadable then, is left to the five-minute rule.
    expect((await d.getDependencies()).unprocessed).toEqual(['bull:kids:x', 'bull:kids:c']);
  });

  it('an existing job stands in though it leaves active/ between the flow\'s two looks at it; a job being removed does not', async () => {
    const { flows, kids, kstore, spool } = setup();
    await kids.add('k', {}, { jobId: 'j1' });
    const { Worker } = await import('../../src/index.js');
    const kw = track(new Worker('kids', null, { spool }));
    expect((await kw.getNextJob('t'))!.id).toBe('j1');
    // Its worker finishes it just as the flow lists active/ (as finishToFile renames it).
    const readdir = fs.readdirSync;
    const activeDir = path.join(kstore.dir, 'active');
    let moved = false;
    fs.readdirSync = ((dir: fs.PathLike, ...rest: unknown[]) => {
      if (!moved && String(dir) === activeDir) {
        moved = true;
        const name = (readdir(activeDir) as string[]).find((n) => n.startsWith('j1.'))!;
        fs.renameSync(path.join(activeDir, name), kstore.filePath('completed', 'j1'));
      }
      return (readdir as (...a: unknown[]) => unknown)(dir, ...rest);
    }) as typeof fs.readdirSync;
    let tree;
    try {
      tree = await flows.add({ name: 'p', queueName: 'parents', children: [{ name: 'k', queueName: 'kids', opts: { jobId: 'j1' } }, { name: 'k', queueName: 'kids' }] });
    } finally {
      fs.readdirSync = readdir;
    }
    expect(moved).toBe(true);
    expect(tree.children![0]!.job.id).toBe('j1');
    expect((await tree.job.getDependencies()).unprocessed).toHaveLength(1);
    // A job whose removal is under way (held under a removal name) does not stand in.
    await kids.add('k', {}, { jobId: 'going', delay: 60_000 });
    const held = path.join(kstore.dir, 'reclaiming', 'going.rm-x1.json');
    fs.mkdirSync(path.dirname(held), { recursive: true });
    const delayedFile = fs.readdirSync(path.join(kstore.dir, 'delayed'), { recursive: true }).map(String).find((n) => n.endsWith('.going.json'))!;
    fs.renameSync(path.join(kstore.dir, 'delayed', delayedFile), held);
    const err = await flows.add({ name: 'p', queueName: 'parents', children: [{ name: 'k', queueName: 'kids', opts: { jobId: 'going' } }] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_DUPLICATE_JOB', message: expect.stringContaining('is being removed') });
  });

  it('refuses an id another call is adding though a claimed job\'s id starts with it and a dot', async () => {
    const { flows, kids, kstore, spool } = setup();
    await kids.add('k', {}, { jobId: 'a.b' });
    const { Worker } = await import('../../src/index.js');
    const kw = track(new Worker('kids', null, { spool }));
    expect((await kw.getNextJob('t'))!.id).toBe('a.b');
    const tmp = kstore.writeJobTmp(`${JSON.stringify({ v: 1, id: 'a', name: 'k', opts: {}, timestamp: Date.now() })}\n`);
    expect(kstore.linkIdEntry(tmp, 'a')).toBe(true);
    const err = await flows.add({ name: 'p', queueName: 'parents', children: [{ name: 'k', queueName: 'kids', opts: { jobId: 'a' } }] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_DUPLICATE_JOB', message: expect.stringContaining('is being added by another call') });
  });

  it('a flow added again leaves a child that failed with removeDependencyOnFailure not awaited', async () => {
    const { flows, spool } = setup();
    const flow = { name: 'p', queueName: 'parents', opts: { jobId: 'P' }, children: [{ name: 'k', queueName: 'kids', opts: { jobId: 'k', removeDependencyOnFailure: true } }, { name: 'k', queueName: 'kids', opts: { jobId: 'other' } }] };
    const p = (await flows.add(flow)).job;
    const { Worker } = await import('../../src/index.js');
    const kw = track(new Worker('kids', null, { spool }));
    const job = (await kw.getNextJob('t'))!;
    expect(job.id).toBe('k');
    await job.moveToFailed(new Error('no'), 't', false);
    expect((await p.getDependencies()).unprocessed).toEqual(['bull:kids:other']);
    await flows.add(flow);
    expect((await p.getDependencies()).unprocessed).toEqual(['bull:kids:other']);
  });

  it('an undone flow releases the existing parent it gave children, once its own children are gone', async () => {
    const { flows, parents, kids, kstore } = setup();
    const d = (await flows.add({ name: 'd', queueName: 'parents', opts: { jobId: 'D' }, children: [{ name: 'k', queueName: 'kids', opts: { jobId: 'x' } }] })).job;
    // An index name being removed (its only name, fresh): the flow fails on it after listing `c` in D.
    fs.mkdirSync(path.dirname(kstore.idPath('z')), { recursive: true });
    fs.writeFileSync(kstore.idPath('z'), 'gone soon');
    const err = await flows.add({ name: 'd', queueName: 'parents', opts: { jobId: 'D' }, children: [{ name: 'k', queueName: 'kids', opts: { jobId: 'c' } }, { name: 'k', queueName: 'kids', opts: { jobId: 'z' } }] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_DUPLICATE_JOB', message: expect.stringContaining('is being removed') });
    expect(await kids.getJobState('c')).toBe('unknown');
    // D no longer awaits the flow's children; it still awaits its own.
    expect((await d.getDependencies()).unprocessed).toEqual(['bull:kids:x']);
    await kids.remove('x');
    expect(await parents.getJobState('D')).toBe('waiting');
  });
});

describe('child files and the pool of spare inodes', () => {
  it('a child file takes a spare inode, and a removed parent gives its child files back to the pool', async () => {
    const { flows, parents, pstore } = setup();
    const parent = (await flows.add({ name: 'p', queueName: 'parents', children: ['a', 'b'].map((id) => ({ name: 'k', queueName: 'kids', opts: { jobId: id } })) })).job;
    const free = path.join(pstore.dir, 'free');
    // A removed job's file goes to the pool.
    const gone = await parents.add('gone', {}, { delay: 60_000 });
    const spare = fs.statSync(pstore.idPath(gone.id!)).ino;
    await parents.remove(gone.id!);
    writeEntry(pstore, parent.id!, { k: childRef('kids', 'a'), s: 'processed', v: 'x', t: 1 });
    writeEntry(pstore, parent.id!, { k: childRef('kids', 'b'), s: 'processed', v: 'y', t: 1 });
    const inodes = fs.readdirSync(depsDir(pstore, parent.id!)).map((n) => fs.statSync(path.join(depsDir(pstore, parent.id!), n)).ino);
    expect(inodes).toContain(spare);
    expect(readEntries(pstore, parent.id!).get(childRef('kids', 'a'))).toEqual({ k: childRef('kids', 'a'), s: 'processed', v: 'x', t: 1 });
    await parents.remove(parent.id!);
    expect(fs.existsSync(depsDir(pstore, parent.id!))).toBe(false);
    const pooled = fs.readdirSync(free).map((n) => fs.statSync(path.join(free, n)).ino);
    for (const ino of inodes) expect(pooled).toContain(ino);
  });
});

describe('views of parents kept by this process', () => {
  it('keeps no view of a parent its children sent on', async () => {
    const { spool, flows, parents } = setup();
    const before = parentViewCount();
    const trees = [];
    for (let i = 0; i < 20; i++) trees.push(await flows.add({ name: 'p', queueName: 'parents', children: [{ name: 'a', queueName: 'kids' }, { name: 'b', queueName: 'kids' }] }));
    const worker = track(new Worker('kids', async () => 1, { spool }));
    await waitFor(async () => (await parents.getJobCounts())['waiting-children'] === 0, 10_000, 'every parent sent on');
    await worker.close();
    expect(await Promise.all(trees.map((t) => t.job.getState()))).toEqual(trees.map(() => 'waiting'));
    expect(parentViewCount()).toBe(before);
  });
});

describe('sweepParents', () => {
  it('takes a child missing for five minutes as removed, not a younger one, and then moves the parent on', async () => {
    const { flows, parents, kids, pstore, kstore } = setup();
    const tree = await flows.add({ name: 'p', queueName: 'parents', children: [{ name: 'k', queueName: 'kids', opts: { jobId: 'real' } }] });
    const parent = tree.job;
    // Listed as a child (as Queue.add with `parent` does first), never added.
    attachChildren(kstore, [{ opts: { parent: { id: parent.id!, queue: 'parents' } } }], () => 'ghost');
    expect(await parents.getJobState(parent.id!)).toBe('waiting-children');
    expect(sweepParents(pstore, Date.now())).toBe(0);
    expect(readEntries(pstore, parent.id!).size).toBe(0);
    // Five minutes on: the ghost is removed; the real child is still waiting, so the parent waits.
    expect(sweepParents(pstore, Date.now() + 6 * 60_000)).toBe(0);
    expect(readEntries(pstore, parent.id!).get(childRef('kids', 'ghost'))?.s).toBe('removed');
    expect(await parents.getJobState(parent.id!)).toBe('waiting-children');
    await kids.remove('real');
    expect(await parents.getJobState(parent.id!)).toBe('waiting');
  });
});

describe('what the review found (each failed before its fix)', () => {
  it('a parent removed on completion takes its child files, so the same flow added again waits for its child', async () => {
    const { flows, parents, pstore, spool } = setup();
    const flow = { name: 'p', queueName: 'parents', opts: { jobId: 'daily', removeOnComplete: true }, children: [{ name: 'k', queueName: 'kids', opts: { jobId: 'part', removeOnComplete: true } }] };
    await flows.add(flow);
    const { Worker } = await import('../../src/index.js');
    const kw = track(new Worker('kids', null, { spool }));
    const pw = track(new Worker('parents', null, { spool }));
    await (await kw.getNextJob('t'))!.moveToCompleted('run 1', 't', false);
    await (await pw.getNextJob('t'))!.moveToCompleted('done', 't', false);
    expect(fs.existsSync(depsDir(pstore, 'daily'))).toBe(false);
    await flows.add(flow);
    expect(await parents.getJobState('daily')).toBe('waiting-children');
    expect((await (await parents.getJob('daily'))!.getDependencies()).processed).toEqual({});
    expect(sweepParents(pstore)).toBe(0);
  });

  it('a parent that got a child while it ran, and returns, fails with pending dependencies (processor and getNextJob)', async () => {
    const { parents, kids, spool } = setup();
    const { Worker } = await import('../../src/index.js');
    const w = track(new Worker('parents', null, { spool }));
    const p = await parents.add('p', {});
    const job = (await w.getNextJob('t'))!;
    await kids.add('k', {}, { parent: { id: p.id!, queue: job.queueQualifiedName } });
    await job.moveToCompleted('done', 't', false);
    expect(await parents.getJobState(p.id!)).toBe('failed');
    expect((await parents.getJob(p.id!))!.failedReason).toBe(`Job ${p.id} has pending dependencies. moveToFinished`);
  });

  it('a child attached between the settle\'s look and its hold keeps the parent waiting', async () => {
    const { flows, kids, pstore, kstore } = setup();
    const tree = await flows.add({ name: 'p', queueName: 'parents', children: [{ name: 'k', queueName: 'kids', opts: { jobId: 'first' } }] });
    const pid = tree.job.id!;
    writeEntry(pstore, pid, { k: childRef('kids', 'first'), s: 'processed', v: 1, t: 1 });
    // Another process attaches a child just before this one's hold renames the parent.
    const rename = fs.renameSync;
    let injected = false;
    fs.renameSync = ((from: fs.PathLike, to: fs.PathLike) => {
      if (!injected && String(from) === pstore.filePath('waiting-children', pid)) {
        injected = true;
        attachChildren(kstore, [{ opts: { parent: { id: pid, queue: 'parents' } } }], () => 'late');
      }
      return rename(from, to);
    }) as typeof fs.renameSync;
    try {
      expect(settleParent(pstore, pid)).toBe(false);
    } finally {
      fs.renameSync = rename;
    }
    expect(injected).toBe(true);
    expect(await tree.job.getState()).toBe('waiting-children');
    await kids.add('k', {}, { jobId: 'late', parent: { id: pid, queue: 'bull:parents' } });
    expect((await tree.job.getDependencies()).unprocessed).toEqual(['bull:kids:late']);
  });

  it('the sweep sends on a parent whose child failed with failParentOnFailure when its finisher died before doing so', async () => {
    const { flows, pstore } = setup();
    const tree = await flows.add({ name: 'p', queueName: 'parents', children: [{ name: 'a', queueName: 'kids', opts: { jobId: 'a', failParentOnFailure: true } }, { name: 'b', queueName: 'kids' }] });
    // What a finisher killed after writing the child's file leaves (written after the parent's last change).
    writeEntry(pstore, tree.job.id!, { k: childRef('kids', 'a'), s: 'failed', r: 'boom', t: Date.now() + 5 });
    sweepParents(pstore);
    const parent = (await (await import('../../src/index.js')).Job.fromId({ name: 'parents', store: pstore }, tree.job.id!))!;
    expect(await parent.getState()).toBe('waiting');
    expect(parent.deferredFailure).toBe('child bull:kids:a failed');
  });

  it('the sweep sends on a parent for a continueParentOnFailure child once: the mark is cleared when sent', async () => {
    const { flows, pstore } = setup();
    const tree = await flows.add({ name: 'p', queueName: 'parents', children: [{ name: 'a', queueName: 'kids', opts: { jobId: 'a' } }, { name: 'b', queueName: 'kids' }] });
    // A finisher killed after writing the marked file, before sending the parent on.
    writeEntry(pstore, tree.job.id!, { k: childRef('kids', 'a'), s: 'ignored', r: 'boom', c: true, t: 1 });
    sweepParents(pstore);
    expect(await tree.job.getState()).toBe('waiting');
    expect(readEntries(pstore, tree.job.id!).get(childRef('kids', 'a'))).not.toHaveProperty('c');
    // Back to wait for its other child (as moveToWaitingChildren does): not sent again.
    const { Worker } = await import('../../src/index.js');
    const w = track(new Worker('parents', null, { spool: pstore.root }));
    const job = (await w.getNextJob('t'))!;
    expect(await job.moveToWaitingChildren('t')).toBe(true);
    sweepParents(pstore);
    expect(await tree.job.getState()).toBe('waiting-children');
  });

  it('the sweep sends on a parent left waiting with a failParentOnFailure child, whatever touched it since, or with a deferred failure', async () => {
    const { flows, pstore, parents } = setup();
    const tree = await flows.add({ name: 'p', queueName: 'parents', children: [{ name: 'a', queueName: 'kids', opts: { jobId: 'a1', failParentOnFailure: true } }, { name: 'b', queueName: 'kids' }] });
    writeEntry(pstore, tree.job.id!, { k: childRef('kids', 'a1'), s: 'failed', r: 'boom', t: 1 });
    // The parent's file changes after the child's file was written (a progress update).
    await parents.updateJobProgress(tree.job.id!, 10);
    sweepParents(pstore);
    expect(await tree.job.getState()).toBe('waiting');
    // A parent that got its deferred failure while it moved to wait for its children.
    const other = await flows.add({ name: 'p', queueName: 'parents', children: [{ name: 'b', queueName: 'kids' }] });
    const { appendPatch } = await import('../../src/spool/record.js');
    appendPatch(pstore.idPath(other.job.id!), { deferredFailure: 'child bull:kids:x failed', i: other.job.id! });
    sweepParents(pstore);
    expect(await other.job.getState()).toBe('waiting');
  });

  it('a parent given a child during its run and not kept takes the child\'s file with it', async () => {
    const { parents, kids, pstore, spool } = setup();
    const { Worker } = await import('../../src/index.js');
    track(new Worker('kids', async () => 'kid', { spool, pollIntervalMs: 20 }));
    const pw = track(
      new Worker(
        'parents',
        async (job) => {
          const kid = await kids.add('k', {}, { parent: { id: job.id!, queue: job.queueQualifiedName } });
          await waitFor(async () => (await kids.getJobState(kid.id!)) === 'completed', 5000);
          return 'done';
        },
        { spool, pollIntervalMs: 20, removeOnComplete: true },
      ),
    );
    const done: string[] = [];
    pw.on('completed', (job: { id?: string }) => done.push(job.id!));
    const p = await parents.add('p', {});
    await waitFor(() => done.length === 1, 10_000);
    expect(fs.existsSync(depsDir(pstore, p.id!))).toBe(false);
  });

  it('a repeated add of a child its parent lists already leaves what the child became', async () => {
    const { flows, kids, parents, pstore } = setup();
    const tree = await flows.add({ name: 'p', queueName: 'parents', children: [{ name: 'k', queueName: 'kids', opts: { jobId: 'c1' } }, { name: 'k2', queueName: 'kids', opts: { jobId: 'c2' } }] });
    writeEntry(pstore, tree.job.id!, { k: childRef('kids', 'c1'), s: 'processed', v: 42, t: 1 });
    await kids.add('k', {}, { jobId: 'c1', parent: { id: tree.job.id!, queue: 'bull:parents' } });
    expect(await tree.job.getChildrenValues()).toEqual({ 'bull:kids:c1': 42 });
    // A flow whose root reuses a pending child's id: the existing child stands in for the root, still
    // its parent's child, and awaits the flow's children as BullMQ's would.
    const again = await flows.add({ name: 'k2', queueName: 'kids', opts: { jobId: 'c2', parent: { id: tree.job.id!, queue: 'bull:parents' } }, children: [{ name: 'x', queueName: 'kids', opts: { jobId: 'x' } }] });
    expect(again.job.id).toBe('c2');
    expect(await parents.getJobState(tree.job.id!)).toBe('waiting-children');
    expect((await tree.job.getDependencies()).unprocessed).toEqual(['bull:kids:c2']);
    expect(await kids.getJobState('c2')).toBe('waiting');
    expect((await (await kids.getJob('c2'))!.getDependencies()).unprocessed).toEqual(['bull:kids:x']);
  });

  it('the sweep links a listed child that exists without naming its parent (its adder died before linking it)', async () => {
    const { flows, kids, pstore, kstore, spool } = setup();
    await kids.add('k', {}, { jobId: 'loose' });
    const { Worker } = await import('../../src/index.js');
    const kw = track(new Worker('kids', null, { spool }));
    await (await kw.getNextJob('t'))!.moveToCompleted('loose value', 't', false);
    const tree = await flows.add({ name: 'p', queueName: 'parents', children: [{ name: 'k', queueName: 'kids', opts: { jobId: 'real' } }] });
    // Listed as a child, as an add that found the id taken does first; the link never made.
    attachChildren(kstore, [{ opts: { parent: { id: tree.job.id!, queue: 'parents' } } }], () => 'loose');
    sweepParents(pstore);
    expect(readEntries(pstore, tree.job.id!).get(childRef('kids', 'loose'))).toMatchObject({ s: 'processed', v: 'loose value' });
    expect((await tree.job.getDependencies()).unprocessed).toEqual(['bull:kids:real']);
  });

  it('the sweep reaches every parent in turn when more wait than one pass takes', async () => {
    const { flows, parents, pstore } = setup();
    for (let i = 0; i < 3; i++) await flows.add({ name: 'p', queueName: 'parents', children: [{ name: 'k', queueName: 'kids' }] });
    const stuck = await flows.add({ name: 'p', queueName: 'parents', opts: { jobId: 'stuck' }, children: [{ name: 'k', queueName: 'kids', opts: { jobId: 'done' } }] });
    writeEntry(pstore, stuck.job.id!, { k: childRef('kids', 'done'), s: 'processed', v: 1, t: 1 });
    for (let pass = 0; pass < 60 && (await parents.getJobState('stuck')) === 'waiting-children'; pass++) sweepParents(pstore, Date.now(), 1);
    expect(await parents.getJobState('stuck')).toBe('waiting');
  });
});

describe('the sweep of a parent of many children', () => {
  it('looks at a slice of the children each pass, going on where the last left off, until the parent moves', async () => {
    const { flows, parents, spool, pstore, kstore } = setup();
    const tree = await flows.add({ name: 'p', queueName: 'parents', children: Array.from({ length: 10 }, (_, i) => ({ name: 'k', queueName: 'kids', opts: { jobId: `k${i}` } })) });
    const pid = tree.job.id!;
    // One more child listed, so that the parent waits while the ten finish.
    attachChildren(kstore, [{ opts: { parent: { id: pid, queue: 'parents' } } }], () => 'ghost');
    const { Worker } = await import('../../src/index.js');
    const kw = track(new Worker('kids', null, { spool }));
    for (let i = 0; i < 10; i++) await (await kw.getNextJob('t'))!.moveToCompleted(i, 't', false);
    // As if every finisher had died before writing its child's file.
    fs.rmSync(depsDir(pstore, pid), { recursive: true });
    writeEntry(pstore, pid, { k: childRef('kids', 'ghost'), s: 'removed', t: 1 });
    expect(await parents.getJobState(pid)).toBe('waiting-children');
    const budget = 3 + 5; // three children and the parent's own cost
    let passes = 0;
    for (; passes < 10 && (await parents.getJobState(pid)) === 'waiting-children'; passes++) {
      sweepParents(pstore, Date.now(), 1000, budget);
      expect(readEntries(pstore, pid).size).toBeLessThanOrEqual(1 + 3 * (passes + 1));
    }
    // Eleven children, three a pass.
    expect(passes).toBe(4);
    expect(await parents.getJobState(pid)).toBe('waiting');
    expect(Object.keys(await tree.job.getChildrenValues())).toHaveLength(10);
  });

  it('reaches every parent in turn when the budget ends passes early', async () => {
    const { flows, parents, pstore } = setup();
    for (let i = 0; i < 6; i++) await flows.add({ name: 'p', queueName: 'parents', opts: { jobId: `p${i}` }, children: [{ name: 'k', queueName: 'kids', opts: { jobId: `k${i}` } }] });
    // The parent listed last is the one whose child is done (its finisher died before checking it).
    const last = fs.readdirSync(path.join(pstore.dir, 'waiting-children')).at(-1)!.slice(0, -5);
    writeEntry(pstore, last, { k: childRef('kids', `k${last.slice(1)}`), s: 'processed', v: 1, t: 1 });
    // Two parents of one child each a pass.
    let passes = 0;
    for (; passes < 6 && (await parents.getJobState(last)) === 'waiting-children'; passes++) sweepParents(pstore, Date.now(), 1000, 2 * (5 + 1));
    expect(passes).toBeLessThanOrEqual(3);
    expect(await parents.getJobState(last)).toBe('waiting');
  });
});

describe('a finishing child\'s quick look at its parent (parent-view.ts)', () => {
  it('a child retried after the look passed it keeps its parent waiting: only a full check moves a parent', async () => {
    const { flows, parents, kids, spool } = setup();
    const tree = await flows.add({ name: 'p', queueName: 'parents', children: [{ name: 'a', queueName: 'kids', opts: { jobId: 'a' } }, { name: 'b', queueName: 'kids', opts: { jobId: 'b' } }] });
    const { Worker } = await import('../../src/index.js');
    const kw = track(new Worker('kids', null, { spool }));
    const first = (await kw.getNextJob('t'))!;
    expect(first.id).toBe('a');
    await first.moveToCompleted(1, 't', false);
    expect(await parents.getJobState(tree.job.id!)).toBe('waiting-children');
    // Awaited again: its file goes, behind where this process's look got to.
    await (await kids.getJob('a'))!.retry('completed');
    expect((await tree.job.getDependencies()).unprocessed).toEqual(['bull:kids:a', 'bull:kids:b']);
    const second = (await kw.getNextJob('t'))!;
    expect(second.id).toBe('b');
    await second.moveToCompleted(2, 't', false);
    expect(await parents.getJobState(tree.job.id!)).toBe('waiting-children');
    const again = (await kw.getNextJob('t'))!;
    expect(again.id).toBe('a');
    await again.moveToCompleted(3, 't', false);
    expect(await parents.getJobState(tree.job.id!)).toBe('waiting');
    expect(await tree.job.getChildrenValues()).toEqual({ 'bull:kids:a': 3, 'bull:kids:b': 2 });
  });

  it('a parent given children one add at a time while they finish moves on after the last, not before', async () => {
    const { flows, parents, kids, spool } = setup();
    const tree = await flows.add({ name: 'p', queueName: 'parents', children: [{ name: 'k', queueName: 'kids', opts: { jobId: 'k0' } }] });
    const pid = tree.job.id!;
    const { Worker } = await import('../../src/index.js');
    const kw = track(new Worker('kids', null, { spool }));
    for (let i = 1; i <= 5; i++) {
      await kids.add('k', { i }, { jobId: `k${i}`, parent: { id: pid, queue: 'bull:parents' } });
      await (await kw.getNextJob('t'))!.moveToCompleted(i - 1, 't', false);
      expect(await parents.getJobState(pid)).toBe('waiting-children');
    }
    await (await kw.getNextJob('t'))!.moveToCompleted(5, 't', false);
    expect(await parents.getJobState(pid)).toBe('waiting');
    expect(Object.keys(await tree.job.getChildrenValues())).toHaveLength(6);
  });
});
