import { scenario } from '../scenario.js';

// §2.1: delay > 0 puts the job in `delayed`; it runs when due, after jobs that were ready earlier.
export default scenario({
  id: 'delay',
  description: 'Delayed jobs sit in `delayed`, then run in due order after the ready job; promote() makes one ready at once.',
  behaviour: { job: [{ return: 'ran' }] },
  steps: [
    { add: { label: 'late', name: 'job', opts: { delay: 600 } } },
    { add: { label: 'soon', name: 'job', opts: { delay: 250 } } },
    { add: { label: 'promoted', name: 'job', opts: { delay: 60_000 } } },
    { add: { label: 'now', name: 'job' } },
    { snapshot: 'queued' },
    { promote: 'promoted' },
    { snapshot: 'after-promote' },
    { startWorker: { concurrency: 1 } },
    { settle: true },
  ],
});
