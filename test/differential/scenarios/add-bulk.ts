import { scenario } from '../scenario.js';

// §1.1 addBulk: all jobs are added in one step with their own options, in order.
export default scenario({
  id: 'add-bulk',
  description: 'addBulk with mixed options (plain, priority, delay, lifo) lands each job in its state and runs them in BullMQ order.',
  behaviour: { job: [{ return: 'bulk' }] },
  steps: [
    {
      addBulk: [
        { label: 'plain1', name: 'job', data: { i: 1 } },
        { label: 'prio', name: 'job', data: { i: 2 }, opts: { priority: 4 } },
        { label: 'delayed', name: 'job', data: { i: 3 }, opts: { delay: 60_000 } },
        { label: 'plain2', name: 'job', data: { i: 4 } },
        { label: 'lifo', name: 'job', data: { i: 5 }, opts: { lifo: true } },
      ],
    },
    { snapshot: 'queued' },
    // Promoted rather than left to come due, so the order does not depend on timing.
    { promote: 'delayed' },
    { startWorker: { concurrency: 1 } },
    { settle: true },
  ],
});
