import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { RateLimiter, rateLimitProblem, readGlobalRateLimit, removeGlobalRateLimit, writeGlobalRateLimit } from '../../src/spool/rate-limit.js';
import { tmpSpool, track } from '../fixtures/core/helpers.js';

/** A queue's store, and two limiters over it standing for two processes. */
function setup() {
  const q = track(new Queue('q', { spool: tmpSpool() }));
  return { store: q.store, a: new RateLimiter(q.store), b: new RateLimiter(q.store) };
}

const T = 1_000_000;

describe('RateLimiter', () => {
  it('admits max starts per window, counted across limiters, and begins the next window at the first start after the end', () => {
    const { a, b } = setup();
    expect(a.take(3, 500, T)).toHaveProperty('slot');
    expect(b.take(3, 500, T + 10)).toHaveProperty('slot');
    expect(a.take(3, 500, T + 20)).toHaveProperty('slot');
    expect(b.take(3, 500, T + 30)).toEqual({ waitMs: 470 });
    expect(a.take(3, 500, T + 499)).toEqual({ waitMs: 1 });
    // The window began at the first start (T), not at a boundary, and the next one begins at the
    // first start after it ended, with that start's time.
    expect(b.take(3, 500, T + 800)).toHaveProperty('slot');
    expect(a.ttl(1, T + 900)).toBe(400);
    expect(a.ttl(2, T + 900)).toBe(0);
  });

  it('never holds more than max starts in a window, whatever the interleaving', () => {
    const { store } = setup();
    const limiters = Array.from({ length: 4 }, () => new RateLimiter(store));
    let taken = 0;
    for (let i = 0; i < 40; i++) if ('slot' in limiters[i % 4]!.take(7, 1000, T + i)) taken++;
    expect(taken).toBe(7);
    expect(fs.readdirSync(limiters[0]!.dir).filter((f) => f.startsWith('s.'))).toHaveLength(7);
  });

  it('a manual limit stops every limiter at once, even one with a live window of its own', () => {
    const { a, b } = setup();
    expect(a.take(100, 10_000, T)).toHaveProperty('slot');
    b.limitFor(300, T + 5);
    expect(a.take(100, 10_000, T + 10)).toEqual({ waitMs: 295 });
    expect(a.peek(100, T + 10)).toEqual({ free: 0, waitMs: 295 });
    expect(b.ttl(undefined, T + 10)).toBe(295);
    expect(b.ttl(1_000_000, T + 10)).toBe(295);
    // After it, a start begins a window of its own duration.
    expect(a.take(100, 10_000, T + 305)).toHaveProperty('slot');
    expect(a.ttl(undefined, T + 305)).toBe(10_000);
  });

  it('answers getRateLimitTtl and removeRateLimitKey as Redis would', () => {
    const { a, b } = setup();
    expect(a.ttl(undefined, T)).toBe(-2);
    expect(a.ttl(5, T)).toBe(0);
    expect(a.remove(T)).toBe(0);
    a.take(5, 1000, T);
    expect(a.ttl(undefined, T + 100)).toBe(900);
    expect(a.ttl(5, T + 100)).toBe(0);
    expect(a.ttl(1, T + 100)).toBe(900);
    expect(b.remove(T + 100)).toBe(1);
    expect(b.remove(T + 100)).toBe(0);
    expect(a.ttl(undefined, T + 100)).toBe(-2);
    // The removed window counts nothing: a full quota at once.
    for (let i = 0; i < 5; i++) expect(a.take(5, 1000, T + 101)).toHaveProperty('slot');
    expect(a.take(5, 1000, T + 101)).toHaveProperty('waitMs');
  });

  it('a limiter that slept through many windows begins the next number, not an old one', () => {
    const { a, b } = setup();
    a.take(1, 100, T);
    for (let i = 1; i <= 12; i++) b.take(1, 100, T + i * 100);
    // a still knows window 1 only; b's windows up to 13 exist (the old ones swept).
    expect(a.take(1, 100, T + 1300)).toHaveProperty('slot');
    expect(b.take(1, 100, T + 1301)).toEqual({ waitMs: 99 });
    const windows = fs.readdirSync(a.dir).filter((f) => f.startsWith('w.')).map((f) => Number(f.slice(2)));
    expect(Math.max(...windows)).toBe(14);
  });

  it('sweeps the files of old windows as later starts come', () => {
    const { a } = setup();
    for (let w = 0; w < 30; w++) for (let k = 0; k < 5; k++) a.take(5, 100, T + w * 100 + k);
    const names = fs.readdirSync(a.dir);
    const windows = new Set(names.map((n) => n.split('.')[1]));
    // The newest two windows, and what the last few starts have not swept yet.
    expect(names.length).toBeLessThanOrEqual(2 * 6 + 8);
    expect(windows.size).toBeLessThanOrEqual(4);
  });

  it('a process that only begins windows (manual limits) sweeps the old ones too', () => {
    const { a, b } = setup();
    for (let i = 0; i < 5; i++) b.take(5, 100, T);
    for (let i = 1; i <= 50; i++) a.limitFor(10, T + i * 20);
    expect(fs.readdirSync(a.dir).length).toBeLessThanOrEqual(8);
  });

  it('starts over once its window ends when the queue directory was removed (obliterate)', () => {
    const { a } = setup();
    a.take(1, 1000, T);
    fs.rmSync(a.dir, { recursive: true });
    expect(a.take(1, 1000, T + 1)).toEqual({ waitMs: 999 });
    // Its own window's next slot cannot be made: the directory and the window begin again.
    expect(a.take(2, 1000, T + 2)).toHaveProperty('slot');
    expect(fs.readdirSync(a.dir).sort()).toEqual(['s.1.0', 'w.1']);
    expect(a.ttl(undefined, T + 2)).toBe(1000);
  });
});

describe('global rate limit file', () => {
  it('is written, read and removed, answering whether it existed', () => {
    const { store } = setup();
    expect(readGlobalRateLimit(store)).toBeUndefined();
    expect(writeGlobalRateLimit(store, { max: 3, duration: 1000 })).toBe(true);
    expect(writeGlobalRateLimit(store, { max: 4, duration: 500 })).toBe(false);
    expect(readGlobalRateLimit(store)).toEqual({ max: 4, duration: 500 });
    expect(removeGlobalRateLimit(store)).toBe(true);
    expect(removeGlobalRateLimit(store)).toBe(false);
  });

  it('rate-limit numbers are checked with a message naming the rule', () => {
    expect(rateLimitProblem(1, 1)).toBeUndefined();
    expect(rateLimitProblem(0, 1000)).toMatch(/`max` must be a whole number of jobs >= 1, got `0`/);
    expect(rateLimitProblem(1.5, 1000)).toMatch(/`max`/);
    expect(rateLimitProblem(2, 0)).toMatch(/`duration` must be a number of milliseconds >= 1/);
    expect(rateLimitProblem(2, Number.NaN)).toMatch(/`duration`/);
  });
});
