import { scenario } from '../scenario.js';

// §2.4 custom strategies: settings.backoffStrategy decides the delay for unknown types;
// -1 means fail now.
export default scenario({
  id: 'custom-backoff',
  description: 'A custom backoff type uses the worker strategy; returning -1 fails the job at once.',
  behaviour: { flaky: [{ throw: 'nope' }, { return: 'fine' }] },
  steps: [
    { add: { label: 'j', name: 'flaky', opts: { attempts: 4, backoff: { type: 'mine', delay: 1 } } } },
    { startWorker: { concurrency: 1, backoffStrategy: 'failAfterFirst' } },
    { settle: true },
  ],
});
