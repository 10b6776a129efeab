import { scenario } from '../scenario.js';
import { EXHAUSTED_ATTEMPTS_TYPE } from '../known.js';

// §2.3: when no attempts are left the job fails for good with the last error's message;
// exponential backoff (§2.4) between the tries.
export default scenario({
  id: 'retry-exhausted',
  description: 'attempts: 3, exponential backoff, always failing: the job ends failed with attemptsMade 3.',
  behaviour: { broken: [{ throw: 'boom 1' }, { throw: 'boom 2' }, { throw: 'boom 3' }] },
  steps: [
    { add: { label: 'j', name: 'broken', data: { x: 1 }, opts: { attempts: 3, backoff: { type: 'exponential', delay: 20 } } } },
    { startWorker: { concurrency: 1 } },
    { settle: true },
  ],
  knownDifferences: [{ path: 'events.j.10.attemptsMade', bullmq: '3', spoolkit: 3, note: EXHAUSTED_ATTEMPTS_TYPE }],
});
