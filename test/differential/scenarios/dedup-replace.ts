import { scenario } from '../scenario.js';

// §1.2 debounce deduplication (`replace`): while the job holding the key is delayed, each add
// removes it and takes its place, so only the last one runs; once the holder is no longer delayed
// (here: completed, its ttl still running) an add resolves to it without a `deduplicated` event.
const debounce = { delay: 60_000, deduplication: { id: 'search-7', ttl: 60_000, replace: true, extend: true } };

export default scenario({
  id: 'dedup-replace',
  description: 'Debounce: each add replaces the delayed holder of its deduplication id; a holder no longer delayed stays.',
  behaviour: { search: [{ return: 'indexed' }] },
  steps: [
    { add: { label: 'first', name: 'search', data: { q: 'a' }, opts: debounce } },
    { add: { label: 'second', name: 'search', data: { q: 'ab' }, opts: debounce } },
    { add: { label: 'third', name: 'search', data: { q: 'abc' }, opts: debounce } },
    { snapshot: 'replaced' },
    { promote: 'third' },
    { startWorker: { concurrency: 1 } },
    { settle: true },
    { add: { label: 'after-run', name: 'search', data: { q: 'abcd' }, opts: debounce } },
    { snapshot: 'kept' },
  ],
});
