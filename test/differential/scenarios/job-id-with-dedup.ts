import { scenario } from '../scenario.js';

// §1.2 jobId and deduplication together: the custom id is checked first, so an add that repeats
// both is `duplicated`; one with a new id and a held deduplication id is `deduplicated`.
export default scenario({
  id: 'job-id-with-dedup',
  description: 'An add repeating a live jobId and its deduplication id is a duplicate; a new jobId with a held deduplication id is deduplicated.',
  behaviour: { mail: [{ return: 'sent' }] },
  steps: [
    { add: { label: 'first', name: 'mail', data: { v: 1 }, opts: { jobId: 'mail-1', deduplication: { id: 'user-3' } } } },
    { add: { label: 'same-both', name: 'mail', data: { v: 2 }, opts: { jobId: 'mail-1', deduplication: { id: 'user-3' } } } },
    { add: { label: 'new-id', name: 'mail', data: { v: 3 }, opts: { jobId: 'mail-2', deduplication: { id: 'user-3' } } } },
    { add: { label: 'same-id-other-key', name: 'mail', data: { v: 4 }, opts: { jobId: 'mail-1', deduplication: { id: 'user-4' } } } },
    { startWorker: { concurrency: 1 } },
    { settle: true },
    { add: { label: 'after', name: 'mail', data: { v: 5 }, opts: { jobId: 'mail-3', deduplication: { id: 'user-3' } } } },
    { settle: true },
  ],
});
