import { scenario } from '../scenario.js';

// §1.6 / §2.3: UnrecoverableError fails the job at once, whatever attempts remain.
export default scenario({
  id: 'unrecoverable',
  description: 'An UnrecoverableError on the first try fails the job immediately despite attempts: 5.',
  behaviour: { fatal: [{ unrecoverable: 'bad input' }], fine: [{ return: 1 }] },
  steps: [
    { add: { label: 'bad', name: 'fatal', opts: { attempts: 5, backoff: 10 } } },
    { add: { label: 'good', name: 'fine', opts: { attempts: 5 } } },
    { startWorker: { concurrency: 1 } },
    { settle: true },
  ],
});
