import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeSchedulerId, LOCK_STALE_MS, schedulersDir, withSchedulerLock } from '../../src/scheduler/store.js';
import { createFileExclusive, writeFileAtomic } from '../../src/scheduler/files.js';

let root: string;
const host = () => ({ queueDir: join(root, 'queues', 'q'), now: () => Date.now() });

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'spoolkit-store-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('scheduler lock', () => {
  it('serializes holders of the same scheduler lock', async () => {
    const events: string[] = [];
    const hold = (tag: string) =>
      withSchedulerLock(host(), 'same', async () => {
        events.push(`in:${tag}`);
        await new Promise((r) => setTimeout(r, 30));
        events.push(`out:${tag}`);
      });
    await Promise.all([hold('a'), hold('b'), hold('c')]);
    expect(events).toHaveLength(6);
    for (let i = 0; i < 6; i += 2) {
      expect(events[i]?.slice(3)).toBe(events[i + 1]?.slice(4));
      expect(events[i]?.startsWith('in:')).toBe(true);
    }
    expect(readdirSync(schedulersDir(host()))).toEqual([]);
  });

  it('breaks a lock left by a dead process once it is stale', async () => {
    const dir = schedulersDir(host());
    mkdirSync(dir, { recursive: true });
    const lock = join(dir, `.lock-${encodeSchedulerId('s')}`);
    writeFileSync(lock, '{"pid":1}');
    const old = (Date.now() - LOCK_STALE_MS - 5000) / 1000;
    utimesSync(lock, old, old);
    const result = await withSchedulerLock(host(), 's', async () => 'got it');
    expect(result).toBe('got it');
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('files', () => {
  it('exclusive create: exactly one of many concurrent creators wins, and the file is complete', async () => {
    const path = join(root, 'x.json');
    const wins = await Promise.all(Array.from({ length: 8 }, (_, k) => createFileExclusive(path, JSON.stringify({ k }))));
    expect(wins.filter(Boolean)).toHaveLength(1);
    expect(readdirSync(root)).toEqual(['x.json']);
  });

  it('atomic write replaces and leaves no temporary files', async () => {
    const path = join(root, 'y.json');
    await writeFileAtomic(path, '1');
    await writeFileAtomic(path, '2');
    expect(readdirSync(root)).toEqual(['y.json']);
  });

  it('ids are encoded to safe, distinct directory names', () => {
    expect(encodeSchedulerId('a b/c')).toBe('a%20b%2Fc');
    expect(encodeSchedulerId('.hidden')).toBe('%2Ehidden');
    expect(encodeSchedulerId('plain-id_1:x')).toBe('plain-id_1%3Ax');
  });
});
