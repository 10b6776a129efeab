import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { runRetention } from '../../src/spool/retention.js';
import { tmpSpool, track } from '../fixtures/core/helpers.js';

function finish(q: Queue, ids: string[], keep: unknown): void {
  for (const id of ids) q.store.events.append('completed', { jobId: id }, { k: keep });
  q.store.events.flush();
}

describe('retention passes', () => {
  it('reads the state another process saved instead of its own copy of an older state', () => {
    const q = track(new Queue('q', { spool: tmpSpool() }));
    finish(q, ['a1', 'a2', 'a3', 'a4', 'a5'], { count: 10 });
    expect(runRetention(q.store, Date.now())).toBe(0);
    // Another process's pass: it saw the same events, then a job finished there with { count: 1 }.
    const file = path.join(q.store.dir, 'retention.json');
    const saved = JSON.parse(fs.readFileSync(file, 'utf8')) as { pos: string };
    const now = Date.now();
    fs.writeFileSync(file, JSON.stringify({ pos: saved.pos, savedAt: now, completed: [['b1', now], ['b2', now], ['b3', now]], failed: [], keepCompleted: { count: 1 } }));
    expect(runRetention(q.store, Date.now())).toBe(2);
  });
});
