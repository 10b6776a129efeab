import { scenario } from '../scenario.js';

// §2.5: removeOnComplete true deletes at finish; a number keeps the newest n; removeOnFail likewise.
export default scenario({
  id: 'remove-on-complete',
  description: 'removeOnComplete: true and a count, removeOnFail: true; removed jobs are gone and uncounted.',
  behaviour: { ok: [{ return: 'ok' }], bad: [{ throw: 'bad' }] },
  steps: [
    { add: { label: 'gone', name: 'ok', opts: { removeOnComplete: true } } },
    { add: { label: 'k1', name: 'ok', opts: { removeOnComplete: 2 } } },
    { add: { label: 'k2', name: 'ok', opts: { removeOnComplete: 2 } } },
    { add: { label: 'k3', name: 'ok', opts: { removeOnComplete: 2 } } },
    { add: { label: 'k4', name: 'ok', opts: { removeOnComplete: 2 } } },
    { add: { label: 'failgone', name: 'bad', opts: { removeOnFail: true } } },
    { add: { label: 'failkept', name: 'bad' } },
    { startWorker: { concurrency: 1 } },
    { settle: true },
    // BullMQ trims the finished sets as each job finishes; spoolkit trims them in a background
    // retention pass, at most a second late (docs/bullmq-differences.md#defaults-that-differ-on-purpose,
    // "Retention"), so the final observation is taken after that pass has had time to run, with room for a
    // loaded machine.
    { sleepMs: 4000 },
  ],
  divergences: [
    // spoolkit's events carry numbers as numbers; BullMQ's Redis stream gives this one as a string.
    { path: 'events.failgone.4.attemptsMade', bullmq: '1', spoolkit: 1, doc: 'docs/bullmq-differences.md#semantics-to-know (Events)' },
    { path: 'events.failkept.4.attemptsMade', bullmq: '1', spoolkit: 1, doc: 'docs/bullmq-differences.md#semantics-to-know (Events)' },
  ],
});
