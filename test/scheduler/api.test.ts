import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { Queue } from '../../src/index.js';
import { getJobScheduler, getJobSchedulers, getJobSchedulersCount, removeJobScheduler, runSchedulerPass, upsertJobScheduler } from '../../src/scheduler/index.js';
import { schedulerDir } from '../../src/scheduler/store.js';
import { createFileHost, type FileHost } from './file-host.js';

const T0 = Date.UTC(2025, 0, 15, 10, 0, 0, 250);

let root: string;
let clock: number;
let host: FileHost;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'spoolkit-sched-'));
  clock = T0;
  host = createFileHost(root, 'q', { now: () => clock });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('upsertJobScheduler', () => {
  it('every: enqueues the first run at once and the next one as a delayed job', async () => {
    const job = await upsertJobScheduler(host, 'tick', { every: 1000 }, { name: 'beat', data: { n: 1 }, opts: { attempts: 2 } });
    expect(job.id).toBe(`repeat:tick:${T0}`);
    expect(job.name).toBe('beat');
    expect(host.jobIds()).toEqual([`repeat:tick:${T0}`, `repeat:tick:${T0 + 1000}`]);
    const first = host.readJob(`repeat:tick:${T0}`)!;
    expect(first.opts).toMatchObject({ attempts: 2, delay: 0, repeatJobKey: 'tick', prevMillis: T0 });
    expect(first.opts.repeat).toBeUndefined();
    expect(first.data).toEqual({ n: 1 });
    expect(host.readJob(`repeat:tick:${T0 + 1000}`)!.opts).toMatchObject({ delay: 1000, prevMillis: T0 + 1000 });
  });

  it('pattern: enqueues only the next instant, delayed', async () => {
    const job = await upsertJobScheduler(host, 'cron', { pattern: '*/10 * * * * *' });
    const next = Date.UTC(2025, 0, 15, 10, 0, 10);
    expect(job.id).toBe(`repeat:cron:${next}`);
    expect(job.name).toBe('cron');
    expect(host.jobIds()).toEqual([`repeat:cron:${next}`]);
    expect(host.readJob(`repeat:cron:${next}`)!.opts.delay).toBe(next - T0);
    expect(host.readJob(`repeat:cron:${next}`)!.data).toEqual({});
  });

  it('is idempotent: the same definition again changes nothing', async () => {
    const a = await upsertJobScheduler(host, 'cron', { pattern: '*/10 * * * * *' }, { data: { x: 1 } });
    clock += 3000;
    const b = await upsertJobScheduler(host, 'cron', { pattern: '*/10 * * * * *' }, { data: { x: 1 } });
    expect(b.id).toBe(a.id);
    expect(host.addedLog()).toHaveLength(1);
    const every1 = await upsertJobScheduler(host, 'ev', { every: 5000 });
    clock += 1000;
    const every2 = await upsertJobScheduler(host, 'ev', { every: 5000 });
    // The pending run due now is returned (as BullMQ returns its waiting job), not the run ahead.
    expect(every1.id).toBe(`repeat:ev:${T0 + 3000}`);
    expect(every2.id).toBe(every1.id);
    host.setState(every1.id!, 'completed');
    const every3 = await upsertJobScheduler(host, 'ev', { every: 5000 });
    expect(every3.id).toBe(`repeat:ev:${T0 + 3000 + 5000}`);
    expect(host.addedLog().filter((l) => l.id.startsWith('repeat:ev:'))).toHaveLength(2);
  });

  it('updates in place: a new definition takes back the pending run and starts the new schedule', async () => {
    await upsertJobScheduler(host, 'cron', { pattern: '0 * * * * *' }, { data: { v: 1 } });
    const oldPending = `repeat:cron:${Date.UTC(2025, 0, 15, 10, 1)}`;
    expect(host.jobIds()).toEqual([oldPending]);
    const job = await upsertJobScheduler(host, 'cron', { pattern: '*/15 * * * * *' }, { data: { v: 2 } });
    expect(job.id).toBe(`repeat:cron:${Date.UTC(2025, 0, 15, 10, 0, 15)}`);
    expect(host.jobIds()).toEqual([job.id]);
    const json = await getJobScheduler(host, 'cron');
    expect(json).toMatchObject({ key: 'cron', pattern: '*/15 * * * * *', iterationCount: 1, template: { data: { v: 2 } } });
    expect(await getJobSchedulersCount(host)).toBe(1);
  });

  it('every with the same interval keeps its slot when only the template changes', async () => {
    await upsertJobScheduler(host, 'ev', { every: 60_000 }, { data: { v: 1 } });
    const ahead = `repeat:ev:${T0 + 60_000}`;
    // The run due at T0 has not started: like BullMQ's waiting job, it runs with the new data.
    clock += 10_000;
    const job = await upsertJobScheduler(host, 'ev', { every: 60_000 }, { data: { v: 2 } });
    expect(job.id).toBe(`repeat:ev:${T0}`);
    expect(host.readJob(`repeat:ev:${T0}`)!.data).toEqual({ v: 2 });
    expect(host.readJob(ahead)!.data).toEqual({ v: 2 });
    expect(host.jobIds()).toEqual([`repeat:ev:${T0}`, ahead]);
    // Once the due run has started, only the run ahead is replaced, in its own slot.
    host.setState(`repeat:ev:${T0}`, 'active');
    const again = await upsertJobScheduler(host, 'ev', { every: 60_000 }, { data: { v: 3 } });
    expect(again.id).toBe(ahead);
    expect(host.readJob(ahead)!.data).toEqual({ v: 3 });
    expect(host.readJob(`repeat:ev:${T0}`)!.data).toEqual({ v: 2 });
  });

  it('a changed interval takes back the run due now as well as the run ahead: no run of the old definition is left', async () => {
    await upsertJobScheduler(host, 'ev', { every: 60_000 }, { data: { v: 1 } });
    clock += 10_000;
    await upsertJobScheduler(host, 'ev', { every: 30_000 }, { data: { v: 2 } });
    const left = host.jobIds().map((id) => host.readJob(id)!.data);
    expect(left).not.toContainEqual({ v: 1 });
    expect(left.length).toBeGreaterThan(0);
  });

  it('a redefinition leaves a started run alone', async () => {
    await upsertJobScheduler(host, 'cron', { pattern: '0 * * * * *' });
    const pending = `repeat:cron:${Date.UTC(2025, 0, 15, 10, 1)}`;
    host.setState(pending, 'active');
    await upsertJobScheduler(host, 'cron', { pattern: '30 * * * * *' });
    expect(host.jobIds()).toEqual([`repeat:cron:${Date.UTC(2025, 0, 15, 10, 0, 30)}`, pending]);
  });

  it('refuses a past endDate, both every and pattern, and forbidden template options', async () => {
    await expect(upsertJobScheduler(host, 's', { every: 1000, endDate: T0 - 1 })).rejects.toBeInstanceOf(ConfigError);
    await expect(upsertJobScheduler(host, 's', { every: 1000, pattern: '* * * * *' })).rejects.toThrow(/exactly one/);
    await expect(upsertJobScheduler(host, 's', { every: 1000 }, { opts: { jobId: 'x' } as never })).rejects.toThrow(/jobId is not allowed/);
    await expect(upsertJobScheduler(host, 'a/b', { every: 1000 })).rejects.toThrow(/path separator/);
    expect(await getJobSchedulersCount(host)).toBe(0);
    expect(host.jobIds()).toEqual([]);
  });

  it('a template option that add would refuse is refused at upsert, and nothing is stored', async () => {
    for (const opts of [{ priority: -1 }, { attempts: 'three' }, { removeOnComplete: 'yes' }, { backoff: { type: 'fixed', jitter: 2 } }]) {
      await expect(upsertJobScheduler(host, 'bad', { every: 1000 }, { opts: opts as never })).rejects.toMatchObject({ code: 'ERR_INVALID_JOB' });
    }
    expect(await getJobSchedulersCount(host)).toBe(0);
    expect(host.jobIds()).toEqual([]);
    clock += 20_000;
    expect((await runSchedulerPass(host)).problems).toEqual([]);
  });

  it('re-upserting an unchanged scheduler does not enqueue again a run that already ran (promoted early, then removed)', async () => {
    await upsertJobScheduler(host, 'ev', { every: 60_000 });
    const ahead = `repeat:ev:${T0 + 60_000}`;
    expect(host.jobIds()).toContain(ahead);
    // Promoted by hand, run, and removed by retention before its slot.
    host.setState(`repeat:ev:${T0}`, 'completed');
    host.deleteJob(ahead);
    clock += 10_000;
    const again = await upsertJobScheduler(host, 'ev', { every: 60_000 });
    expect(again).toBeUndefined();
    expect(host.jobIds()).not.toContain(ahead);
    expect(host.addedLog().filter((l) => l.id === ahead)).toHaveLength(1);
  });

  it('a run ahead left by an older definition (a redefinition racing a pass) does not hold back the new schedule', async () => {
    await upsertJobScheduler(host, 'ev', { every: 3_600_000 });
    const dir = schedulerDir(host, 'ev');
    await upsertJobScheduler(host, 'ev', { every: 1000 });
    // What a pass of the old definition re-commits after the redefinition dropped it.
    const stale = T0 + 3_600_000;
    writeFileSync(join(dir, 'ticks', `${stale}.json`), `${JSON.stringify({ schedulerId: 'ev', generation: 1, millis: stale, jobId: `repeat:ev:${stale}`, iteration: 1, skipped: 0, skippedTotal: 0, phase: 'enqueued', claimedAt: T0 })}\n`);
    const enqueued: string[] = [];
    for (let k = 1; k <= 3; k++) {
      clock = T0 + k * 1000;
      enqueued.push(...(await runSchedulerPass(host)).enqueued);
    }
    // The upsert enqueued the new schedule's first run and the one ahead (T0, T0+1000); each
    // pass enqueues the next run ahead, the stale marker notwithstanding.
    expect(enqueued).toEqual([2000, 3000, 4000].map((d) => `repeat:ev:${T0 + d}`));
    expect(readdirSync(join(dir, 'ticks'))).not.toContain(`${stale}.json`);
  });

  it('concurrent upserts of one new scheduler (replicas booting together) create one first run', async () => {
    const hosts = Array.from({ length: 4 }, (_, k) => createFileHost(root, 'q', { now: () => clock + k }));
    const jobs = await Promise.all(hosts.map((h) => upsertJobScheduler(h, 'boot', { every: 5000 }, { data: { v: 1 } })));
    const log = host.addedLog().map((l) => l.id);
    expect(log).toHaveLength(2); // the first run and the run ahead
    expect(new Set(log).size).toBe(2);
    // The first upsert gets the first run; the others find it stored and get the pending run.
    for (const job of jobs) expect(log).toContain(job.id);
    expect(readdirSync(join(host.queueDir, 'schedulers')).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('a pattern without tz follows the upserting process\'s zone, fixed for every replica', async () => {
    const saved = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      const job = await upsertJobScheduler(host, 'local', { pattern: '0 0 9 * * *' });
      expect(job.id).toBe(`repeat:local:${Date.UTC(2025, 0, 15, 14)}`);
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
    // A replica in another zone continues the same schedule.
    clock = Date.UTC(2025, 0, 15, 14);
    const r = await runSchedulerPass(host);
    expect(r.enqueued).toEqual([`repeat:local:${Date.UTC(2025, 0, 16, 14)}`]);
    expect((await getJobScheduler(host, 'local'))?.tz).toBeUndefined();
  });

  it('re-upserting an unchanged scheduler keeps its run count, so limit counts across app restarts', async () => {
    await upsertJobScheduler(host, 'lim', { every: 1000, limit: 2 });
    expect(host.jobIds()).toHaveLength(2);
    for (const jobId of host.jobIds()) host.setState(jobId, 'completed');
    clock += 5000;
    const again = await upsertJobScheduler(host, 'lim', { every: 1000, limit: 2 });
    expect(again).toBeUndefined(); // as BullMQ at run time: no run left to enqueue
    expect(host.addedLog()).toHaveLength(2);
    expect(await getJobScheduler(host, 'lim')).toMatchObject({ iterationCount: 2, done: true });
    // A changed definition starts counting again.
    const changed = await upsertJobScheduler(host, 'lim', { every: 1000, limit: 3 });
    expect(changed.id).toBe(`repeat:lim:${clock}`);
    expect(await getJobScheduler(host, 'lim')).toMatchObject({ limit: 3, done: false });
  });

  it('ids with unusual characters round-trip', async () => {
    const id = 'report:daily .v2%é';
    await upsertJobScheduler(host, id, { every: 1000 });
    expect((await getJobScheduler(host, id))?.key).toBe(id);
    expect(host.jobIds()[0]).toBe(`repeat:${id}:${T0}`);
    expect(await removeJobScheduler(host, id)).toBe(true);
  });
});

describe('getJobScheduler(s)', () => {
  it('reports the BullMQ JobSchedulerJson shape', async () => {
    const startDate = T0 + 5000;
    const endDate = T0 + 3_600_000;
    await upsertJobScheduler(host, 'ev', { every: 2000, limit: 10, startDate, endDate }, { name: 'n', data: { a: 1 }, opts: { priority: 3 } });
    expect(await getJobScheduler(host, 'ev')).toEqual({
      key: 'ev',
      name: 'n',
      next: startDate,
      iterationCount: 1,
      limit: 10,
      startDate,
      endDate,
      every: 2000,
      offset: startDate % 2000,
      template: { data: { a: 1 }, opts: { priority: 3 } },
      skippedCount: 0,
      done: false,
    });
    await upsertJobScheduler(host, 'cr', { pattern: '0 0 9 * * *', tz: 'Europe/Paris' });
    const cr = await getJobScheduler(host, 'cr');
    expect(cr).toEqual({ key: 'cr', name: 'cr', next: Date.UTC(2025, 0, 16, 8), iterationCount: 1, tz: 'Europe/Paris', pattern: '0 0 9 * * *', offset: 0, skippedCount: 0, done: false }); // BullMQ lists offset 0 for a pattern
    expect(await getJobScheduler(host, 'missing')).toBeUndefined();
  });

  it('lists by next run, descending by default, with Redis-style ranges', async () => {
    await upsertJobScheduler(host, 'a', { every: 10_000, startDate: T0 + 3000 });
    await upsertJobScheduler(host, 'b', { every: 10_000, startDate: T0 + 1000 });
    await upsertJobScheduler(host, 'c', { every: 10_000, startDate: T0 + 2000 });
    expect((await getJobSchedulers(host)).map((s) => s.key)).toEqual(['a', 'c', 'b']);
    expect((await getJobSchedulers(host, 0, -1, true)).map((s) => s.key)).toEqual(['b', 'c', 'a']);
    expect((await getJobSchedulers(host, 1, 1, true)).map((s) => s.key)).toEqual(['c']);
    expect((await getJobSchedulers(host, 0, 1)).map((s) => s.key)).toEqual(['a', 'c']);
    expect((await getJobSchedulers(host, -2, -1, true)).map((s) => s.key)).toEqual(['c', 'a']);
    expect(await getJobSchedulers(host, 5, 10)).toEqual([]);
    expect(await getJobSchedulersCount(host)).toBe(3);
  });
});

describe('removeJobScheduler', () => {
  it('deletes the definition and its delayed run; false when absent', async () => {
    await upsertJobScheduler(host, 'cron', { pattern: '*/10 * * * * *' });
    expect(host.jobIds()).toHaveLength(1);
    expect(await removeJobScheduler(host, 'cron')).toBe(true);
    expect(host.jobIds()).toEqual([]);
    expect(await getJobScheduler(host, 'cron')).toBeUndefined();
    expect(await getJobSchedulersCount(host)).toBe(0);
    expect(readdirSync(join(host.queueDir, 'schedulers'))).toEqual([]);
    expect(await removeJobScheduler(host, 'cron')).toBe(false);
    clock += 60_000;
    expect((await runSchedulerPass(host)).enqueued).toEqual([]);
  });

  it('leaves a run that already started', async () => {
    await upsertJobScheduler(host, 'cron', { pattern: '*/10 * * * * *' });
    const [id] = host.jobIds();
    host.setState(id as string, 'active');
    await removeJobScheduler(host, 'cron');
    expect(host.jobIds()).toEqual([id]);
  });
});

describe('long scheduler ids', () => {
  it('accepts ids of up to 179 bytes whose encoded name would pass the 255-byte file name limit', async () => {
    const q = new Queue('ids', { spool: root });
    try {
      const ids = ['a:'.repeat(70), 'é'.repeat(60), 'tenant:'.repeat(25) + 'x', `${'é'.repeat(59)}x`];
      for (const sid of ids) {
        const job = await q.upsertJobScheduler(sid, { every: 60_000 });
        expect(job.id).toMatch(/^repeat:.*:\d+$/);
        expect(job.repeatJobKey).toBe(sid);
        expect((await q.getJobScheduler(sid))?.key).toBe(sid);
      }
      expect(new Set(ids.map((sid) => schedulerDir(q, sid))).size).toBe(ids.length);
      expect((await q.getJobSchedulers()).map((s) => s.key).sort()).toEqual([...ids].sort());
      for (const sid of ids) expect(await q.removeJobScheduler(sid)).toBe(true);
      expect(await q.getJobSchedulersCount()).toBe(0);
    } finally {
      await q.close();
    }
  });
});
