import { scenario } from '../scenario.js';

// §2.1: a failed try with attempts left and no backoff goes back to the end of `wait` at once,
// so the retry runs after the jobs that were already waiting.
export default scenario({
  id: 'retry-requeue-order',
  description: 'Without backoff a retried job re-enters `wait` behind the other waiting jobs.',
  behaviour: { flaky: [{ throw: 'once' }, { return: 'second try' }], steady: [{ return: 'ok' }] },
  steps: [
    { add: { label: 'a', name: 'flaky', opts: { attempts: 2 } } },
    { add: { label: 'b', name: 'steady' } },
    { add: { label: 'c', name: 'steady' } },
    { startWorker: { concurrency: 1 } },
    { settle: true },
  ],
});
