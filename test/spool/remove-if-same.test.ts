import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { removeIfSame } from '../../src/spool/dedup-key.js';
import { tmpSpool } from '../fixtures/core/helpers.js';

describe('removeIfSame (replacing a stale key or id entry)', () => {
  it('removes the file when it is still the inode judged stale', () => {
    const file = path.join(tmpSpool(), 'key');
    fs.writeFileSync(file, 'stale');
    removeIfSame(file, fs.statSync(file).ino);
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.readdirSync(path.dirname(file))).toEqual([]);
  });

  it('keeps a file another process put there after the stale one was judged: that one stands', () => {
    const dir = tmpSpool();
    const file = path.join(dir, 'key');
    fs.writeFileSync(file, 'stale');
    const judged = fs.statSync(file).ino;
    // Another process replaced the stale entry with its own meanwhile.
    fs.writeFileSync(path.join(dir, 'new'), 'fresh');
    fs.renameSync(path.join(dir, 'new'), file);
    removeIfSame(file, judged);
    expect(fs.readFileSync(file, 'utf8')).toBe('fresh');
    expect(fs.readdirSync(dir)).toEqual(['key']);
  });

  it('does nothing when the file is gone', () => {
    const file = path.join(tmpSpool(), 'key');
    expect(() => removeIfSame(file, 1)).not.toThrow();
  });
});
