import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventWriter, listSegments } from '../../src/spool/events.js';
import { resolveModes } from '../../src/spool/fs.js';
import { tmpSpool } from '../fixtures/core/helpers.js';

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
