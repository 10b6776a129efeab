/**
 * A keepLastIfActive add decides on one sight of the key's job: a holder that finishes between
 * the look that finds the key held and the look that decides to keep the add must not make the
 * add `deduplicated` with its job dropped. The finish is made to fall between the looks by
 * answering every look after the first as the finished job would be answered.
 */
import { describe, expect, it, vi } from 'vitest';
import type * as Lookup from '../../src/spool/lookup.js';
import { Queue, Worker } from '../../src/index.js';
import { tmpSpool, track } from '../fixtures/core/helpers.js';

const hook: { id?: string; looks: number } = { looks: 0 };

vi.mock('../../src/spool/lookup.js', async (importOriginal) => {
  const real = await importOriginal<typeof Lookup>();
  return {
    ...real,
    locate: (store: Parameters<typeof real.locate>[0], id: string) => {
      const found = real.locate(store, id);
      if (id !== hook.id || !found) return found;
      // The first look sees the holder running; it finishes right after.
      return hook.looks++ === 0 ? found : { place: 'completed', path: '' };
    },
  };
});

describe('keepLastIfActive meeting a holder that finishes as it looks', () => {
  it('keeps the add (added at once, its holder being done), never drops it', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const dedup = { deduplication: { id: 'entity', keepLastIfActive: true } };
    const holder = await q.add('j', { n: 1 }, dedup);
    const w = track(new Worker('q', null, { spool }));
    expect((await w.getNextJob('t'))?.id).toBe(holder.id);
    hook.id = holder.id;
    const kept = await q.add('j', { n: 2 }, dedup);
    hook.id = undefined;
    expect(kept.id).toBe(holder.id);
    const waiting = await q.getWaiting();
    expect(waiting.map((j) => j.data)).toEqual([{ n: 2 }]);
  });
});
