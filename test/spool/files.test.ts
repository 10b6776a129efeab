import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkSpool, ConfigError, Queue, Worker } from '../../src/index.js';
import { sleep, tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

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

/** Fills the filesystem of `dir` with a file until `leftBytes` are free; returns that file. */
function fillAllBut(dir: string, leftBytes: number): string {
  const file = path.join(dir, `filler-${Date.now()}`);
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(4096, 1);
  try {
    for (let k = 0; k < 1_000_000; k++) fs.writeSync(fd, chunk);
  } catch {
    // full
  } finally {
    fs.closeSync(fd);
  }
  fs.truncateSync(file, Math.max(0, fs.statSync(file).size - leftBytes));
  return file;
}

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

  it('refuses a umask that is not a mode, or that removes the owner\'s bits (umask: 77 for 0o077 made directories the process could not enter; the add then blamed the volume\'s owner)', () => {
    const spool = tmpSpool();
    expect(() => new Queue('q', { spool, umask: 77 })).toThrow(ConfigError);
    expect(() => new Queue('q', { spool, umask: 77 })).toThrow(/^The umask option 0o115 removes the owner's own permissions.*e.g. umask: 0o077 \(not 77\)/);
    for (const umask of ['0o027', 1.5, -1, 0o1000, Number.NaN]) {
      expect(() => new Queue('q', { spool, umask: umask as number })).toThrow(/^The umask option must be a whole number from 0 to 0o777/);
    }
    expect(fs.existsSync(path.join(spool, 'queues', 'q'))).toBe(false);
  });

  it('reads umask: null as the default, as before the option was checked (a ConfigError since 1916f22)', async () => {
    const q = track(new Queue('q', { spool: tmpSpool(), umask: null as unknown as number }));
    await expect(q.add('x', {})).resolves.toBeDefined();
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

  it('rejects an add that does not fit whole and leaves nothing of it, in a new file or in a spare one', async (ctx) => {
    const mnt = path.join(tmpSpool(), 'small');
    if (!tryMountTmpfs(mnt, '256k')) return ctx.skip();
    const spool = path.join(mnt, 'spool');
    const q = track(new Queue('q', { spool }));
    await q.add('x', {}, { jobId: 'warm' });
    for (const spare of [false, true]) {
      // A removed job leaves its file in the pool: the next add rewrites that spare inode.
      if (spare) {
        await q.add('x', {}, { jobId: 'small' });
        await q.remove('small');
        expect(fs.readdirSync(path.join(spool, 'queues', 'q', 'free')).length, 'spare files').toBeGreaterThan(0);
      }
      const free = fillAllBut(mnt, 2 * 4096);
      // Larger than what is left: write(2) takes the first pages and says so, without an error.
      const err = await q.add('x', { blob: 'y'.repeat(20_000) }, { jobId: 'big' }).catch((e: unknown) => e);
      expect(err, `spare ${spare}`).toMatchObject({ code: 'ERR_SPOOL_FULL' });
      expect(await q.getJob('big'), `spare ${spare}`).toBeUndefined();
      const tmp = fs.readdirSync(path.join(spool, 'queues', 'q', 'tmp')).filter((f) => f.endsWith('.tmp'));
      expect(tmp, `temporary files left (spare ${spare})`).toEqual([]);
      fs.rmSync(free);
    }
    // Space again: the same id is free, and the job is whole.
    await q.add('x', { blob: 'y'.repeat(20_000) }, { jobId: 'big' });
    expect(((await q.getJob('big'))?.data as { blob: string }).blob).toHaveLength(20_000);
  });

  it('stores no outcome cut short when the disk fills up under a finishing job: the job runs again and completes once', async (ctx) => {
    const mnt = path.join(tmpSpool(), 'small');
    if (!tryMountTmpfs(mnt, '256k')) return ctx.skip();
    const spool = path.join(mnt, 'spool');
    const q = track(new Queue('q', { spool }));
    await q.add('x', { n: 1 }, { jobId: 'j1', attempts: 3 });
    let filler: string | undefined;
    const outcomes: string[] = [];
    const errors: Error[] = [];
    let runs = 0;
    const w = track(
      new Worker(
        'q',
        async (job) => {
          runs++;
          // The first run's result (20 KB) does not fit: its outcome line is cut short.
          if (runs === 1) filler = fillAllBut(mnt, 2 * 4096);
          return { big: 'r'.repeat(20_000), attemptsMade: job.attemptsMade };
        },
        { spool, lockDuration: 1000, stalledInterval: 250 },
      ),
    );
    w.on('completed', (job) => outcomes.push(`completed ${job.id}`));
    w.on('failed', (job) => outcomes.push(`failed ${job?.id}`));
    w.on('error', (e) => errors.push(e));
    await waitFor(() => errors.length > 0, 5000, 'the outcome write fails');
    expect(errors[0]).toMatchObject({ code: 'ERR_SPOOL_FULL' });
    expect(outcomes, 'neither completed nor failed while its outcome is not stored').toEqual([]);
    fs.rmSync(filler!);
    await waitFor(async () => (await q.getJobState('j1')) === 'completed', 10_000, 'the job completes once space is back');
    const job = (await q.getJob('j1'))!;
    expect((job.returnvalue as { big: string }).big).toHaveLength(20_000);
    expect(job.attemptsMade).toBe(1);
    expect(job.failedReason).toBeUndefined();
    expect(runs).toBe(2);
    expect(outcomes).toEqual(['completed j1']);
  });

  it('does not fail a job whose processor succeeded when its result cannot be filed (a read-only remount)', async (ctx) => {
    if (process.getuid?.() !== 0) return ctx.skip();
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    await q.add('x', { n: 1 }, { jobId: 'j1' });
    const outcomes: string[] = [];
    const errors: Error[] = [];
    let runs = 0;
    let readOnly = false;
    const w = track(
      new Worker(
        'q',
        async (job) => {
          runs++;
          if (runs === 1) {
            // The result goes into the claimed file through a descriptor opened before; its
            // rename into completed/ is refused.
            try {
              execFileSync('mount', ['--bind', spool, spool], { stdio: 'ignore' });
              mounts.push(spool);
              execFileSync('mount', ['-o', 'remount,bind,ro', spool], { stdio: 'ignore' });
              readOnly = true;
            } catch {
              // checked below
            }
          }
          return `done ${job.id}`;
        },
        { spool, lockDuration: 1000, stalledInterval: 250 },
      ),
    );
    w.on('completed', (job) => outcomes.push(`completed ${job.id}`));
    w.on('failed', (job) => outcomes.push(`failed ${job?.id}`));
    w.on('error', (e) => errors.push(e));
    await waitFor(() => runs > 0, 5000);
    if (!readOnly) return ctx.skip();
    await waitFor(() => errors.length > 0, 5000, 'the move fails');
    expect(errors[0]).toMatchObject({ code: 'ERR_SPOOL_UNWRITABLE' });
    await sleep(300);
    expect(outcomes, 'not failed: the processor succeeded').toEqual([]);
    execFileSync('umount', ['-l', mounts.pop()!]);
    // The stalled check files the outcome the run wrote: completed, once, with its result.
    await waitFor(async () => (await q.getJobState('j1')) === 'completed', 10_000, 'the job is filed as completed');
    const job = (await q.getJob('j1'))!;
    expect(job.returnvalue).toBe('done j1');
    expect(job.failedReason).toBeUndefined();
    expect(job.attemptsMade).toBe(1);
    expect(runs).toBe(1);
  });

  it('reports metrics counts it cannot write once a minute, not once per finished job', async (ctx) => {
    const mnt = path.join(tmpSpool(), 'small');
    if (!tryMountTmpfs(mnt, '512k')) return ctx.skip();
    const spool = path.join(mnt, 'spool');
    const q = track(new Queue('q', { spool }));
    await q.addBulk(Array.from({ length: 30 }, (_, i) => ({ name: 'x', data: { i } })));
    // No block left: a new minute's metrics file cannot be made; job files still take their
    // small outcome lines into their last block's slack.
    const filler = fillAllBut(mnt, 0);
    const errors: Error[] = [];
    const w = track(new Worker('q', async () => 'ok', { spool, metrics: { maxDataPoints: 10 } }));
    w.on('error', (e) => errors.push(e));
    await waitFor(async () => (await q.getCompletedCount()) === 30, 10_000, 'every job completes');
    const metricsErrors = errors.filter((e) => String((e as { details?: { path?: string } }).details?.path ?? '').includes(`${path.sep}metrics`));
    expect(metricsErrors.length, errors.map((e) => e.message).join('\n')).toBe(1);
    fs.rmSync(filler);
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
