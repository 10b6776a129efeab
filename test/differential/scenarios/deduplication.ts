import { scenario } from '../scenario.js';

// §1.2 deduplication (simple mode): while the first job is not finished, adds with the same
// deduplication id resolve to it and emit `deduplicated`; after it finishes the id is free.
export default scenario({
  id: 'deduplication',
  description: 'Simple deduplication drops adds while the first job is queued, and allows one after it completed.',
  behaviour: { sync: [{ return: 'synced' }] },
  steps: [
    { add: { label: 'first', name: 'sync', data: { v: 1 }, opts: { deduplication: { id: 'user-9' } } } },
    { add: { label: 'dropped', name: 'sync', data: { v: 2 }, opts: { deduplication: { id: 'user-9' } } } },
    { startWorker: { concurrency: 1 } },
    { settle: true },
    { add: { label: 'after', name: 'sync', data: { v: 3 }, opts: { deduplication: { id: 'user-9' } } } },
    { settle: true },
  ],
});
