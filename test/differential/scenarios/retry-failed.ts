import { scenario } from '../scenario.js';

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
  divergences: [
    // spoolkit's events carry numbers as numbers; BullMQ's Redis stream gives this one as a string.
    { path: 'events.j.4.attemptsMade', bullmq: '1', spoolkit: 1, doc: 'docs/bullmq-differences.md#semantics-to-know (Events)' },
  ],
});
