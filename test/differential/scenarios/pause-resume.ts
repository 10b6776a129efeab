import { scenario } from '../scenario.js';

// §2.8: pause() is a queue flag; jobs stay `waiting` (v6 has no `paused` state) and no worker
// takes them until resume().
export default scenario({
  id: 'pause-resume',
  description: 'While the queue is paused a running worker takes nothing and jobs count as waiting; resume releases them.',
  behaviour: { job: [{ return: 'ok' }] },
  steps: [
    { pause: true },
    { add: { label: 'a', name: 'job' } },
    { add: { label: 'b', name: 'job', opts: { priority: 2 } } },
    { startWorker: { concurrency: 1 } },
    { sleepMs: 400 },
    { snapshot: 'paused' },
    { resume: true },
    { settle: true },
  ],
});
