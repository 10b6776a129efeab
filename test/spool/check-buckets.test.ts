import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bucketDirs } from '../../src/spool/check-buckets.js';
import { tmpSpool } from '../fixtures/core/helpers.js';

/** Makes `dir/<rel>` for each rel; returns the queue directory. */
function tree(rels: string[]): string {
  const q = path.join(tmpSpool(), 'queues', 'q');
  for (const r of rels) fs.mkdirSync(path.join(q, r), { recursive: true });
  return q;
}

describe('bucketDirs', () => {
  it('yields priorities, top buckets and id shards first, then the leaves at both ends of each set, then the rest', () => {
    const leaves = Array.from({ length: 40 }, (_, k) => `waiting/0000001/${String(1000 + k).padStart(10, '0')}`);
    const q = tree([...leaves, 'waiting/0000002/0000002048', 'prioritized/0000005/0000001/0000001024', 'ids/n0', 'ids/n12', 'ids/ab', 'ids/stray.tmp']);
    const rel = [...bucketDirs([q])].map((d) => path.relative(q, d));
    expect(rel.slice(0, 7)).toEqual(['prioritized/0000005', 'waiting/0000001', 'waiting/0000002', 'prioritized/0000005/0000001', 'ids/n12', 'ids/n0', 'ids/ab']);
    // The head's first 16 leaves, the tail's leaf, then the prioritized set's only leaf.
    expect(rel.slice(7, 25)).toEqual([...leaves.slice(0, 16), 'waiting/0000002/0000002048', 'prioritized/0000005/0000001/0000001024']);
    expect(rel.slice(25)).toEqual(leaves.slice(16));
  });
});
