import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkSpool, ConfigError, Queue, Worker } from '../../src/index.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

function modeOf(p: string): number {
  return fs.statSync(p).mode & 0o777;
}

const mounts: string[] = [];
afterEach(() => {
  while (mounts.length) {
    try {
      // Lazy: this process keeps each queue's event log open for its whole life (one descriptor per queue).
      execFileSync('umount', ['-l', mounts.pop()!]);
    } catch {
      // already unmounted
    }
  }
});

/** Mounts a tmpfs of `size` at `dir`; false when this machine does not allow it. */
function tryMountTmpfs(dir: string, size: string): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    fs.mkdirSync(dir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    mounts.push(dir);
    return true;
  } catch {
    return false;
  }
}

describe('file modes', () => {
  it('creates group-writable, never world-writable files and directories by default', async () => {
    const spool = tmpSpool();
    const old = process.umask(0o022);
    try {
      const q = track(new Queue('q', { spool }));
      const job = await q.add('x', {});
      expect(modeOf(path.join(spool, 'queues', 'q', 'waiting'))).toBe(0o775);
      expect(modeOf(path.join(spool, 'spool.json'))).toBe(0o664);
      expect(modeOf(path.join(spool, 'queues', 'q', 'ids', fs.readdirSync(path.join(spool, 'queues', 'q', 'ids'))[0]!, job.id!))).toBe(0o664);
    } finally {
      process.umask(old);
    }
  });

  it('honours the umask option (world bits stay off)', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool, umask: 0o027 }));
    await q.add('x', {});
    expect(modeOf(path.join(spool, 'queues', 'q', 'delayed'))).toBe(0o750);
    const world = track(new Queue('w', { spool, umask: 0 }));
    await world.add('x', {});
    expect(modeOf(path.join(spool, 'queues', 'w', 'delayed')) & 0o002).toBe(0);
  });
});

describe('durability', () => {
  it('works in durable mode (fsync before visible) and refuses unknown modes', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool, durability: 'durable' }));
    track(new Worker('q', async () => 'ok', { spool, durability: 'durable' }));
    const job = await q.add('x', {});
    await waitFor(async () => (await job.getState()) === 'completed', 5000);
    expect(() => new Queue('q', { spool, durability: 'sometimes' as never })).toThrow(ConfigError);
    process.env.SPOOLKIT_DURABILITY = 'nope';
    try {
      expect(() => new Queue('q2', { spool })).toThrow(/SPOOLKIT_DURABILITY/);
    } finally {
      delete process.env.SPOOLKIT_DURABILITY;
    }
  });
});

describe('filesystem errors', () => {
  it('maps a full disk to ERR_SPOOL_FULL with the fix, and loses nothing already added', async (ctx) => {
    const spool = path.join(tmpSpool(), 'small');
    if (!tryMountTmpfs(spool, '400k')) return ctx.skip();
    const q = track(new Queue('q', { spool }));
    const first = await q.add('x', { n: 1 });
    let err: unknown;
    for (let i = 0; i < 2000 && !err; i++) {
      try {
        await q.add('x', { pad: 'x'.repeat(4000) });
      } catch (e) {
        err = e;
      }
    }
    expect(err).toMatchObject({ code: 'ERR_SPOOL_FULL' });
    expect(String((err as Error).message)).toMatch(/free disk space or grow the volume/);
    expect((await q.getJob(first.id!))?.data).toEqual({ n: 1 });
    // Closing on a full disk still works: unused ids are skipped, pending events dropped.
    await expect(q.close()).resolves.toBeUndefined();
  });

  it('reports state directories on another filesystem (EXDEV) in checkSpool', async (ctx) => {
    const spool = tmpSpool();
    track(new Queue('q', { spool }));
    if (!tryMountTmpfs(path.join(spool, 'queues', 'q', 'active'), '64k')) return ctx.skip();
    const c = await checkSpool(spool);
    expect(c.ok).toBe(false);
    expect(c.sameFilesystem).toBe(false);
    expect(c.problems[0]).toMatchObject({ code: 'SPOOL_EXDEV' });
    expect(c.problems[0]!.fix).toMatch(/as one volume/);
  });

  it('maps EXDEV on a claim to a ConfigError naming the fix', async (ctx) => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    if (!tryMountTmpfs(path.join(spool, 'queues', 'q', 'active'), '64k')) return ctx.skip();
    await q.add('x', {});
    const errors: Error[] = [];
    const w = track(new Worker('q', async () => 'never', { spool }));
    w.on('error', (e: Error) => errors.push(e));
    await waitFor(() => errors.length > 0, 5000);
    expect(errors[0]).toBeInstanceOf(ConfigError);
    expect(errors[0]!.message).toMatch(/spans more than one filesystem.*single volume/);
    await w.close(true);
    execFileSync('umount', [mounts.pop()!]);
  });

  it('reports a read-only spool in checkSpool', async (ctx) => {
    const spool = tmpSpool();
    track(new Queue('q', { spool }));
    if (process.getuid?.() !== 0) return ctx.skip();
    try {
      execFileSync('mount', ['--bind', spool, spool], { stdio: 'ignore' });
      mounts.push(spool);
      execFileSync('mount', ['-o', 'remount,bind,ro', spool], { stdio: 'ignore' });
    } catch {
      return ctx.skip();
    }
    const c = await checkSpool(spool);
    expect(c.problems.map((p) => p.code)).toContain('SPOOL_READ_ONLY');
  });
});
