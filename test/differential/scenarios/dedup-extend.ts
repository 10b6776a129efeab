import { scenario } from '../scenario.js';

// §1.2 deduplication with `extend`: every deduplicated add restarts the key's ttl, so adds keep
// resolving to the first job while they come closer together than the ttl; once the ttl runs out
// the next add is a new job. Gaps are 600 ms against a 1000 ms ttl: 400 ms of slack either way.
const extend = { deduplication: { id: 'ping', ttl: 1000, extend: true } };

export default scenario({
  id: 'dedup-extend',
  description: 'Extend: deduplicated adds restart the ttl; an add after the ttl runs out is a new job.',
  behaviour: { ping: [{ return: 'pong' }] },
  steps: [
    { add: { label: 'first', name: 'ping', data: { n: 1 }, opts: extend } },
    { sleepMs: 600 },
    { add: { label: 'extends', name: 'ping', data: { n: 2 }, opts: extend } },
    { sleepMs: 600 },
    { add: { label: 'extended', name: 'ping', data: { n: 3 }, opts: extend } },
    { sleepMs: 1500 },
    { add: { label: 'expired', name: 'ping', data: { n: 4 }, opts: extend } },
    { startWorker: { concurrency: 1 } },
    { settle: true },
  ],
});
