import { scenario } from '../scenario.js';

// §1.2 lifo: the job is pushed to the other end of `wait`, so it runs before older waiting jobs.
export default scenario({
  id: 'lifo',
  description: 'LIFO jobs jump ahead of earlier plain jobs; later LIFO jobs run before earlier ones.',
  behaviour: { job: [{}] },
  steps: [
    { add: { label: 'a', name: 'job' } },
    { add: { label: 'b', name: 'job' } },
    { add: { label: 'l1', name: 'job', opts: { lifo: true } } },
    { add: { label: 'c', name: 'job' } },
    { add: { label: 'l2', name: 'job', opts: { lifo: true } } },
    { startWorker: { concurrency: 1 } },
    { settle: true },
  ],
});
