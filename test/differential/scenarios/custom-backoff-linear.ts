import { scenario } from '../scenario.js';

// §2.4 custom strategies: a positive value delays the retry by that many ms.
export default scenario({
  id: 'custom-backoff-linear',
  description: 'A custom backoff strategy returning attemptsMade*10 ms retries until success.',
  behaviour: { flaky: [{ throw: 'one' }, { throw: 'two' }, { return: 'three' }] },
  steps: [
    { add: { label: 'j', name: 'flaky', opts: { attempts: 5, backoff: { type: 'linear' } } } },
    { startWorker: { concurrency: 1, backoffStrategy: 'linear10' } },
    { settle: true },
  ],
});
