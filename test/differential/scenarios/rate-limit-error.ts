import { scenario } from '../scenario.js';

// §1.3 / §1.6: worker.rateLimit(ms) + Worker.RateLimitError() puts the job back at the front of
// the queue without counting the attempt; the worker waits out the limit, then runs it first.
export default scenario({
  id: 'rate-limit-error',
  description: 'A processor meets a rate limit once: its job goes back to the front, unfailed, and runs again before the next job.',
  behaviour: { call: [{ progress: [10], rateLimitMs: 200 }, { return: 'sent' }], other: [{ return: 'done' }] },
  steps: [
    { addBulk: [
      { label: 'a', name: 'call', data: { n: 1 }, opts: { attempts: 1 } },
      { label: 'b', name: 'other', data: { n: 2 } },
    ] },
    { startWorker: { concurrency: 1 } },
    { settle: true },
  ],
});
