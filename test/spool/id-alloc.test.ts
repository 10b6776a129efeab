import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { tmpSpool, track } from '../fixtures/core/helpers.js';

describe('automatic ids: the counter lock', () => {
  it('breaks a lock left by a process that died holding it, once it is 10 s old', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    expect((await q.add('a', {})).id).toBe('1');
    await q.close();
    const lock = path.join(spool, 'queues', 'q', 'seq.lock');
    fs.mkdirSync(lock);
    const then = new Date(Date.now() - 11_000);
    fs.utimesSync(lock, then, then);
    const q2 = track(new Queue('q', { spool }));
    expect((await q2.add('b', {})).id).toBe('2');
    expect(fs.existsSync(lock)).toBe(false);
  });
});
