import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { forgetParentView, parentView } from '../../src/spool/parent-view.js';
import { openQueueStore } from '../../src/spool/open.js';
import { tmpSpool } from '../fixtures/core/helpers.js';

function record(id: string, deps: string[], name = 'p'): string {
  // Options long enough that the children are listed past the bytes compared at the start.
  return `${JSON.stringify({ v: 1, id, name, opts: { attempts: 1, backoff: { type: 'custom-'.padEnd(300, 'x') } }, timestamp: 1_700_000_000_000, delay: 0, priority: 0, attemptsMade: 0, attemptsStarted: 0, stalledCounter: 0, progress: 0, returnvalue: null, stacktrace: [], gen: 0, deps })}\n`;
}

function setup() {
  const store = openQueueStore('parents', { spool: tmpSpool() });
  const file = path.join(store.dir, 'p.json');
  const view = (id = 'p1') => {
    const fd = fs.openSync(file, 'r');
    try {
      const v = parentView(store, id, fd, file);
      return v && { deps: [...v.deps], next: v.next, v };
    } finally {
      fs.closeSync(fd);
    }
  };
  return { store, file, view };
}

describe('parentView', () => {
  it('reads only what was appended since, in order, once each, skipping patches that name another job', () => {
    const { file, view } = setup();
    fs.writeFileSync(file, record('p1', ['k:1', 'k:2']));
    const first = view()!;
    expect(first.deps).toEqual(['k:1', 'k:2']);
    first.v.next = 2;
    fs.appendFileSync(file, `${JSON.stringify({ addDeps: ['k:3', 'k:1'], i: 'p1' })}\n`);
    fs.appendFileSync(file, `${JSON.stringify({ at: 'waiting-children/p1.json' })}\n`);
    fs.appendFileSync(file, `${JSON.stringify({ addDeps: ['k:9'], i: 'other' })}\n`);
    fs.appendFileSync(file, `${JSON.stringify({ addDeps: ['k:8'], i: 'p1', ts: 5 })}\n`);
    fs.appendFileSync(file, `${JSON.stringify({ addDeps: ['k:4'] })}\n`);
    const later = view()!;
    expect(later.deps).toEqual(['k:1', 'k:2', 'k:3', 'k:4']);
    // The same view, so how far the caller got is kept.
    expect(later.next).toBe(2);
  });

  it('leaves a line still being written for the next look', () => {
    const { file, view } = setup();
    fs.writeFileSync(file, record('p1', ['k:1']));
    view();
    const line = JSON.stringify({ addDeps: ['k:2'], i: 'p1' });
    fs.appendFileSync(file, line.slice(0, 10));
    expect(view()!.deps).toEqual(['k:1']);
    fs.appendFileSync(file, `${line.slice(10)}\n`);
    expect(view()!.deps).toEqual(['k:1', 'k:2']);
  });

  it('reads a file reused for another record whole, when its start or its end differs from what was read', () => {
    const { file, view } = setup();
    fs.writeFileSync(file, record('p1', ['k:aaaa']));
    view()!.v.next = 1;
    const ino = fs.statSync(file).ino;
    // Rewritten in place (the same inode, as a pooled file is), the same length, differing at the start.
    const other = record('p1', ['k:aaaa'], 'q');
    expect(other.length).toBe(fs.statSync(file).size);
    fs.writeFileSync(file, other);
    expect(fs.statSync(file).ino).toBe(ino);
    expect(view()!.next).toBe(0);
    view()!.v.next = 1;
    // ... and differing only in its last bytes.
    fs.writeFileSync(file, record('p1', ['k:bbbb'], 'q'));
    const reread = view()!;
    expect(reread.deps).toEqual(['k:bbbb']);
    expect(reread.next).toBe(0);
    // Another job's record: no view.
    fs.writeFileSync(file, record('p2', ['k:bbbb']));
    expect(view()).toBeUndefined();
  });

  it('tells apart two records of the same id, name and options that differ only in their timestamp and children', () => {
    const { file, view } = setup();
    // As spoolkit writes them: the timestamp past the first 256 bytes, the children mid-line.
    const real = (deps: string[], timestamp: number) =>
      `${JSON.stringify({ v: 1, id: 'p1', name: 'n'.repeat(300), opts: { attempts: 2 }, timestamp, delay: 0, priority: 0, attemptsMade: 0, attemptsStarted: 0, stalledCounter: 0, progress: 0, returnvalue: null, stacktrace: [], gen: 0, deps, at: 'waiting-children/p1.json', data: { same: 'x'.repeat(100) } })}\n`;
    fs.writeFileSync(file, real(['kids:a1', 'kids:b1'], 1_700_000_000_000));
    view()!.v.next = 1;
    fs.writeFileSync(file, real(['kids:a2', 'kids:b2'], 1_700_000_000_500));
    const again = view()!;
    expect(again.deps).toEqual(['kids:a2', 'kids:b2']);
    expect(again.next).toBe(0);
  });

  it('tells apart two records whose timestamp the producer chose by the start of their children lists', () => {
    const { file, view } = setup();
    const fixed = (deps: string[]) =>
      `${JSON.stringify({ v: 1, id: 'p1', name: 'n'.repeat(300), opts: { timestamp: 5 }, timestamp: 5, delay: 0, priority: 0, attemptsMade: 0, attemptsStarted: 0, stalledCounter: 0, progress: 0, returnvalue: null, stacktrace: [], gen: 0, deps, at: 'waiting-children/p1.json', data: { same: 'x'.repeat(100) } })}\n`;
    fs.writeFileSync(file, fixed(['kids:a1', 'kids:b1']));
    view()!.v.next = 1;
    fs.writeFileSync(file, fixed(['kids:a2', 'kids:b2']));
    expect(view()!.deps).toEqual(['kids:a2', 'kids:b2']);
  });

  it('starts again from the first child once forgotten', () => {
    const { store, file, view } = setup();
    fs.writeFileSync(file, record('p1', ['k:1']));
    view()!.v.next = 1;
    forgetParentView(store, 'p1');
    expect(view()!.next).toBe(0);
  });
});
