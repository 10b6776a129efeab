import { scenario } from '../scenario.js';

// §1.2 jobId: a duplicate custom id is ignored while the job exists in any state (the first job's
// data is kept and the `duplicated` event fires); once the job is removed the id is free again.
export default scenario({
  id: 'job-id-duplicates',
  description: 'Duplicate jobIds resolve to the existing job while it exists, even completed; after removal the id is reusable.',
  behaviour: { once: [{ return: 'ran' }] },
  steps: [
    { add: { label: 'first', name: 'once', data: { v: 1 }, opts: { jobId: 'invoice-7' } } },
    { add: { label: 'dup-waiting', name: 'once', data: { v: 2 }, opts: { jobId: 'invoice-7' } } },
    { startWorker: { concurrency: 1 } },
    { settle: true },
    { add: { label: 'dup-completed', name: 'once', data: { v: 3 }, opts: { jobId: 'invoice-7' } } },
    { snapshot: 'after-dup' },
    { remove: 'first' },
    { snapshot: 'after-remove' },
    { add: { label: 'reused', name: 'once', data: { v: 4 }, opts: { jobId: 'invoice-7' } } },
    { settle: true },
  ],
});
