import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventWriter, listSegments, MAX_PENDING_BYTES, MAX_PENDING_LINES, MAX_PENDING_MS } from '../../src/spool/events.js';
import { resolveModes } from '../../src/spool/fs.js';
import { tmpSpool, waitFor } from '../fixtures/core/helpers.js';

const seg = (dir: string): string => `${String(listSegments(dir)[0]).padStart(10, '0')}.jsonl`;

describe('EventWriter.isOwnTail', () => {
  it('is true right after this writer appended, and false once another writer appends', () => {
    const dir = path.join(tmpSpool(), 'events');
    const modes = resolveModes(undefined);
    const mine = new EventWriter(dir, modes);
    const theirs = new EventWriter(dir, modes);
    try {
      expect(mine.isOwnTail(null)).toBe(false);
      mine.append('added', { jobId: '1' });
      mine.flush();
      const name = seg(dir);
      expect(mine.isOwnTail(name)).toBe(true);
      expect(mine.isOwnTail(null)).toBe(false);
      expect(mine.isOwnTail('0000000099.jsonl')).toBe(false);
      theirs.append('added', { jobId: '2' });
      theirs.flush();
      expect(mine.isOwnTail(name)).toBe(false);
      mine.append('added', { jobId: '3' });
      mine.flush();
      expect(mine.isOwnTail(name)).toBe(true);
      // A write that bypasses every writer (another tool) is news too.
      fs.appendFileSync(path.join(dir, name), '{"e":"x","t":1,"a":{}}\n');
      expect(mine.isOwnTail(name)).toBe(false);
    } finally {
      mine.close();
      theirs.close();
    }
  });
});

describe('EventWriter descriptors', () => {
  it('closes its segment once it has written nothing for a while, and opens it again to write', async () => {
    const dir = path.join(tmpSpool(), 'events');
    const w = new EventWriter(dir, resolveModes(undefined), 50);
    try {
      w.appendNow('added', { jobId: '1' });
      const file = path.join(dir, seg(dir));
      const held = (): boolean => fs.readdirSync('/proc/self/fd').some((fd) => {
        try {
          return fs.readlinkSync(`/proc/self/fd/${fd}`) === file;
        } catch {
          return false;
        }
      });
      expect(held()).toBe(true);
      await waitFor(() => !held(), 5000, 'the idle segment closed');
      w.appendNow('added', { jobId: '2' });
      expect(held()).toBe(true);
      expect(fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { a: { jobId: string } }).a.jobId)).toEqual(['1', '2']);
    } finally {
      w.close();
    }
  });
});

describe('EventWriter batching', () => {
  const lineCount = (dir: string): number => {
    const segs = listSegments(dir);
    if (segs.length === 0) return 0;
    return fs.readFileSync(path.join(dir, seg(dir)), 'utf8').split('\n').length - 1;
  };

  it('writes on the next turn of the event loop, not at once, while the batch is small and young', async () => {
    const dir = path.join(tmpSpool(), 'events');
    const w = new EventWriter(dir, resolveModes(undefined));
    try {
      w.append('added', { jobId: '1' });
      w.append('waiting', { jobId: '1' });
      expect(lineCount(dir)).toBe(0);
      await new Promise((r) => setImmediate(r));
      expect(lineCount(dir)).toBe(2);
    } finally {
      w.close();
    }
  });

  it(`writes at once when ${MAX_PENDING_LINES} lines are queued, so a loop that never yields holds little`, () => {
    const dir = path.join(tmpSpool(), 'events');
    const w = new EventWriter(dir, resolveModes(undefined));
    try {
      for (let i = 0; i < 4 * MAX_PENDING_LINES - 1; i++) w.append('added', { jobId: String(i) });
      // Whatever the clock did, at most one batch's worth is still queued.
      expect(lineCount(dir)).toBeGreaterThan(3 * MAX_PENDING_LINES - 1);
    } finally {
      w.close();
    }
    expect(lineCount(dir)).toBe(4 * MAX_PENDING_LINES - 1);
  });

  it('writes at once when the queued lines pass the byte bound', () => {
    const dir = path.join(tmpSpool(), 'events');
    const w = new EventWriter(dir, resolveModes(undefined));
    try {
      // Two lines pass the bound, so both are written whether the bound or (on a slow machine,
      // more than MAX_PENDING_MS between the appends) the age limit fires first.
      const big = 'x'.repeat(MAX_PENDING_BYTES / 2);
      for (let i = 0; i < 2; i++) w.append('progress', { jobId: String(i), data: big });
      expect(lineCount(dir)).toBe(2);
    } finally {
      w.close();
    }
  });

  it(`writes at once when the oldest queued line is ${MAX_PENDING_MS} ms old`, () => {
    const dir = path.join(tmpSpool(), 'events');
    const w = new EventWriter(dir, resolveModes(undefined));
    try {
      w.append('added', { jobId: '1' });
      expect(lineCount(dir)).toBe(0);
      const until = Date.now() + MAX_PENDING_MS + 1;
      while (Date.now() < until) {
        // the event loop gets no turn here, as in a loop of awaited adds
      }
      w.append('added', { jobId: '2' });
      expect(lineCount(dir)).toBe(2);
    } finally {
      w.close();
    }
  });
});

describe('EventWriter.isOwnTail after interleaved appends', () => {
  it('reports news once when another writer appended between two of this writer appends', () => {
    const dir = path.join(tmpSpool(), 'events');
    const modes = resolveModes(undefined);
    const mine = new EventWriter(dir, modes);
    const theirs = new EventWriter(dir, modes);
    try {
      mine.append('added', { jobId: '1' });
      mine.flush();
      const name = seg(dir);
      theirs.append('added', { jobId: '2' });
      theirs.flush();
      // This writer appends again before its file-change callback for the other append has run:
      // the size matches its own end again, but the other append is still news.
      mine.append('completed', { jobId: '1' });
      mine.flush();
      expect(mine.isOwnTail(name)).toBe(false);
      expect(mine.isOwnTail(name)).toBe(true);
    } finally {
      mine.close();
      theirs.close();
    }
  });
});

describe('EventWriter line format', () => {
  it('writes each event as JSON.stringify of { e, t, a, k } would, with l: 1 last on a late one', () => {
    const dir = path.join(tmpSpool(), 'events');
    const w = new EventWriter(dir, resolveModes(undefined));
    try {
      const args = { jobId: 'a"b\u00e9', returnvalue: { n: 1.5, s: ['x', null] }, prev: 'active' };
      w.append('completed', args, { k: { age: 60, count: 10 } });
      w.append('active', { jobId: '7', prev: 'waiting' });
      w.append('failed', { jobId: '8', failedReason: 'boom\n', prev: 'active' }, { k: true, late: true });
      w.append('cleaned', { count: 0 }, { k: undefined });
      w.flush();
      const lines = fs.readFileSync(path.join(dir, seg(dir)), 'utf8').trimEnd().split('\n');
      const parsed = lines.map((l) => JSON.parse(l) as { t: number });
      expect(lines).toEqual([
        JSON.stringify({ e: 'completed', t: parsed[0]!.t, a: args, k: { age: 60, count: 10 } }),
        JSON.stringify({ e: 'active', t: parsed[1]!.t, a: { jobId: '7', prev: 'waiting' } }),
        JSON.stringify({ e: 'failed', t: parsed[2]!.t, a: { jobId: '8', failedReason: 'boom\n', prev: 'active' }, k: true, l: 1 }),
        JSON.stringify({ e: 'cleaned', t: parsed[3]!.t, a: { count: 0 } }),
      ]);
    } finally {
      w.close();
    }
  });
});
