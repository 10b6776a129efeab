import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { lockOwnerGone } from '../../src/spool/id-alloc.js';
import { tmpSpool, track } from '../fixtures/core/helpers.js';
import { exited, startFixture } from '../fixtures/core/procs.js';

describe('automatic ids: the counter lock across processes', () => {
  it('an add waits while another process holds the lock (a directory, as older versions made it), then takes the next id', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    expect((await q.add('a', {})).id).toBe('1');
    await q.close();
    const queueDir = path.join(spool, 'queues', 'q');
    const lock = path.join(queueDir, 'seq.lock');
    const released = path.join(spool, 'released');
    fs.mkdirSync(lock);
    // Another process holds the lock for a while, moves the counter on (as its own reservation
    // would), and releases it.
    const holder = spawn(
      process.execPath,
      ['-e', `setTimeout(() => { const fs = require('fs'); fs.writeFileSync(process.argv[1], '10\\n'); fs.writeFileSync(process.argv[3], ''); fs.rmdirSync(process.argv[2]); }, 300)`, path.join(queueDir, 'seq'), lock, released],
      { stdio: 'ignore' },
    );
    const q2 = track(new Queue('q', { spool }));
    const job = await q2.add('b', {});
    expect(fs.existsSync(released)).toBe(true);
    expect(job.id).toBe('11');
    expect(await exited(holder)).toBe(0);
  });

  it('a producer killed while holding the lock does not hold up the others: its lock is broken at once', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    expect((await q.add('a', {})).id).toBe('1');
    const lock = path.join(q.store.dir, 'seq.lock');
    const holder = await startFixture('id-lock-holder.ts', { SPOOL: spool });
    // The lock names its holder, a live process: not to be broken.
    const owner = fs.readlinkSync(lock);
    expect(owner.split(' ')[1]).toBe(String(holder.pid));
    expect(lockOwnerGone(owner)).toBe(false);
    holder.kill('SIGKILL');
    expect(await exited(holder)).toBe('SIGKILL');
    expect(lockOwnerGone(owner)).toBe(true);
    // The lock is fresh, far from the 10 s stale limit; the add breaks it because its holder is gone.
    const started = Date.now();
    const job = await q.add('b', {});
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(job.id).toBe('2');
    expect(fs.lstatSync(lock, { throwIfNoEntry: false })).toBeUndefined(); // lstat: the link's target never exists
  });
});
