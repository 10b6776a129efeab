import { scenario } from '../scenario.js';

// §1.4 / §2.1: job.moveToDelayed + DelayedError parks the job in `delayed` without counting the
// attempt; it runs again when due.
export default scenario({
  id: 'move-to-delayed',
  description: 'A processor defers its job once with moveToDelayed/DelayedError; the attempt is not counted.',
  behaviour: { step: [{ updateData: { stage: 2 }, moveToDelayedMs: 100 }, { return: 'finished' }] },
  steps: [
    { add: { label: 'j', name: 'step', data: { stage: 1 }, opts: { attempts: 1 } } },
    { startWorker: { concurrency: 1 } },
    { settle: true },
  ],
});
