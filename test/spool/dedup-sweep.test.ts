import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { runRetention } from '../../src/spool/retention.js';
import { tmpSpool, track } from '../fixtures/core/helpers.js';

describe('the deduplication sweep of retention', () => {
  it('keeps fresh key locks and broken locks, and removes those a dead process left once settled', () => {
    const q = track(new Queue('q', { spool: tmpSpool() }));
    const dir = path.join(q.store.dir, 'dedup');
    fs.mkdirSync(dir, { recursive: true });
    const names = ['a.json.lock', 'a.json.lock.x1.broken', 'b.json.old'];
    for (const n of names) fs.writeFileSync(path.join(dir, n), '');
    runRetention(q.store, Date.now());
    expect(fs.readdirSync(dir).sort()).toEqual([...names].sort());
    // The next sweep, six minutes on: all of them settled a minute ago and more.
    runRetention(q.store, Date.now() + 6 * 60_000);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('the sweep of broken-lock leftovers', () => {
  it('removes a broken lock left beside the concurrency lock and the metrics locks once settled, and nothing else', () => {
    const q = track(new Queue('q', { spool: tmpSpool() }));
    const metrics = path.join(q.store.dir, 'metrics');
    fs.mkdirSync(metrics, { recursive: true });
    const leftovers = [path.join(q.store.dir, 'concurrency.lock.x1.broken'), path.join(metrics, 'completed.lock.x2.broken')];
    const kept = [path.join(q.store.dir, 'concurrency.json'), path.join(metrics, 'completed.json')];
    for (const f of [...leftovers, ...kept]) fs.writeFileSync(f, '{}');
    runRetention(q.store, Date.now());
    for (const f of leftovers) expect(fs.existsSync(f)).toBe(true);
    runRetention(q.store, Date.now() + 6 * 60_000);
    for (const f of leftovers) expect(fs.existsSync(f)).toBe(false);
    for (const f of kept) expect(fs.existsSync(f)).toBe(true);
  });
});
