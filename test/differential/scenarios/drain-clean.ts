import { scenario } from '../scenario.js';

// §2.8: drain(delayed) deletes waiting (and with `true` delayed) jobs; clean(grace, limit, type)
// deletes up to `limit` finished jobs older than `grace` ms and returns their ids.
export default scenario({
  id: 'drain-clean',
  description: 'drain() empties waiting but keeps delayed; drain(true) removes delayed too; clean() removes finished jobs by age and limit.',
  behaviour: { ok: [{ return: 'ok' }], bad: [{ throw: 'bad' }] },
  steps: [
    { add: { label: 'c1', name: 'ok' } },
    { add: { label: 'c2', name: 'ok' } },
    { add: { label: 'c3', name: 'ok' } },
    { add: { label: 'f1', name: 'bad' } },
    { startWorker: { concurrency: 1 } },
    { settle: true },
    { closeWorker: true },
    { add: { label: 'w1', name: 'ok' } },
    { add: { label: 'p1', name: 'ok', opts: { priority: 3 } } },
    { add: { label: 'd1', name: 'ok', opts: { delay: 60_000 } } },
    { drain: {} },
    { snapshot: 'after-drain' },
    { drain: { delayed: true } },
    { snapshot: 'after-drain-delayed' },
    { sleepMs: 50 },
    { clean: { as: 'cleaned-completed', graceMs: 0, limit: 2, type: 'completed' } },
    { clean: { as: 'cleaned-failed', graceMs: 0, limit: 10, type: 'failed' } },
    { snapshot: 'after-clean' },
  ],
  divergences: [
    // spoolkit's events carry numbers as numbers; BullMQ's Redis stream gives this one as a string.
    { path: 'events.f1.4.attemptsMade', bullmq: '1', spoolkit: 1, doc: 'docs/bullmq-differences.md#semantics-to-know (Events)' },
  ],
});
