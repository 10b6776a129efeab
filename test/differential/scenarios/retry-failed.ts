import { scenario } from '../scenario.js';
import { EXHAUSTED_WITHOUT_ATTEMPTS } from '../known.js';

// §1.4 job.retry(): a failed job goes back to `waiting` and runs again.
export default scenario({
  id: 'retry-failed',
  description: 'A job that failed for good is retried by job.retry() and then completes.',
  behaviour: { twice: [{ throw: 'first run fails' }, { return: 'second run' }] },
  steps: [
    { add: { label: 'j', name: 'twice' } },
    { startWorker: { concurrency: 1 } },
    { settle: true },
    { snapshot: 'failed' },
    { retry: 'j' },
    { settle: true },
  ],
  knownDifferences: [
    {
      path: 'events.j',
      bullmq: [
        { event: 'added', name: 'twice' },
        { event: 'waiting' },
        { event: 'active', prev: 'waiting' },
        { event: 'failed', failedReason: 'first run fails', prev: 'active' },
        { event: 'retries-exhausted', attemptsMade: '1' },
        { event: 'waiting', prev: 'failed' },
        { event: 'active', prev: 'waiting' },
        { event: 'completed', returnvalue: 'second run', prev: 'active' },
      ],
      spoolkit: [
        { event: 'added', name: 'twice' },
        { event: 'waiting' },
        { event: 'active', prev: 'waiting' },
        { event: 'failed', failedReason: 'first run fails', prev: 'active' },
        { event: 'waiting', prev: 'failed' },
        { event: 'active', prev: 'waiting' },
        { event: 'completed', returnvalue: 'second run', prev: 'active' },
      ],
      note: EXHAUSTED_WITHOUT_ATTEMPTS,
    },
  ],
});
