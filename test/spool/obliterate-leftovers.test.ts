import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findObliterateLeftovers, OBLITERATE_STAGING_SETTLE_MS, OBLITERATE_TRASH_SETTLE_MS, removeTreeSlowly } from '../../src/spool/obliterate-leftovers.js';
import { tmpSpool } from '../fixtures/core/helpers.js';

describe('obliterate leftovers', () => {
  it('are the settled .trash-<queue>-<pid>-<ms> and .new-<queue>-<pid>-<ms> directories, nothing else', () => {
    const root = tmpSpool();
    const now = 10_000_000_000;
    const names = {
      oldTrash: `.trash-a-1-2-${now - OBLITERATE_TRASH_SETTLE_MS - 1}`,
      freshTrash: `.trash-a-12-${now - OBLITERATE_TRASH_SETTLE_MS + 1000}`,
      oldStaging: `.new-b-7-${now - OBLITERATE_STAGING_SETTLE_MS - 1}`,
      freshStaging: `.new-b-7-${now - 1000}`,
      queue: 'trash-a-1-2',
      other: '.trash-a',
      noPid: `.trash-${now - OBLITERATE_TRASH_SETTLE_MS - 1}`,
    };
    for (const n of Object.values(names)) fs.mkdirSync(path.join(root, 'queues', n), { recursive: true });
    const found = findObliterateLeftovers(root, now).map((p) => path.basename(p));
    expect(found.sort()).toEqual([names.oldStaging, names.oldTrash].sort());
  });

  it('are deleted one entry at a time, stopping when asked and going on from there', async () => {
    const root = path.join(tmpSpool(), 'tree');
    for (let d = 0; d < 3; d++) {
      fs.mkdirSync(path.join(root, `d${d}`, 'inner'), { recursive: true });
      for (let f = 0; f < 20; f++) fs.writeFileSync(path.join(root, `d${d}`, f % 2 ? 'inner' : '', `f${f}`), 'x');
    }
    let calls = 0;
    expect(await removeTreeSlowly(root, () => ++calls > 25)).toBe(false);
    expect(fs.existsSync(root)).toBe(true);
    expect(await removeTreeSlowly(root, () => false)).toBe(true);
    expect(fs.existsSync(root)).toBe(false);
    // Gone already: done.
    expect(await removeTreeSlowly(root, () => false)).toBe(true);
  });
});
