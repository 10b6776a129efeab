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
  it('yields priorities, the end top buckets and the newest id shard first, then the leaves at both ends of each set, then the rest', () => {
    const leaves = Array.from({ length: 40 }, (_, k) => `waiting/0000001/${String(1000 + k).padStart(10, '0')}`);
    const q = tree([...leaves, 'waiting/0000002/0000002048', 'prioritized/0000005/0000001/0000001024', 'ids/n0', 'ids/n12', 'ids/ab', 'ids/stray.tmp']);
    const rel = [...bucketDirs([q])].map((d) => path.relative(q, d));
    expect(rel.slice(0, 5)).toEqual(['prioritized/0000005', 'waiting/0000001', 'waiting/0000002', 'prioritized/0000005/0000001', 'ids/n12']);
    // The head's first 16 leaves, the tail's leaf, then the prioritized set's only leaf.
    expect(rel.slice(5, 23)).toEqual([...leaves.slice(0, 16), 'waiting/0000002/0000002048', 'prioritized/0000005/0000001/0000001024']);
    // Then the other id shards, then the other leaves.
    expect(rel.slice(23, 25)).toEqual(['ids/n0', 'ids/ab']);
    expect(rel.slice(25)).toEqual(leaves.slice(16));
  });

  it('reaches every queue\'s head and tail leaves within a small budget however many id shards and top buckets there are', () => {
    const root = path.join(tmpSpool(), 'queues');
    const queues = ['a', 'b', 'c', 'd'].map((name) => {
      const q = path.join(root, name);
      // 256 hash shards of custom ids and a month of delayed top buckets.
      for (let k = 0; k < 256; k++) fs.mkdirSync(path.join(q, 'ids', k.toString(16).padStart(2, '0')), { recursive: true });
      for (let t = 0; t < 300; t++) fs.mkdirSync(path.join(q, 'delayed', String(1_000_000 + t).padStart(7, '0'), String(1_000_000_000 + t).padStart(10, '0')), { recursive: true });
      fs.mkdirSync(path.join(q, 'waiting', '1712388', '1753481759'), { recursive: true });
      return q;
    });
    const first = [...bucketDirs(queues)].slice(0, 100).map((d) => path.relative(root, d));
    for (const name of ['a', 'b', 'c', 'd']) {
      expect(first).toContain(`${name}/waiting/1712388/1753481759`);
      expect(first).toContain(`${name}/delayed/1000000/1000000000`);
      expect(first).toContain(`${name}/delayed/1000299/1000000299`);
    }
  });
});
