import { scenario } from '../scenario.js';

// §1.3: a Worker `limiter` starts at most `max` jobs per `duration`; jobs over the limit stay
// waiting, in order, and nothing about the wait shows in events or job fields.
export default scenario({
  id: 'limiter',
  description: 'Five jobs under a limiter of 2 per 150 ms with concurrency 3 run in the order added, with the usual events only.',
  behaviour: { work: [{ return: 'ok' }] },
  steps: [
    { addBulk: ['a', 'b', 'c', 'd', 'e'].map((label, i) => ({ label, name: 'work', data: { i } })) },
    { startWorker: { concurrency: 3, limiter: { max: 2, duration: 150 } } },
    { settle: true },
  ],
});
