import { scenario } from '../scenario.js';

// §1.2: `exportPrometheusMetrics` gives the job counts by state and the completed and failed
// totals that workers with the `metrics` option collect. A worker without the option counts
// nothing; a failure that is retried is not a failure yet; label values are escaped.
export default scenario({
  id: 'metrics',
  description: 'Completed and failed totals count only the finishes of a worker with `metrics`, and only final failures; the export lists every state and escapes labels.',
  behaviour: {
    ok: [{ return: 'done' }],
    bad: [{ throw: 'broken' }],
    fatal: [{ unrecoverable: 'fatal' }],
    flaky: [{ throw: 'once' }, { return: 'second time' }],
  },
  steps: [
    { add: { label: 'uncounted', name: 'ok' } },
    { startWorker: {} },
    { settle: true },
    { closeWorker: true },
    { prometheus: { as: 'before' } },
    {
      addBulk: [
        { label: 'a', name: 'ok' },
        { label: 'b', name: 'ok' },
        { label: 'c', name: 'bad' },
        { label: 'd', name: 'fatal', opts: { attempts: 3 } },
        { label: 'e', name: 'flaky', opts: { attempts: 2 } },
      ],
    },
    { startWorker: { metrics: { maxDataPoints: 60 } } },
    { settle: true },
    { add: { label: 'later', name: 'ok', opts: { delay: 60_000 } } },
    { prometheus: { as: 'after', labels: { env: 'staging "blue"', region: 'eu\\west' } } },
    // The last add's events arrive before the run ends.
    { sleepMs: 300 },
  ],
  divergences: [
    // spoolkit's events carry numbers as numbers; BullMQ's Redis stream gives this one as a string.
    { path: 'events.c.4.attemptsMade', bullmq: '1', spoolkit: 1, doc: 'docs/bullmq-differences.md#semantics-to-know (Events)' },
  ],
});
