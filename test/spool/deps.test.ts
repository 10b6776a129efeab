import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FlowProducer, Queue } from '../../src/index.js';
import { attachChildren, childRef, depsDir, detachChildren, readEntries, sweepParents, writeEntry } from '../../src/spool/deps.js';
import { openQueueStore } from '../../src/spool/open.js';
import { tmpSpool, track } from '../fixtures/core/helpers.js';

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
