import { scenario } from '../scenario.js';

// Flows whose jobs' custom ids are taken (§1.7 with §1.2 jobId): a flow added again with the same
// ids changes nothing (every job is `duplicated`); a new parent given an existing child that has
// no parent takes it (a completed one counts as processed with its value), while a child that
// already has a live parent is not moved to the new one; the flow's new jobs are added all the same.
export default scenario({
  id: 'flow-duplicates',
  description: 'A flow added twice is added once; a new flow reusing existing jobs as children links the parentless ones.',
  behaviour: {
    leaf: [{ return: 'leaf done' }],
    parent: [{ reportChildren: true }],
  },
  steps: [
    { flow: { label: 'report', name: 'parent', opts: { jobId: 'report' }, children: [{ label: 'a', name: 'leaf', opts: { jobId: 'part-a' } }, { label: 'b', name: 'leaf', data: { n: 2 }, opts: { jobId: 'part-b' } }] } },
    { add: { label: 'loose', name: 'leaf', opts: { jobId: 'loose' } } },
    { startWorker: {} },
    { settle: true },
    { flow: { label: 'report-again', name: 'parent', data: { again: true }, opts: { jobId: 'report' }, children: [{ label: 'a-again', name: 'leaf', opts: { jobId: 'part-a' } }, { label: 'b-again', name: 'leaf', opts: { jobId: 'part-b' } }] } },
    { settle: true },
    { snapshot: 'added again' },
    { flow: { label: 'summary', name: 'parent', opts: { jobId: 'summary' }, children: [{ label: 'loose-child', name: 'leaf', opts: { jobId: 'loose' } }, { label: 'c', name: 'leaf', opts: { jobId: 'part-c' } }] } },
    { settle: true },
  ],
});
