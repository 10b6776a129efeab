import { describe, expect, it } from 'vitest';
import { ReadyJobs, type Candidate } from '../../src/inline.js';

function candidate(index: number, key: string, rank = 1, priority = 0): Candidate {
  return { index, place: 'waiting', order: [rank, priority, key] };
}

function byOrder(a: Candidate['order'], b: Candidate['order']): boolean {
  if (a[0] !== b[0]) return a[0] < b[0];
  if (a[1] !== b[1]) return a[1] < b[1];
  return a[2] < b[2];
}

describe('ReadyJobs (the next job of an inline call)', () => {
  it('gives the jobs in a Worker order, skipping ones deleted or set again', () => {
    const ready = new ReadyJobs();
    ready.set(candidate(0, 'b'));
    ready.set(candidate(1, 'a'));
    ready.set(candidate(2, 'z', 0)); // LIFO first
    ready.set(candidate(3, 'c', 2, 5));
    ready.set(candidate(4, 'c', 2, 1));
    ready.delete(0);
    ready.set(candidate(1, 'y')); // read again: now after the others waiting
    const taken: number[] = [];
    for (let c = ready.first(); c; c = ready.first()) {
      taken.push(c.index);
      ready.delete(c.index);
    }
    expect(taken).toEqual([2, 1, 4, 3]);
  });

  it('chooses among n jobs with O(n log n) comparisons, not n² (an addBulk of 10,000 jobs spent seconds choosing)', () => {
    let comparisons = 0;
    const ready = new ReadyJobs((a, b) => {
      comparisons++;
      return byOrder(a, b);
    });
    const n = 10_000;
    for (let i = 0; i < n; i++) ready.set(candidate(i, String(i).padStart(6, '0')));
    const taken: string[] = [];
    for (let c = ready.first(); c; c = ready.first()) {
      taken.push(c.order[2]);
      ready.delete(c.index);
    }
    expect(taken).toHaveLength(n);
    expect(taken).toEqual([...taken].sort());
    expect(comparisons).toBeLessThan(4 * n * Math.log2(n));
  });
});
