import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { lockOwnerGone } from '../../src/spool/id-alloc.js';
import { LIVENESS_TAG } from '../../src/spool/process-gone.js';
import { PID_NAMESPACE } from '../../src/spool/process-gone.js';

/** How a lock owner names this process's pid namespace. */
const NS = PID_NAMESPACE || '-';
import { tmpSpool, track } from '../fixtures/core/helpers.js';

/** Calls `look` on the lock each time `q` writes its id counter (while it holds the lock); returns the last result. */
function whileLocked<T>(q: Queue, look: (lock: string) => T): () => T | undefined {
  const store = q.store;
  const lock = path.join(store.dir, 'seq.lock');
  const writeAtomic = store.writeAtomic.bind(store);
  let seen: T | undefined;
  store.writeAtomic = (file: string, text: string) => {
    if (file.endsWith('seq')) seen = look(lock);
    return writeAtomic(file, text);
  };
  return () => seen;
}

describe('automatic ids: the counter lock', () => {
  it('breaks a lock directory (as older versions made) once it is 10 s old', async () => {
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
    expect(fs.lstatSync(lock, { throwIfNoEntry: false })).toBeUndefined(); // lstat: the link's target never exists
  });

  /** A queue whose counter is at 1, and the path of its lock. */
  async function queueAtOne(): Promise<{ spool: string; lock: string }> {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    expect((await q.add('a', {})).id).toBe('1');
    await q.close();
    return { spool, lock: path.join(spool, 'queues', 'q', 'seq.lock') };
  }

  it('holds the lock as a link naming this process, and removes it after use', async () => {
    const { spool, lock } = await queueAtOne();
    const q = track(new Queue('q', { spool }));
    const owner = whileLocked(q, (l) => fs.readlinkSync(l));
    expect((await q.add('b', {})).id).toBe('2');
    expect(owner()?.split(' ').slice(0, 2)).toEqual([os.hostname(), String(process.pid)]);
    expect(fs.lstatSync(lock, { throwIfNoEntry: false })).toBeUndefined(); // lstat: the link's target never exists
  });

  it('breaks at once a lock whose holder was a process on this host that is gone', async () => {
    const { spool, lock } = await queueAtOne();
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    fs.symlinkSync(`${os.hostname()} ${gone} k3f9 ${NS}`, lock);
    const q = track(new Queue('q', { spool }));
    const started = Date.now();
    expect((await q.add('b', {})).id).toBe('2');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(fs.lstatSync(lock, { throwIfNoEntry: false })).toBeUndefined(); // lstat: the link's target never exists
  });

  it('treats a lock with its own pid but another tag as an earlier process, in its own pid namespace only', () => {
    expect(lockOwnerGone(`${os.hostname()} ${process.pid} zzzz-not-this-process ${NS}`)).toBe(true);
    expect(lockOwnerGone(`${os.hostname()} ${process.pid} ${LIVENESS_TAG} ${NS}`)).toBe(false);
    // Another thread of this process: same liveness tag, its own thread tag.
    expect(lockOwnerGone(`${os.hostname()} ${process.pid} ${LIVENESS_TAG} ${NS} zzzz`)).toBe(false);
    expect(lockOwnerGone(`${os.hostname()} 1 k3f9 ${NS}`)).toBe(false); // pid 1 exists
    expect(lockOwnerGone(`another-host ${process.pid} k3f9 ${NS}`)).toBe(false);
    // Another container under the same hostname: its pids mean nothing here.
    expect(lockOwnerGone(`${os.hostname()} ${process.pid} zzzz pid:[1]`)).toBe(false);
    expect(lockOwnerGone(`${os.hostname()} ${2 ** 22 + 7} k3f9 pid:[1]`)).toBe(false);
    // An older version's owner names no namespace: left to the lock's age.
    expect(lockOwnerGone(`${os.hostname()} ${2 ** 22 + 7} k3f9`)).toBe(false);
    expect(lockOwnerGone(`${os.hostname()} ${2 ** 22 + 7} k3f9 ${NS}`)).toBe(true);
    expect(lockOwnerGone('garbage')).toBe(false);
  });

  it('breaks a lock held from another host only once it is 10 s old', async () => {
    const { spool, lock } = await queueAtOne();
    fs.symlinkSync('another-host 4242 k3f9', lock);
    const then = new Date(Date.now() - 11_000);
    fs.lutimesSync(lock, then, then);
    const q = track(new Queue('q', { spool }));
    expect((await q.add('b', {})).id).toBe('2');
    expect(fs.lstatSync(lock, { throwIfNoEntry: false })).toBeUndefined(); // lstat: the link's target never exists
  });

  it('locks with a directory on a filesystem without symbolic links', async () => {
    const { spool, lock } = await queueAtOne();
    const q = track(new Queue('q', { spool }));
    const symlinkSync = fs.symlinkSync;
    const heldAsDir = whileLocked(q, (l) => fs.lstatSync(l).isDirectory());
    fs.symlinkSync = () => {
      throw Object.assign(new Error('EPERM: operation not permitted, symlink'), { code: 'EPERM' });
    };
    try {
      expect((await q.add('b', {})).id).toBe('2');
    } finally {
      fs.symlinkSync = symlinkSync;
    }
    expect(heldAsDir()).toBe(true);
    expect(fs.lstatSync(lock, { throwIfNoEntry: false })).toBeUndefined();
  });

  it('locks with a directory in a version 1 spool, which older versions may share', async () => {
    const spool = tmpSpool();
    fs.mkdirSync(spool, { recursive: true });
    fs.writeFileSync(path.join(spool, 'spool.json'), JSON.stringify({ format: 'spoolkit', version: 1, createdAt: Date.now() }) + '\n');
    const q = track(new Queue('q', { spool }));
    const lock = path.join(q.store.dir, 'seq.lock');
    const heldAsDir = whileLocked(q, (l) => fs.lstatSync(l).isDirectory());
    expect((await q.add('a', {})).id).toBe('1');
    expect(heldAsDir()).toBe(true);
    expect(fs.lstatSync(lock, { throwIfNoEntry: false })).toBeUndefined();
  });
});
