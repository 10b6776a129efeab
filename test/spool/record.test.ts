import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendPatch, parseJobRecord } from '../../src/spool/record.js';
import { tmpSpool } from '../fixtures/core/helpers.js';

const first = JSON.stringify({ v: 1, id: '7', name: 'n', opts: {}, timestamp: 1, progress: 0, gen: 0, data: { a: 1 } });

describe('job record patches', () => {
  it('appending to a job file that is gone throws ENOENT and creates nothing', () => {
    const dir = tmpSpool();
    const file = path.join(dir, 'gone.json');
    expect(() => appendPatch(file, { progress: 5 })).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(fs.existsSync(file)).toBe(false);
  });

  it('ignores patches of an older generation, wherever they land', () => {
    const text = [first, '{"progress":20,"g":0}', '{"gen":1,"g":0}', '{"progress":80,"g":0}', '{"data":{"stale":true},"g":0}', '{"progress":100,"g":1}', ''].join('\n');
    const rec = parseJobRecord(text, 'x');
    expect(rec.gen).toBe(1);
    expect(rec.progress).toBe(100);
    expect(rec.data).toEqual({ a: 1 });
  });

  it('a patch cut short is skipped, and the whole patch glued after it (maybe another process\'s) still applies', () => {
    const torn = '{"st":"completed","returnvalue":{"big":"rr';
    const text = [first, `${torn}{"progress":50,"data":{"b":2}}`, '{"attemptsMade":3}', ''].join('\n');
    const rec = parseJobRecord(text, 'x');
    expect(rec.progress).toBe(50);
    expect(rec.data).toEqual({ b: 2 });
    expect(rec.attemptsMade).toBe(3);
    expect(rec.st).toBeUndefined();
    expect(rec.returnvalue ?? null).toBeNull();
  });

  it('a later unguarded patch still applies (updates from any process)', () => {
    const rec = parseJobRecord([first, '{"gen":2,"g":0}', '{"progress":42}', ''].join('\n'), 'x');
    expect(rec.progress).toBe(42);
  });

  it('skips a patch that names another job by id or timestamp, and the guard fields do not reach the record', () => {
    const text = [
      first,
      '{"progress":10,"i":"7","ts":1}',
      '{"progress":20,"i":"8","ts":1}',
      '{"progress":30,"i":"7","ts":2}',
      '{"returnvalue":"theirs","i":"8"}',
      '{"returnvalue":"mine","ts":1}',
      '',
    ].join('\n');
    const rec = parseJobRecord(text, 'x');
    expect([rec.progress, rec.returnvalue, rec.id, rec.timestamp]).toEqual([10, 'mine', '7', 1]);
    expect(Object.keys(rec)).not.toContain('i');
    expect(Object.keys(rec)).not.toContain('ts');
  });
});
