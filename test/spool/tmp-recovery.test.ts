import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Queue } from '../../src/index.js';
import { openQueueStore } from '../../src/spool/open.js';
import { PID_NAMESPACE } from '../../src/spool/process-gone.js';
import { addJobs } from '../../src/spool/add.js';
import { reclaimStalled } from '../../src/spool/reclaim.js';
import { OPEN_IDLE_MS, QUICK_OPEN_IDLE_MS } from '../../src/spool/tmp-recovery.js';
import { OWNER_IDLE_MS, TMP_OWNER_KEY, TmpOwners, ownerKeyOf } from '../../src/spool/tmp-owner.js';
import { filesUnder, tmpFiles, tmpSpool, track } from '../fixtures/core/helpers.js';

const realRename = fs.renameSync.bind(fs);

afterEach(() => {
  vi.restoreAllMocks();
});

/** The pid of a process that has run and exited (and been reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

/** Writes the owner file of a writer key, as that writer would (`pidNamespace` differs for another container). */
function writeOwner(queueDir: string, pid: number, tag: string, pidNamespace = PID_NAMESPACE): string {
  const key = `${pid}-${tag}000000`;
  fs.writeFileSync(path.join(queueDir, 'tmp', `o-${key}`), JSON.stringify({ hostname: os.hostname(), pidNamespace, pid, tag: 't1' }));
  return key;
}

/**
 * Moves the waiting jobs into tmp/ as the temp files of a bulk by writer `key`, in the state its
 * writer leaves when it stops before publishing (every file named in the id index), with the
 * bulk's marker: `true` or 'commit' for a committed bulk, `false` or 'open' for one being written,
 * 'undo' for one another process decided to undo, 'none' for a bulk of an older version.
 */
function diedMidBulk(queueDir: string, key: string, marker: boolean | 'open' | 'commit' | 'undo' | 'none'): string[] {
  const files = filesUnder(path.join(queueDir, 'waiting'))
    .sort()
    .map((f, i) => {
      const tmp = path.join(queueDir, 'tmp', `b-${key}-0-${i}`);
      fs.renameSync(f, tmp);
      return tmp;
    });
  const kind = marker === true ? 'commit' : marker === false ? 'open' : marker;
  if (kind !== 'none') fs.writeFileSync(path.join(queueDir, 'tmp', `b-${key}-0.${kind}`), '');
  return files;
}

function passNow(spool: string, laterMs = 0): void {
  reclaimStalled(openQueueStore('q', { spool }), { nowMs: Date.now() + laterMs, lockDurationMs: 30_000, maxStalledCount: 1 });
}

describe('temp files of a writer known gone', () => {
  it('names every temp file of an add after its writer, and leaves an owner file saying who that is', async () => {
    expect(TMP_OWNER_KEY).toMatch(new RegExp(`^${process.pid}-[0-9a-z]{10}$`));
    expect(ownerKeyOf('123-ab0z12cd34-1k.tmp')).toBe('123-ab0z12cd34');
    expect(ownerKeyOf('b-123-ab0z12cd34-4-17')).toBe('123-ab0z12cd34');
    expect(ownerKeyOf('b-123-ab0z12cd34-4.open')).toBe('123-ab0z12cd34');
    expect(ownerKeyOf('o-123-ab0z12cd34')).toBe('123-ab0z12cd34');
    expect(ownerKeyOf('idlock-0a1b')).toBeUndefined();
    // Names of older versions: no writer key.
    expect(ownerKeyOf('123-ab0z-1k.tmp')).toBeUndefined();
    expect(ownerKeyOf('b-1x2y3z4-5')).toBeUndefined();
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    await q.add('x', {});
    const owner = JSON.parse(fs.readFileSync(path.join(q.store.dir, 'tmp', `o-${TMP_OWNER_KEY}`), 'utf8'));
    expect(owner).toMatchObject({ hostname: os.hostname(), pidNamespace: PID_NAMESPACE, pid: process.pid });
    expect(new TmpOwners(path.join(q.store.dir, 'tmp')).gone(TMP_OWNER_KEY)).toBe(false);
  });

  it('judges a writer gone only when its owner file, from this host and pid namespace, names a process that is gone', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    await q.add('x', {});
    const dir = path.join(q.store.dir, 'tmp');
    const pid = deadPid();
    const gone = writeOwner(q.store.dir, pid, 'aaaa');
    const elsewhere = writeOwner(q.store.dir, pid, 'bbbb', 'pid:[1]');
    fs.writeFileSync(path.join(dir, `o-${pid}-cccc000000`), '{"hostname":');
    const owners = new TmpOwners(dir);
    expect(owners.gone(gone)).toBe(true);
    expect(owners.gone(elsewhere)).toBe(false);
    expect(owners.gone(`${pid}-cccc000000`)).toBe(false);
    expect(owners.gone(`${pid}-dddd000000`)).toBe(false);
  });

  it('a stalled check publishes the committed bulk of a gone writer at once, and drops its owner file once nothing of it is left', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    await q.addBulk([1, 2, 3].map((n) => ({ name: 'j', data: { n } })));
    const key = writeOwner(q.store.dir, deadPid(), 'aaaa');
    const files = diedMidBulk(q.store.dir, key, true);
    passNow(spool);
    for (const f of files) expect(fs.existsSync(f)).toBe(false);
    expect(await q.getJobCounts('waiting')).toEqual({ waiting: 3 });
    expect(tmpFiles(q.store.dir)).toEqual([]);
    expect(fs.existsSync(path.join(q.store.dir, 'tmp', `o-${key}`))).toBe(false);
    // This process's own owner file stays.
    expect(fs.existsSync(path.join(q.store.dir, 'tmp', `o-${TMP_OWNER_KEY}`))).toBe(true);
  });

  it('a stalled check undoes the uncommitted bulk of a gone writer at once: files, id names and deduplication keys', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    await q.addBulk([1, 2].map((n) => ({ name: 'j', data: { n }, opts: { jobId: `c${n}`, deduplication: { id: `d${n}`, ttl: 60_000 } } })));
    const key = writeOwner(q.store.dir, deadPid(), 'aaaa');
    diedMidBulk(q.store.dir, key, false);
    passNow(spool);
    expect(tmpFiles(q.store.dir)).toEqual([]);
    expect(filesUnder(path.join(q.store.dir, 'ids'))).toEqual([]);
    expect(await q.getDeduplicationJobId('d1')).toBeNull();
    expect(await q.getJobCounts('waiting')).toEqual({ waiting: 0 });
  });

  it('leaves the young files of a writer that is alive, or out of judging reach, to the age rule', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    await q.addBulk([1, 2].map((n) => ({ name: 'j', data: { n } })));
    const key = writeOwner(q.store.dir, deadPid(), 'aaaa', 'pid:[1]');
    const files = diedMidBulk(q.store.dir, key, true);
    passNow(spool);
    for (const f of files) expect(fs.existsSync(f)).toBe(true);
    expect(fs.existsSync(path.join(q.store.dir, 'tmp', `o-${key}`))).toBe(true);
  });

  it('drops an owner file out of judging reach once it has been idle for a day with no temp file of its writer', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    await q.add('x', {});
    const key = writeOwner(q.store.dir, deadPid(), 'aaaa', 'pid:[1]');
    const file = path.join(q.store.dir, 'tmp', `o-${key}`);
    passNow(spool);
    expect(fs.existsSync(file)).toBe(true);
    const then = new Date(Date.now() - OWNER_IDLE_MS - 60_000);
    fs.utimesSync(file, then, then);
    fs.utimesSync(path.join(q.store.dir, 'tmp', `o-${TMP_OWNER_KEY}`), then, then);
    passNow(spool);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('an add of a custom id that a gone writer held in an unfinished bulk gets a new job, not a duplicate', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    await q.addBulk([1, 2].map((n) => ({ name: 'old', data: { n }, opts: { jobId: `c${n}`, deduplication: { id: `d${n}` } } })));
    const key = writeOwner(q.store.dir, deadPid(), 'aaaa');
    diedMidBulk(q.store.dir, key, false);
    const again = await q.add('new', { again: true }, { jobId: 'c1' });
    expect(again.id).toBe('c1');
    expect((await q.getJob('c1'))!.name).toBe('new');
    // The other's deduplication key went with it.
    const byKey = await q.add('new', { again: true }, { deduplication: { id: 'd2' } });
    expect(await q.getDeduplicationJobId('d2')).toBe(byKey.id);
    expect(await q.getJobCounts('waiting')).toEqual({ waiting: 2 });
    expect(tmpFiles(q.store.dir)).toEqual([]);
  });

  it('an add of a custom id that a gone writer held in a committed bulk finds the job, published', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    await q.addBulk([1, 2].map((n) => ({ name: 'old', data: { n }, opts: { jobId: `c${n}` } })));
    const key = writeOwner(q.store.dir, deadPid(), 'aaaa');
    diedMidBulk(q.store.dir, key, true);
    await q.add('new', {}, { jobId: 'c1' });
    expect((await q.getJob('c1'))!.name).toBe('old');
    expect(await q.getJobState('c1')).toBe('waiting');
    expect(await q.getJobState('c2')).toBe('waiting');
  });
});

describe('a bulk whose writer cannot be judged (another container): its markers decide', () => {
  /** A writer key whose owner file names another pid namespace: never judged gone from here. */
  function elsewhere(queueDir: string): string {
    return writeOwner(queueDir, deadPid(), 'eeee', 'pid:[1]');
  }

  async function queueWithBulk(marker: 'open' | 'undo' | 'none'): Promise<{ spool: string; q: Queue; files: string[] }> {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    await q.addBulk([1, 2].map((n) => ({ name: 'old', data: { n }, opts: { jobId: `c${n}` } })));
    const files = diedMidBulk(q.store.dir, elsewhere(q.store.dir), marker);
    return { spool, q, files };
  }

  it('an open bulk is left while it was busy less than 30 s ago, then undone, its .open renamed to .undo first', async () => {
    const { spool, q, files } = await queueWithBulk('open');
    passNow(spool, OPEN_IDLE_MS - 1000);
    for (const f of files) expect(fs.existsSync(f)).toBe(true);
    const renames: string[] = [];
    const spy = vi.spyOn(fs, 'renameSync').mockImplementation(((from: fs.PathLike, to: fs.PathLike) => {
      renames.push(`${path.basename(String(from))} -> ${path.basename(String(to))}`);
      realRename(from, to);
    }) as typeof fs.renameSync);
    passNow(spool, OPEN_IDLE_MS + 1000);
    spy.mockRestore();
    expect(renames[0]).toMatch(/^b-.*\.open -> b-.*\.undo$/);
    expect(tmpFiles(q.store.dir)).toEqual([]);
    expect(filesUnder(path.join(q.store.dir, 'ids'))).toEqual([]);
  });

  it('a bulk another process decided to undo is undone at once, by whoever sees it', async () => {
    const { spool, q } = await queueWithBulk('undo');
    passNow(spool);
    expect(tmpFiles(q.store.dir)).toEqual([]);
    expect(filesUnder(path.join(q.store.dir, 'ids'))).toEqual([]);
  });

  it('a bulk with no marker (an older version) keeps the five-minute rule', async () => {
    const { spool, q, files } = await queueWithBulk('none');
    passNow(spool, OPEN_IDLE_MS + 1000);
    for (const f of files) expect(fs.existsSync(f)).toBe(true);
    passNow(spool, 6 * 60_000);
    expect(tmpFiles(q.store.dir)).toEqual([]);
  });

  it('an add whose id such a bulk holds takes it for dead once the bulk has been idle two seconds', async () => {
    const { q } = await queueWithBulk('open');
    const soon = addJobs(q.store, [{ name: 'new', data: {}, opts: { jobId: 'c1' } }], Date.now() + 500);
    expect(soon[0]).toMatchObject({ added: false, reason: 'duplicated' });
    const later = addJobs(q.store, [{ name: 'new', data: {}, opts: { jobId: 'c1' } }], Date.now() + QUICK_OPEN_IDLE_MS + 500);
    expect(later[0]).toMatchObject({ added: true });
    expect((await q.getJob('c1'))!.name).toBe('new');
    expect(await q.getJob('c2')).toBeUndefined();
  });
});

describe('an addBulk undone by another process before it committed', () => {
  /** Makes every commit of a bulk meet another process's decision to undo it, `times` times. */
  function undoCommits(times: number): void {
    let left = times;
    vi.spyOn(fs, 'renameSync').mockImplementation(((from: fs.PathLike, to: fs.PathLike) => {
      if (left > 0 && String(from).endsWith('.open') && String(to).endsWith('.commit')) {
        left--;
        realRename(from, String(from).replace(/\.open$/, '.undo'));
      }
      realRename(from, to);
    }) as typeof fs.renameSync);
  }

  it('is made once more, and resolves with every job added once', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    undoCommits(1);
    const jobs = await q.addBulk([1, 2, 3].map((n) => ({ name: 'j', data: { n }, opts: n === 1 ? { jobId: 'c1' } : {} })));
    vi.restoreAllMocks();
    expect(jobs.map((j) => j.id)).toEqual(['c1', expect.any(String), expect.any(String)]);
    expect(await q.getJobCounts('waiting')).toEqual({ waiting: 3 });
    expect(filesUnder(path.join(q.store.dir, 'ids'))).toHaveLength(3);
    // The first attempt's files are gone; its .undo marker goes with the next full pass.
    expect(tmpFiles(q.store.dir).map((f) => path.basename(f))).toEqual([expect.stringMatching(/\.undo$/)]);
    passNow(spool);
    expect(tmpFiles(q.store.dir)).toEqual([]);
  });

  it('undone twice, rejects with ERR_ADD_UNDONE and adds nothing', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    undoCommits(2);
    await expect(q.addBulk([1, 2, 3].map((n) => ({ name: 'j', data: { n }, opts: { jobId: `c${n}` } })))).rejects.toMatchObject({ code: 'ERR_ADD_UNDONE' });
    vi.restoreAllMocks();
    expect(await q.getJobCounts('waiting')).toEqual({ waiting: 0 });
    expect(filesUnder(path.join(q.store.dir, 'ids'))).toEqual([]);
    passNow(spool);
    expect(tmpFiles(q.store.dir)).toEqual([]);
    // The ids are free again.
    expect((await q.addBulk([1, 2].map((n) => ({ name: 'k', data: {}, opts: { jobId: `c${n}` } })))).map((j) => j.id)).toEqual(['c1', 'c2']);
    expect((await q.getJob('c1'))!.name).toBe('k');
  });
});
