import { scenario } from '../scenario.js';

// §2.1: plain adds go to `waiting` and run first in, first out; return values are stored.
export default scenario({
  id: 'fifo',
  description: 'Five plain jobs run in the order added and complete with their return values.',
  behaviour: { work: [{ return: { ok: true } }], other: [{ return: 42 }] },
  steps: [
    { add: { label: 'a', name: 'work', data: { n: 1 } } },
    { add: { label: 'b', name: 'other', data: { n: 2 } } },
    { add: { label: 'c', name: 'work', data: { n: 3 } } },
    { add: { label: 'd', name: 'other', data: { n: 4 } } },
    { add: { label: 'e', name: 'work', data: { n: 5 } } },
    { snapshot: 'before-worker' },
    { startWorker: { concurrency: 1 } },
    { settle: true },
  ],
});
