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
  ],
});
