import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bucketOf, fifoKey, keyMs, lifoKey, lifoKeyTime, PROCESS_TAG } from '../../src/spool/keys.js';
import { OrderedSet, parseEntryName, SetCursor, type CountCache } from '../../src/spool/ordered-set.js';
import { parseJobRecord, serializeRecord, RECORD_VERSION, type JobRecord } from '../../src/spool/record.js';
import { lifoKeyFromDelayed } from '../../src/spool/routing.js';
import { tmpSpool } from '../fixtures/core/helpers.js';

function put(set: OrderedSet, key: string, id: string): string {
  const file = set.pathFor(key, id);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, '{}');
  return file;
}

describe('keys', () => {
  it('sort FIFO within a process, even within one millisecond', () => {
    const keys = Array.from({ length: 100 }, () => fifoKey());
    expect([...keys].sort()).toEqual(keys);
    expect(keys[0]!.endsWith(PROCESS_TAG)).toBe(true);
  });

  it('put a given time first and keep its milliseconds', () => {
    expect(keyMs(fifoKey(1_700_000_000_123))).toBe(1_700_000_000_123);
    expect(fifoKey(5) < fifoKey(6)).toBe(true);
  });

  it('sort LIFO keys newest first and map back to real time', () => {
    const a = lifoKey(1000);
    const b = lifoKey(2000);
    const c = lifoKey(2000);
    expect([a, b, c].sort()).toEqual([c, b, a]);
    expect(lifoKeyTime(a)).toBe(1000);
    expect(lifoKeyTime(lifoKeyFromDelayed(`${fifoKey(1234)}-l`))).toBe(1234);
  });

  it('bucket a key by about 17.5 minutes and about one second, zero-padded', () => {
    const [top, leaf] = bucketOf(1_700_000_000_000);
    expect(top).toBe(String(Math.floor(1_700_000_000_000 / 2 ** 20)).padStart(7, '0'));
    expect(leaf).toBe(String(Math.floor(1_700_000_000_000 / 1024)).padStart(10, '0'));
  });

  it('parse entry names, including ids with dots', () => {
    const key = fifoKey(1);
    expect(parseEntryName(`${key}.order.7.json`)).toEqual({ key, id: 'order.7' });
    expect(parseEntryName('x.tmp')).toBeUndefined();
    expect(parseEntryName('short.1.json')).toBeUndefined();
  });
});

describe('OrderedSet and SetCursor', () => {
  it('read the head in key order across buckets and remove empty stale buckets', () => {
    const dir = path.join(tmpSpool(), 'set');
    const set = new OrderedSet(dir, 'fifo');
    const old = Date.now() - 3_600_000;
    const files = [put(set, fifoKey(old), 'a'), put(set, fifoKey(old + 5000), 'b'), put(set, fifoKey(Date.now()), 'c')];
    const cursor = new SetCursor(set);
    const seen: string[] = [];
    for (let e = cursor.next(); e; e = cursor.next()) {
      seen.push(e.id);
      fs.unlinkSync(e.path);
    }
    expect(seen).toEqual(['a', 'b', 'c']);
    // The old buckets are gone; the current one may stay (it can still receive keys).
    expect(fs.existsSync(path.dirname(files[0]!))).toBe(false);
    expect(fs.existsSync(path.dirname(path.dirname(files[0]!)))).toBe(false);
  });

  it('give each entry the same path as pathFor, even for a set directory given unnormalized', () => {
    const base = tmpSpool();
    fs.mkdirSync(path.join(base, 'x'));
    const set = new OrderedSet(`${base}/x/../set/`, 'fifo');
    const key = fifoKey(Date.now());
    const file = put(set, key, 'j.1');
    const e = new SetCursor(set).next();
    expect(e).toEqual({ key, id: 'j.1', path: set.pathFor(key, 'j.1') });
    expect(e!.path).toBe(file);
    expect(fs.existsSync(e!.path)).toBe(true);
  });

  it('see entries added after the cached leaf was used up', () => {
    const set = new OrderedSet(path.join(tmpSpool(), 'set'), 'fifo');
    const cursor = new SetCursor(set);
    put(set, fifoKey(), 'a');
    expect(cursor.next()?.id).toBe('a');
    put(set, fifoKey(), 'b');
    expect(cursor.next()?.id).toBe('a'); // a was not consumed: the listing is re-read from disk
    cursor.reset();
    const ids = [cursor.next()?.id, cursor.next()?.id];
    expect(ids).toEqual(['a', 'b']);
  });

  it('count with a cache that is only trusted while a leaf is unchanged', () => {
    const base = tmpSpool();
    const set = new OrderedSet(path.join(base, 'set'), 'fifo');
    for (let i = 0; i < 30; i++) put(set, fifoKey(Date.now() - 60_000 + i * 100), String(i));
    for (const l of set.leaves()) fs.utimesSync(l.dir, (Date.now() - 60_000) / 1000, (Date.now() - 60_000) / 1000);
    const cache: CountCache = new Map();
    expect(set.count(cache, Date.now(), base)).toBe(30);
    expect(cache.size).toBeGreaterThan(0);
    // A cached leaf is not re-listed: prove it by planting a wrong count.
    const [k, v] = [...cache.entries()][0]!;
    cache.set(k, { ...v, count: v.count + 100 });
    expect(set.count(cache, Date.now(), base)).toBe(130);
    // Touching the leaf invalidates the entry.
    fs.utimesSync(path.join(base, k), new Date(), new Date());
    expect(set.count(cache, Date.now(), base)).toBe(30);
  });

  it('list entries in order and in reverse', () => {
    const set = new OrderedSet(path.join(tmpSpool(), 'set'), 'fifo');
    for (const [i, t] of [3000, 1000, 2000].entries()) put(set, fifoKey(Date.now() - 100_000 + t), `j${i}`);
    expect([...set.entries()].map((e) => e.id)).toEqual(['j1', 'j2', 'j0']);
    expect([...set.entries(true)].map((e) => e.id)).toEqual(['j0', 'j2', 'j1']);
  });
});

describe('job records', () => {
  const base: JobRecord = {
    v: RECORD_VERSION,
    id: '1',
    name: 'x',
    data: { a: 1 },
    opts: {},
    timestamp: 1,
    delay: 0,
    priority: 0,
    attemptsMade: 0,
    attemptsStarted: 0,
    stalledCounter: 0,
    progress: 0,
    returnvalue: null,
    stacktrace: [],
    gen: 0,
  };

  it('apply patches in order; null removes an optional field; a torn last line is ignored', () => {
    const text =
      serializeRecord({ ...base, failedReason: 'old' }) +
      JSON.stringify({ progress: 50 }) +
      '\n' +
      JSON.stringify({ failedReason: null, attemptsMade: 2 }) +
      '\n{"progress":';
    const rec = parseJobRecord(text, 'f');
    expect(rec.progress).toBe(50);
    expect(rec.attemptsMade).toBe(2);
    expect(rec.failedReason).toBeUndefined();
  });

  it('ignore a patch from an older generation', () => {
    const text = serializeRecord(base) + JSON.stringify({ gen: 1, g: 0, stalledCounter: 1 }) + '\n' + JSON.stringify({ st: 'completed', returnvalue: 'late', g: 0 }) + '\n';
    const rec = parseJobRecord(text, 'f');
    expect(rec.gen).toBe(1);
    expect(rec.st).toBeUndefined();
    expect(rec.returnvalue).toBeNull();
  });

  it('refuse garbage, non-objects, missing ids and newer record versions with the file named', () => {
    expect(() => parseJobRecord('nope', '/x/y.json')).toThrow(/\/x\/y\.json is corrupt: not valid JSON/);
    expect(() => parseJobRecord('[1]', 'f')).toThrow(/not a JSON object/);
    expect(() => parseJobRecord('{"name":"x","timestamp":1}', 'f')).toThrow(/missing id/);
    expect(() => parseJobRecord(JSON.stringify({ ...base, v: 99 }), 'f')).toThrow(/upgrade spoolkit/);
    expect(() => parseJobRecord(JSON.stringify({ ...base, attemptsMade: 'x' }), 'f')).toThrow(/attemptsMade is not a number/);
  });
});
