import { scenario } from '../scenario.js';

// §1.2 deduplication `keepLastIfActive`: adds made while the key's job is active are kept, the
// last one winning, and added (with the id its add was told) when that job finishes; an add
// while the job is not active is dropped, as in simple mode.
export default scenario({
  id: 'dedup-keep-last',
  description: 'Two adds while the holder runs: the last is added when it completes, and runs; an add while it waits is dropped.',
  behaviour: { slow: [{ sleepMs: 300, return: 'first' }], quick: [{ return: 'kept' }] },
  steps: [
    { add: { label: 'a', name: 'slow', data: { n: 1 }, opts: { deduplication: { id: 'k', keepLastIfActive: true } } } },
    { add: { label: 'w', name: 'quick', data: { n: 0 }, opts: { deduplication: { id: 'k', keepLastIfActive: true } } } },
    { startWorker: { concurrency: 1 } },
    { waitActive: 'a' },
    { add: { label: 'b', name: 'quick', data: { n: 2 }, opts: { deduplication: { id: 'k', keepLastIfActive: true } } } },
    { add: { label: 'c', name: 'quick', data: { n: 3 }, opts: { deduplication: { id: 'k', keepLastIfActive: true, ttl: 50 } } } },
    { settle: true },
  ],
});
