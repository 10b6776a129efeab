import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Queue, SPOOL_FORMAT_VERSION, Worker } from '../../src/index.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

type Step = { kind: 'fsync' | 'link' | 'rename' | 'mkdir' | 'event'; path: string; to?: string };

/** Records, in order, every fsync (by the path its descriptor was opened with), link, rename and directory made. */
function recordSteps(): Step[] {
  const steps: Step[] = [];
  const opened = new Map<number, string>();
  const realOpen = fs.openSync.bind(fs);
  const realFsync = fs.fsyncSync.bind(fs);
  const realLink = fs.linkSync.bind(fs);
  const realRename = fs.renameSync.bind(fs);
  const realMkdir = fs.mkdirSync.bind(fs);
  vi.spyOn(fs, 'openSync').mockImplementation(((file: fs.PathLike, ...rest: unknown[]) => {
    const fd = (realOpen as (...a: unknown[]) => number)(file, ...rest);
    opened.set(fd, String(file));
    return fd;
  }) as typeof fs.openSync);
  vi.spyOn(fs, 'fsyncSync').mockImplementation((fd: number) => {
    steps.push({ kind: 'fsync', path: opened.get(fd) ?? `fd ${fd}` });
    realFsync(fd);
  });
  vi.spyOn(fs, 'linkSync').mockImplementation((from: fs.PathLike, to: fs.PathLike) => {
    realLink(from, to);
    steps.push({ kind: 'link', path: String(from), to: String(to) });
  });
  vi.spyOn(fs, 'renameSync').mockImplementation((from: fs.PathLike, to: fs.PathLike) => {
    realRename(from, to);
    steps.push({ kind: 'rename', path: String(from), to: String(to) });
  });
  vi.spyOn(fs, 'mkdirSync').mockImplementation(((dir: fs.PathLike, opts?: fs.MakeDirectoryOptions) => {
    const made = realMkdir(dir, opts);
    steps.push({ kind: 'mkdir', path: String(dir) });
    return made;
  }) as typeof fs.mkdirSync);
  return steps;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('durable mode', () => {
  it('add: the job file, its id directory and its set directory are fsynced before add returns, in that order', async () => {
    const q = track(new Queue('q', { spool: tmpSpool(), durability: 'durable' }));
    await q.add('warm', {});
    const steps = recordSteps();
    const job = await q.add('x', { n: 1 });
    vi.restoreAllMocks();
    const link = steps.findIndex((s) => s.kind === 'link' && s.to === q.store.idPath(job.id!));
    const publish = steps.findIndex((s) => s.kind === 'rename' && s.to!.includes(`${path.sep}waiting${path.sep}`));
    expect(link).toBeGreaterThan(-1);
    expect(publish).toBeGreaterThan(link);
    const tmp = steps[link]!.path;
    const fileSync = steps.findIndex((s) => s.kind === 'fsync' && s.path === tmp);
    const idDirSync = steps.findIndex((s) => s.kind === 'fsync' && s.path === path.dirname(q.store.idPath(job.id!)));
    const setDirSync = steps.findIndex((s) => s.kind === 'fsync' && s.path === path.dirname(steps[publish]!.to!));
    expect(fileSync).toBeGreaterThan(-1);
    expect(fileSync).toBeLessThan(link);
    expect(idDirSync).toBeGreaterThan(link);
    expect(idDirSync).toBeLessThan(publish);
    expect(setDirSync).toBeGreaterThan(publish);
  });

  it('add into a new spool: each directory it makes is fsynced in its parent, the id shard before the job is visible', async () => {
    const spool = tmpSpool();
    const steps = recordSteps();
    const q = track(new Queue('q', { spool, durability: 'durable' }));
    const job = await q.add('x', { n: 1 });
    vi.restoreAllMocks();
    const made = steps.filter((s) => s.kind === 'mkdir');
    // The queue's own directories, the id shard and the set's buckets.
    expect(made.map((s) => s.path)).toContain(path.dirname(q.store.idPath(job.id!)));
    expect(made.length).toBeGreaterThan(5);
    for (const m of made) {
      const at = steps.indexOf(m);
      expect(steps.slice(at + 1).some((s) => s.kind === 'fsync' && s.path === path.dirname(m.path)), `fsync of the directory holding ${m.path}`).toBe(true);
    }
    // The queue's directory is fsynced once for all its state directories, and once after the
    // first add writes the id counter (seq) into it.
    const idLink = steps.findIndex((s) => s.kind === 'link' && s.to === q.store.idPath(job.id!));
    expect(steps.slice(0, idLink).filter((s) => s.kind === 'fsync' && s.path === q.store.dir)).toHaveLength(2);
    const shard = path.dirname(q.store.idPath(job.id!));
    const publish = steps.findIndex((s) => s.kind === 'rename' && s.to!.includes(`${path.sep}waiting${path.sep}`));
    const shardEntrySync = steps.findIndex((s, i) => i > steps.findIndex((m) => m.kind === 'mkdir' && m.path === shard) && s.kind === 'fsync' && s.path === path.dirname(shard));
    expect(shardEntrySync).toBeGreaterThan(-1);
    expect(shardEntrySync).toBeLessThan(publish);
  });

  it('fast mode fsyncs nothing, not even for the directories it makes', async () => {
    const steps = recordSteps();
    const q = track(new Queue('q', { spool: tmpSpool() }));
    await q.add('x', { n: 1 });
    vi.restoreAllMocks();
    expect(steps.some((s) => s.kind === 'mkdir')).toBe(true);
    expect(steps.filter((s) => s.kind === 'fsync')).toEqual([]);
  });

  it('finishing: each job is in completed/ or failed/ and that directory is fsynced before its event, one fsync shared by the jobs of a turn', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool, durability: 'durable' }));
    const n = 48;
    await q.addBulk(Array.from({ length: n }, (_, i) => ({ name: 'x', data: { i }, opts: { attempts: 1 } })));
    const steps = recordSteps();
    const w = track(
      new Worker(
        'q',
        async (job) => {
          if ((job.data as { i: number }).i % 4 === 0) throw new Error('planned');
          return 'ok';
        },
        { spool, durability: 'durable', concurrency: 8 },
      ),
    );
    w.on('completed', (job) => steps.push({ kind: 'event', path: `completed ${job.id}` }));
    w.on('failed', (job) => steps.push({ kind: 'event', path: `failed ${job?.id}` }));
    await waitFor(() => steps.filter((s) => s.kind === 'event').length === n, 20_000);
    await w.close();
    vi.restoreAllMocks();
    for (const place of ['completed', 'failed'] as const) {
      const dir = path.join(q.store.dir, place);
      const events = steps.filter((s) => s.kind === 'event' && s.path.startsWith(`${place} `));
      expect(events).toHaveLength(place === 'failed' ? n / 4 : n - n / 4);
      for (const e of events) {
        const id = e.path.split(' ')[1]!;
        const moved = steps.findIndex((s) => s.kind === 'rename' && s.to === path.join(dir, `${id}.json`));
        expect(moved, `job ${id} renamed into ${place}/`).toBeGreaterThan(-1);
        const synced = steps.findIndex((s, i) => i > moved && s.kind === 'fsync' && s.path === dir);
        expect(synced, `${place}/ fsynced after job ${id} moved`).toBeGreaterThan(moved);
        expect(synced, `before the ${place} event of job ${id}`).toBeLessThan(steps.indexOf(e));
      }
    }
    // Group commit: jobs finished in one turn of the event loop share the directory fsync.
    const completedSyncs = steps.filter((s) => s.kind === 'fsync' && s.path === path.join(q.store.dir, 'completed')).length;
    expect(completedSyncs).toBeLessThanOrEqual((n - n / 4) / 2);
  });

  it('a lease renewal while a finished job waits for its directory fsync reports no lost lease', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool, durability: 'durable' }));
    const n = 300;
    await q.addBulk(Array.from({ length: n }, (_, i) => ({ name: 'x', data: { i } })));
    // Renewing every millisecond makes the renewal timer fire between a job's move into
    // completed/ and the shared fsync that ends its run.
    // A few slow jobs make sure some renewals find a job still running.
    const processor = async (job: { data: unknown }): Promise<string> => {
      if ((job.data as { i: number }).i % 50 === 0) await new Promise((r) => setTimeout(r, 5));
      return 'ok';
    };
    const w = track(new Worker('q', processor, { spool, durability: 'durable', concurrency: 8, lockRenewTime: 1 }));
    const errors: Error[] = [];
    const lostIds: string[] = [];
    let renewals = 0;
    let done = 0;
    w.on('error', (err) => errors.push(err));
    w.on('lockRenewalFailed', (ids: string[]) => lostIds.push(...ids));
    w.on('locksRenewed', () => renewals++);
    w.on('completed', () => done++);
    await waitFor(() => done === n, 30_000, `${n} jobs completed`);
    await w.close();
    expect(renewals).toBeGreaterThan(0);
    expect(lostIds).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('close(true) while a finished job waits for its directory fsync leaves it completed and reports it', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool, durability: 'durable' }));
    const job = await q.add('x', { n: 1 });
    let runSignal: AbortSignal | undefined;
    const w = track(
      new Worker(
        'q',
        async (_job, _token, signal) => {
          runSignal = signal;
          return 'ok';
        },
        { spool, durability: 'durable', autorun: false },
      ),
    );
    const errors: Error[] = [];
    const completed: string[] = [];
    w.on('error', (err) => errors.push(err));
    w.on('completed', (j: { id?: string }) => completed.push(j.id!));
    // Force the close in the window: right after the job's rename into completed/ (once the
    // finishing code has run to its await), before the shared directory fsync.
    let closing: Promise<void> | undefined;
    let inWindow = false;
    const completedDir = path.join(q.store.dir, 'completed');
    const realRename = fs.renameSync.bind(fs);
    vi.spyOn(fs, 'renameSync').mockImplementation((from: fs.PathLike, to: fs.PathLike) => {
      realRename(from, to);
      if (!closing && path.dirname(String(to)) === completedDir) {
        queueMicrotask(() => {
          // In the window: the file is in completed/, its event not sent yet.
          inWindow = fs.existsSync(String(to)) && completed.length === 0;
          closing = w.close(true);
        });
      }
    });
    void w.run();
    await waitFor(() => closing !== undefined, 10_000, 'the forced close');
    await closing;
    vi.restoreAllMocks();
    expect(inWindow).toBe(true);
    expect(errors).toEqual([]);
    expect(completed).toEqual([job.id]);
    expect(await q.getJobState(job.id!)).toBe('completed');
    expect((await q.getJobCounts('waiting', 'active')).waiting).toBe(0);
    // The finished run had nothing to put back: the close did not treat it as a run to abort.
    expect(runSignal?.aborted).toBe(false);
  });

  it('addBulk: every file and every id directory is durable before the first job is visible, and each directory is fsynced once', async () => {
    const q = track(new Queue('q', { spool: tmpSpool(), durability: 'durable' }));
    await q.add('warm', {});
    const steps = recordSteps();
    const n = 60;
    const jobs = await q.addBulk(Array.from({ length: n }, (_, i) => ({ name: 'x', data: { i } })));
    vi.restoreAllMocks();
    const firstPublish = steps.findIndex((s) => s.kind === 'rename' && s.to!.includes(`${path.sep}waiting${path.sep}`));
    const publishes = steps.filter((s) => s.kind === 'rename' && s.to!.includes(`${path.sep}waiting${path.sep}`));
    expect(publishes).toHaveLength(n);
    const before = steps.slice(0, firstPublish);
    const after = steps.slice(steps.lastIndexOf(publishes[n - 1]!) + 1);
    for (const job of jobs) {
      const link = before.find((s) => s.kind === 'link' && s.to === q.store.idPath(job.id!));
      expect(link, `link of job ${job.id}`).toBeDefined();
      expect(before.some((s) => s.kind === 'fsync' && s.path === link!.path)).toBe(true);
      expect(before.some((s) => s.kind === 'fsync' && s.path === path.dirname(q.store.idPath(job.id!)))).toBe(true);
    }
    for (const dir of new Set(publishes.map((s) => path.dirname(s.to!)))) {
      expect(after.filter((s) => s.kind === 'fsync' && s.path === dir)).toHaveLength(1);
    }
    const dirSyncs = steps.filter((s) => s.kind === 'fsync' && fs.statSync(s.path, { throwIfNoEntry: false })?.isDirectory());
    expect(new Set(dirSyncs.map((s) => s.path)).size).toBe(dirSyncs.length);
    // One fsync per job file and per id-counter write; every other one is a directory's, each made once.
    const counterWrites = steps.filter((s) => s.kind === 'rename' && s.to === path.join(q.store.dir, 'seq')).length;
    expect(steps.filter((s) => s.kind === 'fsync').length).toBe(n + counterWrites + dirSyncs.length);
  });

  it('a new spool root: the format marker is fsynced before it is linked into place, and the root after it', () => {
    const spool = tmpSpool();
    const steps = recordSteps();
    track(new Queue('q', { spool, durability: 'durable' }));
    vi.restoreAllMocks();
    const link = steps.findIndex((s) => s.kind === 'link' && s.to === path.join(spool, 'spool.json'));
    expect(link).toBeGreaterThan(-1);
    const markerSync = steps.findIndex((s) => s.kind === 'fsync' && s.path === steps[link]!.path);
    expect(markerSync).toBeGreaterThan(-1);
    expect(markerSync).toBeLessThan(link);
    expect(steps.slice(link).some((s) => s.kind === 'fsync' && s.path === spool)).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(spool, 'spool.json'), 'utf8'))).toMatchObject({ format: 'spoolkit', version: SPOOL_FORMAT_VERSION });
  });

  it('a durable queue opened after a fast one on the same root in this process still fsyncs the root', () => {
    const spool = tmpSpool();
    track(new Queue('q', { spool }));
    const steps = recordSteps();
    track(new Queue('q', { spool, durability: 'durable' }));
    vi.restoreAllMocks();
    // The fast queue made queues/, workers/ and spool.json without fsyncs; the durable one makes them durable.
    expect(steps.filter((s) => s.kind === 'fsync' && s.path === spool)).toHaveLength(1);
    // A second durable queue on the same root does not do it again.
    const again = recordSteps();
    track(new Queue('other', { spool, durability: 'durable' }));
    vi.restoreAllMocks();
    expect(again.filter((s) => s.kind === 'fsync' && s.path === spool)).toHaveLength(0);
  });
});

describe('durable mode: adds made in one turn of the event loop (group commit)', () => {
  it('share their directory fsyncs; every id directory is durable before the first job is visible, and each add resolves after its set directory is', async () => {
    const q = track(new Queue('q', { spool: tmpSpool(), durability: 'durable' }));
    await q.add('warm', {});
    const steps = recordSteps();
    const n = 40;
    const jobs = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        q.add('x', { i }).then((job) => {
          steps.push({ kind: 'event', path: job.id! });
          return job;
        }),
      ),
    );
    vi.restoreAllMocks();
    const publishes = steps.filter((s) => s.kind === 'rename' && s.to!.includes(`${path.sep}waiting${path.sep}`));
    expect(publishes).toHaveLength(n);
    const firstPublish = steps.indexOf(publishes[0]!);
    const before = steps.slice(0, firstPublish);
    for (const job of jobs) {
      const link = before.find((s) => s.kind === 'link' && s.to === q.store.idPath(job.id!));
      expect(link, `link of job ${job.id}`).toBeDefined();
      expect(before.some((s) => s.kind === 'fsync' && s.path === link!.path)).toBe(true);
      expect(before.some((s) => s.kind === 'fsync' && s.path === path.dirname(q.store.idPath(job.id!)))).toBe(true);
    }
    const firstResolve = steps.findIndex((s) => s.kind === 'event');
    for (const dir of new Set(publishes.map((s) => path.dirname(s.to!)))) {
      const syncs = steps.map((s, i) => (s.kind === 'fsync' && s.path === dir ? i : -1)).filter((i) => i >= 0);
      expect(syncs).toHaveLength(1);
      expect(syncs[0]).toBeGreaterThan(steps.indexOf(publishes[n - 1]!));
      expect(syncs[0]).toBeLessThan(firstResolve);
    }
    // Each directory is fsynced once for all of them (adds made one by one fsync the set directory n times).
    const dirSyncs = steps.filter((s) => s.kind === 'fsync' && fs.statSync(s.path, { throwIfNoEntry: false })?.isDirectory());
    expect(new Set(dirSyncs.map((s) => s.path)).size).toBe(dirSyncs.length);
  });

  it('adds from separate callbacks of one turn (requests handled together) share the set directory fsync once adds come several per turn', async () => {
    const q = track(new Queue('q', { spool: tmpSpool(), durability: 'durable' }));
    await q.add('warm', {});
    const waitingDirs = (steps: Step[]): string[] => steps.filter((s) => s.kind === 'fsync' && s.path.includes(`${path.sep}waiting${path.sep}`)).map((s) => s.path);
    /** Eight adds, each from its own callback in one turn of the event loop, like eight requests. */
    const round = async (): Promise<Step[]> => {
      const steps = recordSteps();
      const added: Promise<unknown>[] = [];
      await new Promise<void>((resolve) => {
        for (let i = 0; i < 8; i++) setImmediate(() => void added.push(q.add('x', { i })));
        setImmediate(resolve);
      });
      await Promise.all(added);
      vi.restoreAllMocks();
      return steps;
    };
    await round(); // the first busy turn: adds are run as they come, and counted
    for (let r = 0; r < 3; r++) {
      const dirs = waitingDirs(await round());
      // One fsync per set directory the eight jobs went to (usually one; two across a bucket boundary).
      expect(dirs.length).toBe(new Set(dirs).size);
      expect(dirs.length).toBeLessThanOrEqual(2);
    }
  });

  it('a producer awaiting one add at a time does not wait for the event loop between adds', async () => {
    const q = track(new Queue('q', { spool: tmpSpool(), durability: 'durable' }));
    await new Promise((r) => setImmediate(r)); // a fresh turn
    let turned = false;
    setImmediate(() => (turned = true));
    for (let i = 0; i < 5; i++) await q.add('x', { i });
    expect(turned).toBe(false);
    expect((await q.getJobCounts('waiting')).waiting).toBe(5);
  });

  it('fail one by one: a bad add fails alone and the others are added', async () => {
    const q = track(new Queue('q', { spool: tmpSpool(), durability: 'durable' }));
    const results = await Promise.allSettled([q.add('a', { n: 1 }), q.add('b', { n: 2n } as unknown as object), q.add('c', { n: 3 })]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 'ERR_INVALID_JOB' });
    const waiting = await q.getJobs(['waiting'], 0, -1, true);
    expect(waiting.map((j) => j.name)).toEqual(['a', 'c']);
  });

  it('keep BullMQ semantics: one job per jobId, FIFO in call order', async () => {
    const q = track(new Queue('q', { spool: tmpSpool(), durability: 'durable' }));
    const [first, second] = await Promise.all([q.add('a', { n: 1 }, { jobId: 'same' }), q.add('b', { n: 2 }, { jobId: 'same' })]);
    expect(first!.id).toBe('same');
    expect(second!.id).toBe('same');
    expect((await q.getJob('same'))!.data).toEqual({ n: 1 });
    const more = await Promise.all(Array.from({ length: 10 }, (_, i) => q.add('x', { i })));
    const waiting = await q.getJobs(['waiting'], 0, -1, true);
    expect(waiting.map((j) => j.id)).toEqual(['same', ...more.map((j) => j.id)]);
    expect(more.map((j) => (j.data as { i: number }).i)).toEqual([...Array(10).keys()]);
  });

  it('are not lost when the queue closes before the turn ends', async () => {
    const spool = tmpSpool();
    const q = new Queue('q', { spool, durability: 'durable' });
    const pending = q.add('x', { n: 1 });
    await q.close();
    const job = await pending;
    const reader = track(new Queue('q', { spool }));
    expect((await reader.getJob(job.id!))!.data).toEqual({ n: 1 });
  });
});
