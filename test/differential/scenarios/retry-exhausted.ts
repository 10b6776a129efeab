import { scenario } from '../scenario.js';

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
  divergences: [
    // spoolkit's events carry numbers as numbers; BullMQ's Redis stream gives this one as a string.
    { path: 'events.j.10.attemptsMade', bullmq: '3', spoolkit: 3, doc: 'docs/bullmq-differences.md#semantics-to-know (Events)' },
  ],
});
