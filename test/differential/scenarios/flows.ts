import { scenario } from '../scenario.js';

// Flows (FlowProducer, §1.7): a parent waits in waiting-children until its children are done,
// runs next once they are (ahead of jobs that were waiting), and reads their values; a child's
// failure options: ignoreDependencyOnFailure records it and lets the parent go on,
// failParentOnFailure fails the parent without running it, and a failure with no option leaves
// the parent waiting.
export default scenario({
  id: 'flows',
  description: 'Parents run after their children and read their values; ignored, failing-the-parent and default child failures.',
  behaviour: {
    leaf: [{ return: 'leaf done' }],
    bad: [{ throw: 'child broke' }],
    parent: [{ reportChildren: true }],
  },
  steps: [
    {
      flow: {
        label: 'root',
        name: 'parent',
        children: [
          { label: 'a', name: 'leaf', data: { n: 1 } },
          { label: 'mid', name: 'parent', children: [{ label: 'g', name: 'leaf' }] },
          { label: 'ign', name: 'bad', opts: { ignoreDependencyOnFailure: true } },
        ],
      },
    },
    { snapshot: 'added' },
    { add: { label: 'plain', name: 'leaf' } },
    { startWorker: {} },
    { settle: true },
    { snapshot: 'first flow done' },
    { flow: { label: 'doomed', name: 'parent', children: [{ label: 'fp', name: 'bad', opts: { failParentOnFailure: true } }] } },
    { flow: { label: 'stuck', name: 'parent', children: [{ label: 'x', name: 'bad' }, { label: 'y', name: 'leaf' }] } },
    { settle: true },
  ],
  // spoolkit's events carry numbers as numbers; BullMQ's Redis stream gives these as strings.
  divergences: ['doomed.5', 'fp.4', 'ign.4', 'x.4'].map((at) => ({ path: `events.${at}.attemptsMade`, bullmq: '1', spoolkit: 1, doc: 'docs/bullmq-differences.md#semantics-to-know (Events)' })),
});
