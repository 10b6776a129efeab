import { scenario } from '../scenario.js';

// §1.1 getJobs: lists by state; `asc` picks the direction; start/end apply per state.
export default scenario({
  id: 'get-jobs',
  description: 'getJobs lists waiting, prioritized and delayed jobs in both directions, and failed jobs after a run.',
  behaviour: { ok: [{ return: 1 }], bad: [{ throw: 'no' }] },
  steps: [
    { add: { label: 'w1', name: 'ok' } },
    { add: { label: 'w2', name: 'ok' } },
    { add: { label: 'p2', name: 'ok', opts: { priority: 2 } } },
    { add: { label: 'p1', name: 'ok', opts: { priority: 1 } } },
    { add: { label: 'd1', name: 'ok', opts: { delay: 60_000 } } },
    { add: { label: 'f1', name: 'bad' } },
    { list: { as: 'waiting-asc', types: ['waiting'], asc: true } },
    { list: { as: 'waiting-desc', types: ['waiting'] } },
    { list: { as: 'prioritized-asc', types: ['prioritized'], asc: true } },
    { list: { as: 'delayed', types: ['delayed'] } },
    // Promoted rather than left to come due, so the order does not depend on timing.
    { promote: 'd1' },
    { startWorker: { concurrency: 1 } },
    { settle: true },
    // Not listed: `completed` in BullMQ is ordered by finish time in ms, so jobs finishing in the
    // same millisecond come back in either order from one run to the next.
    { list: { as: 'failed', types: ['failed'] } },
  ],
  divergences: [
    // spoolkit's events carry numbers as numbers; BullMQ's Redis stream gives this one as a string.
    { path: 'events.f1.4.attemptsMade', bullmq: '1', spoolkit: 1, doc: 'docs/bullmq-differences.md#semantics-to-know (Events)' },
  ],
});
