import { scenario } from '../scenario.js';

// §1.1 setGlobalConcurrency: a worker of concurrency 3 under a global concurrency of 1 runs one
// job at a time, in order, with the usual events only.
export default scenario({
  id: 'global-concurrency',
  description: 'Four jobs under a global concurrency of 1 with a worker of concurrency 3 run one at a time, in the order added.',
  behaviour: { work: [{ sleepMs: 30, return: 'ok' }] },
  steps: [
    { globalConcurrency: 1 },
    { addBulk: ['a', 'b', 'c', 'd'].map((label, i) => ({ label, name: 'work', data: { i } })) },
    { startWorker: { concurrency: 3 } },
    { settle: true },
  ],
});
