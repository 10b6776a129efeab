import { scenario } from '../scenario.js';

// §2.1 order of pickup: no priority (or 0) first, then lower numbers first, FIFO within a priority.
export default scenario({
  id: 'priority',
  description: 'Prioritized jobs wait in `prioritized` and run after plain jobs, lowest number first, FIFO within one priority.',
  behaviour: { job: [{ return: 'done' }] },
  steps: [
    { add: { label: 'p5', name: 'job', opts: { priority: 5 } } },
    { add: { label: 'p1a', name: 'job', opts: { priority: 1 } } },
    { add: { label: 'plain1', name: 'job' } },
    { add: { label: 'p3', name: 'job', opts: { priority: 3 } } },
    { add: { label: 'p0', name: 'job', opts: { priority: 0 } } },
    { add: { label: 'p1b', name: 'job', opts: { priority: 1 } } },
    { add: { label: 'plain2', name: 'job' } },
    { snapshot: 'queued' },
    { startWorker: { concurrency: 1 } },
    { settle: true },
  ],
});
