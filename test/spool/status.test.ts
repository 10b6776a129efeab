import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { checkSpool, Queue, readSpoolStatus, resolveSpoolRoot, Worker } from '../../src/index.js';
import { SPOOL_FORMAT_VERSION } from '../../src/spool/root.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

describe('resolveSpoolRoot', () => {
  it('takes the option, then SPOOLKIT_SPOOL, then ./.spool; accepts file:// URLs', () => {
    expect(resolveSpoolRoot('/a/b', {})).toBe('/a/b');
    expect(resolveSpoolRoot(new URL('file:///x/y'), {})).toBe('/x/y');
    expect(resolveSpoolRoot(undefined, { SPOOLKIT_SPOOL: 'file:///srv/spool' })).toBe('/srv/spool');
    expect(resolveSpoolRoot(undefined, { SPOOLKIT_SPOOL: 'rel' })).toBe(path.resolve('rel'));
    expect(resolveSpoolRoot(undefined, {})).toBe(path.resolve('.spool'));
    expect(() => resolveSpoolRoot('redis://localhost', {})).toThrow(/file:\/\/ URL/);
  });
});

describe('readSpoolStatus', () => {
  it('refuses a queue list that is not an array of names (a string was read letter by letter) and a root that is not a path', async () => {
    const spool = tmpSpool();
    await track(new Queue('emails', { spool })).add('x', {});
    const read = readSpoolStatus as (root: unknown, opts?: unknown) => ReturnType<typeof readSpoolStatus>;
    await expect(read(spool, { queues: 'emails' })).rejects.toMatchObject({ code: 'ERR_CONFIG', message: expect.stringMatching(/^readSpoolStatus: queues must be an array of queue names, e.g. \{ queues: \['emails'\] \}; got "emails"\.$/) });
    await expect(read(5)).rejects.toMatchObject({ code: 'ERR_CONFIG', message: expect.stringMatching(/^readSpoolStatus: pass the spool root as a path/) });
    expect(Object.keys((await readSpoolStatus(spool, { queues: ['emails'] })).queues)).toEqual(['emails']);
  });

  it('reads queues: null as every queue, as before the list was checked (a ConfigError since 7383610)', async () => {
    const spool = tmpSpool();
    await track(new Queue('emails', { spool })).add('x', {});
    const read = readSpoolStatus as (root: unknown, opts?: unknown) => ReturnType<typeof readSpoolStatus>;
    expect(Object.keys((await read(spool, { queues: null })).queues)).toEqual(['emails']);
  });

  it('reports counts, oldest waiting age, paused, workers and recent completions', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const w = track(new Worker('q', async () => 'ok', { spool, heartbeatMeta: { role: 'worker' }, heartbeatIntervalMs: 50 }));
    await q.add('x', {});
    await waitFor(async () => (await q.getCompletedCount()) === 1, 3000);
    await w.pause();
    await q.add('x', {}, { timestamp: Date.now() - 5000 });
    await q.add('x', {}, { delay: 60_000 });
    await q.pause();
    await waitFor(async () => (await readSpoolStatus(spool)).queues.q!.completedLastMinute === 1, 3000);
    const s = await readSpoolStatus(spool);
    expect(s.formatVersion).toBe(SPOOL_FORMAT_VERSION);
    expect(s.queues.q!.counts).toMatchObject({ waiting: 1, delayed: 1, completed: 1, active: 0 });
    expect(s.queues.q!.paused).toBe(true);
    expect(s.queues.q!.oldestWaitingAgeMs).toBeGreaterThanOrEqual(0);
    expect(s.workers).toHaveLength(1);
    expect(s.workers[0]).toMatchObject({ queues: ['q'], pid: process.pid, concurrency: 1, processed: 1, meta: { role: 'worker' } });
    expect(s.workers[0]!.ageMs).toBeLessThan(5000);
    await w.close();
    expect((await readSpoolStatus(spool)).workers).toHaveLength(0);
  });

  it('counts a delayed job past its due time as waiting since then (only a worker promotes it)', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    await q.add('x', {}, { delay: 60_000 });
    expect((await readSpoolStatus(spool)).queues.q!.oldestWaitingAgeMs).toBeNull();
    const due = (await readSpoolStatus(spool, { nowMs: Date.now() + 180_000 })).queues.q!.oldestWaitingAgeMs;
    expect(due).toBeGreaterThan(110_000);
    expect(due).toBeLessThanOrEqual(120_000 + 1000);
  });

  it('counts completions and failures of the last minute apart', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const w = track(
      new Worker(
        'q',
        async (job) => {
          if (job.name === 'bad') throw new Error('no');
        },
        { spool, heartbeatIntervalMs: 50 },
      ),
    );
    await q.addBulk([...Array.from({ length: 3 }, () => ({ name: 'good', data: {} })), ...Array.from({ length: 2 }, () => ({ name: 'bad', data: {} }))]);
    await waitFor(async () => (await q.getJobCounts('completed', 'failed')).failed === 2 && (await q.getCompletedCount()) === 3, 3000);
    const s = await waitFor(async () => {
      const st = await readSpoolStatus(spool);
      return st.queues.q!.completedLastMinute + st.queues.q!.failedLastMinute === 5 ? st : undefined;
    }, 3000);
    expect(s!.queues.q).toMatchObject({ completedLastMinute: 3, failedLastMinute: 2 });
    await w.close();
  });

  it('reports a missing spool without creating it', async () => {
    const spool = path.join(tmpSpool(), 'nope');
    const s = await readSpoolStatus(spool);
    expect(s).toEqual({ root: spool, formatVersion: null, queues: {}, workers: [] });
    expect(fs.existsSync(spool)).toBe(false);
  });

  it('counts a large backlog from the cache without re-listing unchanged leaves', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    await q.addBulk(Array.from({ length: 2000 }, (_, i) => ({ name: 'x', data: i })));
    // Age the leaf directories so their counts may be cached (recent leaves are always re-listed).
    const waiting = path.join(spool, 'queues', 'q', 'waiting');
    const old = (Date.now() - 60_000) / 1000;
    for (const top of fs.readdirSync(waiting)) for (const leaf of fs.readdirSync(path.join(waiting, top))) fs.utimesSync(path.join(waiting, top, leaf), old, old);
    expect((await readSpoolStatus(spool)).queues.q!.counts.waiting).toBe(2000);
    expect(fs.existsSync(path.join(spool, 'queues', 'q', 'counts-cache.json'))).toBe(true);
    expect((await readSpoolStatus(spool)).queues.q!.counts.waiting).toBe(2000);
    // A cached count is only trusted while the leaf's mtime is unchanged.
    await q.add('x', 'one more');
    await q.getJobs(['waiting'], 0, 0, true).then(([first]) => first!.remove());
    expect((await readSpoolStatus(spool)).queues.q!.counts.waiting).toBe(2000);
  });
});

describe('checkSpool', () => {
  it('is ok for a fresh spool', async () => {
    const spool = tmpSpool();
    track(new Queue('q', { spool }));
    const c = await checkSpool(spool);
    expect(c).toMatchObject({ ok: true, problems: [], sameFilesystem: true });
    expect(c.ownerUid).toBe(fs.statSync(spool).uid);
  });

  it('reports a missing spool and a file in its place', async () => {
    const base = tmpSpool();
    const missing = await checkSpool(path.join(base, 'none'));
    expect(missing.ok).toBe(false);
    expect(missing.problems[0]!.code).toBe('SPOOL_MISSING');
    expect(missing.problems[0]!.fix).toMatch(/mkdir -p/);
    fs.writeFileSync(path.join(base, 'file'), '');
    expect((await checkSpool(path.join(base, 'file'))).problems[0]!.code).toBe('SPOOL_NOT_DIRECTORY');
  });

  it('reports a newer format version', async () => {
    const spool = tmpSpool();
    fs.writeFileSync(path.join(spool, 'spool.json'), JSON.stringify({ format: 'spoolkit', version: 99 }));
    const c = await checkSpool(spool);
    expect(c.problems.map((p) => p.code)).toEqual(['SPOOL_FORMAT_UNKNOWN']);
    expect(() => new Queue('q', { spool })).toThrow(/format version 99.*upgrade spoolkit/);
  });

  it.skipIf(process.getuid?.() !== 0)('names the owner uid and the uid needed when the spool is not writable', () => {
    const spool = tmpSpool();
    fs.chmodSync(spool, 0o755);
    const script = `import('${path.resolve('src/spool/check.ts')}').then(async (m) => console.log(JSON.stringify(await m.checkSpool(${JSON.stringify(spool)}))))`;
    const out = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { uid: 65534, gid: 65534, encoding: 'utf8', cwd: process.cwd() });
    const c = JSON.parse(out.stdout) as { ok: boolean; uid: number; problems: { code: string; message: string }[] };
    expect(c.ok).toBe(false);
    expect(c.uid).toBe(65534);
    expect(c.problems[0]!.code).toBe('SPOOL_NOT_WRITABLE');
    expect(c.problems[0]!.message).toMatch(/owned by uid 0 .*not writable by uid 65534/);
  });

  it.skipIf(process.getuid?.() !== 0)('names the queue directories this uid cannot write when the root is writable', async () => {
    const spool = tmpSpool();
    await new Queue('q', { spool }).close();
    fs.chmodSync(spool, 0o755);
    // The root and queues/ are this uid's; the queue's directories are root's, without group write for it.
    for (const d of [spool, path.join(spool, 'queues'), path.join(spool, 'workers')]) fs.chownSync(d, 65534, 65534);
    const script = `import('${path.resolve('src/spool/check.ts')}').then(async (m) => console.log(JSON.stringify(await m.checkSpool(${JSON.stringify(spool)}))))`;
    const out = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { uid: 65534, gid: 65534, encoding: 'utf8', cwd: process.cwd() });
    const c = JSON.parse(out.stdout) as { ok: boolean; problems: { code: string; message: string; fix: string }[] };
    expect(c.ok).toBe(false);
    expect(c.problems.map((p) => p.code)).toEqual(['SPOOL_NOT_WRITABLE']);
    expect(c.problems[0]!.message).toMatch(/uid 65534 cannot write \d+ directories .*: queues\/q \(uid 0, gid 0, mode 775\)/);
    expect(c.problems[0]!.fix).toMatch(/chown -R 65534 .*chmod g\+s/);
  });

  it.skipIf(process.getuid?.() !== 0)('reports SPOOL_FULL when the spool has no free blocks, though an empty file still fits', async () => {
    const spool = tmpSpool();
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', spool]);
    try {
      const q = new Queue('q', { spool });
      await q.add('a', {});
      await q.close();
      expect((await checkSpool(spool)).problems).toEqual([]);
      const filler = fs.openSync(path.join(spool, 'filler'), 'w');
      try {
        const block = Buffer.alloc(64 * 1024);
        for (let i = 0; i < 64; i++) fs.writeSync(filler, block);
        expect.unreachable('a 2 MiB tmpfs took 4 MiB');
      } catch (err) {
        expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
      } finally {
        fs.closeSync(filler);
      }
      fs.writeFileSync(path.join(spool, 'empty'), '');
      const c = await checkSpool(spool);
      expect(c.problems.map((p) => p.code)).toEqual(['SPOOL_FULL']);
      expect(c.problems[0]!.fix).toMatch(/Free disk space/);
    } finally {
      execFileSync('umount', ['-l', spool]);
    }
  });
});
