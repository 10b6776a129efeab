import fs from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Queue } from '../../src/index.js';
import { readJob } from '../../src/spool/lookup.js';
import { discardJobFile } from '../../src/spool/pool.js';
import { tmpSpool, track } from '../fixtures/core/helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('finding a job whose file is removed and reused meanwhile', () => {
  // Another process removes the job (a replacing add in another producer, say) and reuses its
  // file from the pool for a deduplication key or a job still being written, between this
  // reader's open of the id name and its read: the job is gone, not corrupt.
  for (const reuse of ['a deduplication key', 'a torn job record'] as const) {
    it(`says the job is gone when the file now holds ${reuse}`, async () => {
      const q = track(new Queue('q', { spool: tmpSpool() }));
      const a = await q.add('a', { v: 1 }, { delay: 60_000, deduplication: { id: 'd', ttl: 60_000 } });
      const file = readJob(q.store, a.id!)!.loc.path;
      const realRead = fs.readFileSync;
      let raced = false;
      vi.spyOn(fs, 'readFileSync').mockImplementation(((p: fs.PathOrFileDescriptor, o?: unknown) => {
        if (typeof p === 'number' && !raced) {
          raced = true;
          expect(discardJobFile(q.store, a.id!, file)).toBe(true);
          const text = reuse === 'a deduplication key' ? JSON.stringify({ id: 'd', jobId: '77', expiresAt: null }) : '{"v":1,"id":"78","na';
          q.store.writeJobTmp(text);
        }
        return realRead(p, o as BufferEncoding);
      }) as typeof fs.readFileSync);
      expect(readJob(q.store, a.id!)).toBeUndefined();
      expect(raced).toBe(true);
    });
  }
});
