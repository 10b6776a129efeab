import { scenario } from '../scenario.js';

// §2.3 attempts accounting and §2.4 fixed backoff: a failure with attempts left goes to `delayed`
// for the backoff, attemptsMade counts every failure, and the job completes on the third try.
export default scenario({
  id: 'retry-fixed',
  description: 'attempts: 3 with fixed backoff: fail, fail, succeed; attemptsMade ends at 2.',
  behaviour: { flaky: [{ throw: 'first' }, { throw: 'second' }, { return: 'third time' }] },
  steps: [
    { add: { label: 'j', name: 'flaky', opts: { attempts: 3, backoff: { type: 'fixed', delay: 50 } } } },
    { startWorker: { concurrency: 1 } },
    { settle: true },
  ],
});
