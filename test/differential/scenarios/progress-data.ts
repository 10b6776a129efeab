import { scenario } from '../scenario.js';

// §1.4: updateProgress emits progress events (locally and on QueueEvents) and stores the last
// value; updateData replaces the data; values are JSON round-tripped.
export default scenario({
  id: 'progress-data',
  description: 'Progress numbers and objects reach Worker and QueueEvents listeners; updateData persists.',
  behaviour: { report: [{ progress: [10, 50, { step: 'done', pct: 100 }], log: ['starting', 'finished'], updateData: { rewritten: true }, return: { when: '2020-01-01T00:00:00.000Z' } }] },
  steps: [
    { add: { label: 'j', name: 'report', data: { original: true } } },
    { startWorker: { concurrency: 1 } },
    { settle: true },
  ],
});
