import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue, QueueEvents, Worker } from '../../src/index.js';
import { sleep, tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';
import { exited, readStarts, startFixture } from '../fixtures/core/procs.js';
import { PID_NAMESPACE } from '../../src/spool/process-gone.js';

const WORKER = 'worker-proc.ts';

/**
 * Starts a worker process with a long lease and lets it claim one job and write a heartbeat
 * naming the claim. Returns the process, the job and the worker's heartbeat file.
 */
async function workerHoldingJob(spool: string, starts: string, q: Queue): Promise<{ child: ChildProcess; jobId: string; heartbeat: string }> {
  const child = await startFixture(WORKER, { SPOOL: spool, STARTS: starts, JOB_MS: '60000', LOCK_MS: '60000', HEARTBEAT_MS: '50' });
  const job = await q.add('long', {});
  await waitFor(() => readStarts(starts).length === 1, 10_000, 'first start');
  const dir = path.join(spool, 'workers');
  const name = await waitFor(
    () => fs.readdirSync(dir).find((f) => f.endsWith('.json') && fs.readFileSync(path.join(dir, f), 'utf8').includes('activeClaims":["')),
    5000,
    'heartbeat naming the claim',
  );
  return { child, jobId: job.id!, heartbeat: path.join(dir, name!) };
}

/** As `workerHoldingJob`, then SIGKILLs the worker. */
async function killWorkerHoldingJob(spool: string, starts: string, q: Queue): Promise<{ jobId: string; heartbeat: string }> {
  const { child, jobId, heartbeat } = await workerHoldingJob(spool, starts, q);
  child.kill('SIGKILL');
  await exited(child);
  return { jobId, heartbeat };
}

describe('several worker processes on one spool', () => {
  it('never run a job twice while its lease is live, and complete every job', async () => {
    const spool = tmpSpool();
    const starts = path.join(spool, 'starts.log');
    const q = track(new Queue('q', { spool }));
    const n = 300;
    const env = { SPOOL: spool, STARTS: starts, CONCURRENCY: '4', JOB_MS: '2' };
    // Every worker is idle and watching before the jobs arrive, so all three race for them (a
    // worker that started early could otherwise run the whole batch before the others were up).
    const procs = await Promise.all([startFixture(WORKER, env), startFixture(WORKER, env), startFixture(WORKER, env)]);
    await q.addBulk(Array.from({ length: n }, (_, i) => ({ name: 'j', data: i })));
    await waitFor(async () => (await q.getCompletedCount()) === n || (await q.getJobCounts('completed')).completed === n, 60_000, 'all jobs completed');
    const recorded = readStarts(starts);
    const ids = recorded.map((r) => r.id);
    expect(new Set(ids).size).toBe(n);
    expect(ids.length).toBe(n);
    expect(new Set(recorded.map((r) => r.pid)).size).toBeGreaterThan(1);
    for (const p of procs) p.kill('SIGTERM');
    for (const p of procs) expect(await exited(p)).toBe(0);
  });

  it('lose nothing when a worker is SIGKILLed mid-job: the job runs again after its lease expires', async () => {
    const spool = tmpSpool();
    const starts = path.join(spool, 'starts.log');
    const q = track(new Queue('q', { spool }));
    const victim = await startFixture(WORKER, { SPOOL: spool, STARTS: starts, JOB_MS: '60000', LOCK_MS: '800' });
    const job = await q.add('long', { n: 1 });
    await waitFor(() => readStarts(starts).length === 1, 10_000, 'first start');
    victim.kill('SIGKILL');
    await exited(victim);
    expect(await q.getJobState(job.id!)).toBe('active');
    const rescuer = await startFixture(WORKER, { SPOOL: spool, STARTS: starts, JOB_MS: '10', LOCK_MS: '800', STALLED_MS: '200' });
    await waitFor(async () => (await q.getJobState(job.id!)) === 'completed', 20_000, 'rerun');
    const recorded = readStarts(starts);
    expect(recorded.map((r) => r.id)).toEqual([job.id, job.id]);
    expect(recorded[1]!.pid).toBe(rescuer.pid);
    const done = (await q.getJob(job.id!))!;
    expect(done.stalledCounter).toBe(1);
    expect(done.returnvalue).toEqual({ by: rescuer.pid, data: { n: 1 } });
    rescuer.kill('SIGTERM');
    expect(await exited(rescuer)).toBe(0);
  });

  it('recover at once the jobs of a dead worker on the same host, without waiting for the lease', async () => {
    const spool = tmpSpool();
    const starts = path.join(spool, 'starts.log');
    const q = track(new Queue('q', { spool }));
    const { jobId } = await killWorkerHoldingJob(spool, starts, q);
    const killedAt = Date.now();
    const rescuer = await startFixture(WORKER, { SPOOL: spool, STARTS: starts, LOCK_MS: '60000', STALLED_MS: '200' });
    await waitFor(async () => (await q.getJobState(jobId)) === 'completed', 20_000, 'rerun');
    expect(Date.now() - killedAt).toBeLessThan(30_000);
    expect(readStarts(starts)).toHaveLength(2);
    rescuer.kill('SIGTERM');
    expect(await exited(rescuer)).toBe(0);
  });

  it('recover at once the jobs a dead worker claimed after its last heartbeat (named by its claim owner)', async () => {
    const spool = tmpSpool();
    const starts = path.join(spool, 'starts.log');
    const q = track(new Queue('q', { spool }));
    // A heartbeat a minute apart: the one written at start names no claim, and no later one comes.
    const child = await startFixture(WORKER, { SPOOL: spool, STARTS: starts, CONCURRENCY: '3', JOB_MS: '60000', LOCK_MS: '60000', HEARTBEAT_MS: '60000' });
    const dir = path.join(spool, 'workers');
    await waitFor(() => fs.readdirSync(dir).some((f) => f.endsWith('.json')), 5000, 'the first heartbeat');
    const jobs = await q.addBulk([1, 2, 3].map((i) => ({ name: 'long', data: i })));
    await waitFor(() => readStarts(starts).length === 3, 10_000, 'three starts');
    const [name] = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
    const hb = JSON.parse(fs.readFileSync(path.join(dir, name!), 'utf8')) as { activeClaims: string[]; claimOwner: string };
    expect(hb.activeClaims).toEqual([]);
    const active = fs.readdirSync(path.join(spool, 'queues', 'q', 'active'));
    expect(active.every((f) => f.split('.').at(-2)!.startsWith(`${hb.claimOwner}_`))).toBe(true);
    child.kill('SIGKILL');
    await exited(child);
    const killedAt = Date.now();
    const rescuer = await startFixture(WORKER, { SPOOL: spool, STARTS: starts, LOCK_MS: '60000', STALLED_MS: '200' });
    await waitFor(async () => (await Promise.all(jobs.map((j) => q.getJobState(j.id!)))).every((s) => s === 'completed'), 20_000, 'reruns');
    // Not the 60 s lease.
    expect(Date.now() - killedAt).toBeLessThan(30_000);
    expect(readStarts(starts)).toHaveLength(6);
    rescuer.kill('SIGTERM');
    expect(await exited(rescuer)).toBe(0);
  });

  it('recover at once the jobs of a dead worker whose pid this process now has', async () => {
    const spool = tmpSpool();
    const starts = path.join(spool, 'starts.log');
    const q = track(new Queue('q', { spool }));
    const { jobId, heartbeat } = await killWorkerHoldingJob(spool, starts, q);
    // The dead worker's pid is this process's now (pids wrap around).
    const hb = JSON.parse(fs.readFileSync(heartbeat, 'utf8')) as { pid: number; processTag?: string };
    expect(hb.processTag).toMatch(/^t[0-9a-z]+$/); // the process's start time
    fs.writeFileSync(heartbeat, JSON.stringify({ ...hb, pid: process.pid }));
    const killedAt = Date.now();
    const reruns: string[] = [];
    const rescuer = track(
      new Worker('q', async (j) => void reruns.push(j.id!), { spool, lockDuration: 60_000, stalledInterval: 200, pollIntervalMs: 100 }),
    );
    rescuer.on('error', () => {});
    await waitFor(async () => (await q.getJobState(jobId)) === 'completed', 20_000, 'rerun');
    expect(Date.now() - killedAt).toBeLessThan(30_000);
    expect(reruns).toEqual([jobId]);
    expect(fs.existsSync(heartbeat)).toBe(false);
  });

  it('remove the heartbeats of a killed Worker that held no job and of a killed scheduler loop', async () => {
    const spool = tmpSpool();
    const child = await startFixture(WORKER, { SPOOL: spool, HEARTBEAT_MS: '50' });
    const dir = path.join(spool, 'workers');
    const name = await waitFor(() => fs.readdirSync(dir).find((f) => f.endsWith('.json')), 5000, 'the first heartbeat');
    child.kill('SIGKILL');
    await exited(child);
    const hb = JSON.parse(fs.readFileSync(path.join(dir, name!), 'utf8')) as Record<string, unknown>;
    expect(hb.activeClaims).toEqual([]);
    // A scheduler loop of the same dead process (as the scheduler role writes it).
    const loop = path.join(dir, 'dead-loop.json');
    fs.writeFileSync(loop, JSON.stringify({ ...hb, workerId: 'dead-loop', kind: 'scheduler', queues: ['other'], concurrency: 0, activeClaims: undefined, claimOwner: undefined }));
    const survivor = track(new Worker('q', async () => {}, { spool, stalledInterval: 100 }));
    survivor.on('error', () => {});
    await waitFor(() => !fs.existsSync(path.join(dir, name!)) && !fs.existsSync(loop), 10_000, 'the dead heartbeats removed');
    await survivor.close();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('remove a heartbeat of another host once it is a day old, and keep a younger one', async () => {
    const spool = tmpSpool();
    const dir = path.join(spool, 'workers');
    fs.mkdirSync(dir, { recursive: true });
    const now = Date.now();
    const beat = (workerId: string, ageMs: number): string => {
      const file = path.join(dir, `${workerId}.json`);
      fs.writeFileSync(file, JSON.stringify({ workerId, hostname: 'replaced-container', pid: 7, processTag: 't1', pidNamespace: PID_NAMESPACE, queues: ['q'], startedAt: now - ageMs, heartbeatAt: now - ageMs, concurrency: 1, running: 0, processed: 0, failed: 0, meta: {}, activeClaims: [], claimOwner: `o${workerId}` }));
      return file;
    };
    const old = beat('crashed', 25 * 3600_000);
    const young = beat('hanging', 3600_000);
    const survivor = track(new Worker('q', async () => {}, { spool, stalledInterval: 100 }));
    survivor.on('error', () => {});
    await waitFor(() => !fs.existsSync(old), 10_000, 'the day-old heartbeat removed');
    expect(fs.existsSync(young)).toBe(true);
  });

  it('leave alone a job held by a worker in another pid namespace under the same hostname', async () => {
    const spool = tmpSpool();
    const starts = path.join(spool, 'starts.log');
    const q = track(new Queue('q', { spool }));
    const { child: holder, jobId, heartbeat: file } = await workerHoldingJob(spool, starts, q);
    // Paused (alive, writing nothing), its heartbeat made to say what a worker in another
    // container with the same hostname would: a pid namespace not ours, a pid that means nothing here.
    holder.kill('SIGSTOP');
    const hb = JSON.parse(fs.readFileSync(file, 'utf8')) as { pidNamespace?: string };
    expect(hb.pidNamespace).toBe(PID_NAMESPACE);
    fs.writeFileSync(file, JSON.stringify({ ...hb, pid: 2 ** 22 + 7, pidNamespace: 'pid:[1]' }));
    const other: string[] = [];
    const w = track(new Worker('q', async (j) => void other.push(j.id!), { spool, lockDuration: 60_000, stalledInterval: 100, pollIntervalMs: 50 }));
    await sleep(1000); // about ten stalled checks
    expect(other).toEqual([]);
    expect(await q.getJobState(jobId)).toBe('active');
    expect(fs.existsSync(file)).toBe(true);
    await w.close();
    holder.kill('SIGCONT');
    holder.kill('SIGKILL');
    await exited(holder);
  });

  it('leave alone a job held by another Worker of this same process', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    let starts = 0;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const holder = track(
      new Worker('q', async () => { starts++; await held; }, { spool, lockDuration: 60_000, heartbeatIntervalMs: 50 }),
    );
    const job = await q.add('long', {});
    await waitFor(() => starts === 1, 5000, 'start');
    await sleep(200); // a heartbeat naming the claim
    const sibling = track(new Worker('q', async () => void starts++, { spool, lockDuration: 60_000, stalledInterval: 100, pollIntervalMs: 50 }));
    await sleep(1000); // about ten stalled checks of the sibling
    expect(starts).toBe(1);
    expect(await q.getJobState(job.id!)).toBe('active');
    release();
    await waitFor(async () => (await q.getJobState(job.id!)) === 'completed', 5000, 'completed');
    expect(starts).toBe(1);
    await holder.close();
    await sibling.close();
  });

  // A job file belongs to whoever added it (the web user); a worker running as another user of
  // the same group may write it but not set its times. Needs root, to start the worker as that user.
  it.skipIf(process.getuid?.() !== 0)('renew the lease of a job file that another user owns, with group write only', async () => {
    const spool = tmpSpool();
    fs.chmodSync(spool, 0o775);
    const starts = path.join(spool, 'starts.log');
    fs.writeFileSync(starts, '', { mode: 0o666 });
    fs.chmodSync(starts, 0o666);
    const q = track(new Queue('q', { spool }));
    const job = await q.add('long', {});
    const file = fs.readdirSync(path.join(spool, 'queues', 'q', 'waiting'), { recursive: true, withFileTypes: true }).find((e) => e.isFile());
    expect(fs.statSync(path.join(file!.parentPath, file!.name)).uid).toBe(0);
    // Lease 1 s, renewed every 0.5 s, job 2.5 s, stalled checks every 0.2 s.
    const worker = await startFixture(WORKER, { SPOOL: spool, STARTS: starts, JOB_MS: '2500', LOCK_MS: '1000', STALLED_MS: '200' }, 15_000, { uid: 4102, gid: 0 });
    await waitFor(async () => (await q.getJobState(job.id!)) === 'completed', 20_000, 'completed');
    expect(readStarts(starts)).toHaveLength(1);
    const done = (await q.getJob(job.id!))!;
    expect(done.stalledCounter).toBe(0);
    expect(done.returnvalue).toEqual({ by: worker.pid, data: {} });
    worker.kill('SIGTERM');
    expect(await exited(worker)).toBe(0);
  });

  it('close() on SIGTERM finishes in-flight jobs and leaves unstarted ones waiting', async () => {
    const spool = tmpSpool();
    const starts = path.join(spool, 'starts.log');
    const q = track(new Queue('q', { spool }));
    await q.addBulk(Array.from({ length: 10 }, (_, i) => ({ name: 'j', data: i })));
    const w = await startFixture(WORKER, { SPOOL: spool, STARTS: starts, JOB_MS: '400', CONCURRENCY: '2' });
    await waitFor(() => readStarts(starts).length === 2, 10_000, 'two starts');
    w.kill('SIGTERM');
    expect(await exited(w)).toBe(0);
    const started = readStarts(starts).map((r) => r.id);
    const counts = await q.getJobCounts();
    expect(counts.active).toBe(0);
    expect(counts.completed).toBe(started.length);
    expect(counts.waiting).toBe(10 - started.length);
    for (const id of started) expect(await q.getJobState(id)).toBe('completed');
  });

  it('never start a delayed job before it is due', async () => {
    const spool = tmpSpool();
    const starts = path.join(spool, 'starts.log');
    const q = track(new Queue('q', { spool }));
    const w = await startFixture(WORKER, { SPOOL: spool, STARTS: starts, CONCURRENCY: '8' });
    const due = new Map<string, number>();
    for (let i = 0; i < 20; i++) {
      const delay = 50 + ((i * 37) % 400);
      const job = await q.add('d', i, { delay });
      due.set(job.id!, job.timestamp + delay);
    }
    await waitFor(() => readStarts(starts).length === 20, 20_000, 'all delayed jobs');
    for (const r of readStarts(starts)) expect(r.at).toBeGreaterThanOrEqual(due.get(r.id)!);
    w.kill('SIGTERM');
    await exited(w);
  });

  it('quarantine a corrupt job file and keep going', async () => {
    const spool = tmpSpool();
    const starts = path.join(spool, 'starts.log');
    const q = track(new Queue('q', { spool }));
    const a = await q.add('j', 1);
    const leafDir = path.dirname(path.join(spool, 'queues', 'q', findWaiting(spool)));
    fs.writeFileSync(path.join(leafDir, `${fs.readdirSync(leafDir)[0]!.slice(0, 13)}-00000000-zzzz.rotten.json`), '\u0000\u0001garbage');
    const b = await q.add('j', 2);
    const w = await startFixture(WORKER, { SPOOL: spool, STARTS: starts });
    await waitFor(async () => (await q.getCompletedCount()) === 2, 10_000, 'good jobs');
    expect(readStarts(starts).map((r) => r.id).sort()).toEqual([a.id, b.id].sort());
    const rotten = (await q.getJob('rotten'))!;
    expect(await rotten.getState()).toBe('failed');
    expect(rotten.failedReason).toMatch(/corrupt job file/);
    w.kill('SIGTERM');
    await exited(w);
  });

  it('deliver a worker process\'s outcome to QueueEvents and waitUntilFinished in another process', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const events = track(new QueueEvents('q', { spool }));
    await events.waitUntilReady();
    const completed: unknown[] = [];
    events.on('completed', (a: { returnvalue: unknown }) => completed.push(a.returnvalue));
    const w = await startFixture(WORKER, { SPOOL: spool });
    const job = await q.add('x', { hello: 'world' });
    const result = await job.waitUntilFinished(events, 10_000);
    expect(result).toEqual({ by: w.pid, data: { hello: 'world' } });
    await waitFor(() => completed.length === 1, 5000);
    w.kill('SIGTERM');
    await exited(w);
  });

  it('share retention: exactly N completed jobs stay, every other job and id name is gone, their files are kept as spares', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const n = 300;
    await q.addBulk(Array.from({ length: n }, (_, i) => ({ name: 'j', data: i, opts: { removeOnComplete: 5 } })));
    const env = { SPOOL: spool, CONCURRENCY: '4' };
    const procs = await Promise.all([startFixture(WORKER, env), startFixture(WORKER, env)]);
    let errors = '';
    for (const p of procs) p.stderr!.on('data', (d: Buffer) => (errors += d.toString()));
    await waitFor(
      async () => {
        const c = await q.getJobCounts('waiting', 'active', 'completed');
        return c.waiting === 0 && c.active === 0 && c.completed === 5;
      },
      30_000,
      'retention down to 5 completed jobs',
    );
    for (const p of procs) p.kill('SIGTERM');
    for (const p of procs) expect(await exited(p)).toBe(0);
    expect(errors).toBe('');
    const dir = path.join(spool, 'queues', 'q');
    const idNames = fs.readdirSync(path.join(dir, 'ids')).flatMap((shard) => fs.readdirSync(path.join(dir, 'ids', shard)));
    expect(idNames.sort()).toEqual(fs.readdirSync(path.join(dir, 'completed')).map((f) => f.replace(/\.json$/, '')).sort());
    const spares = fs.readdirSync(path.join(dir, 'free')).length + (fs.existsSync(path.join(dir, 'trash')) ? fs.readdirSync(path.join(dir, 'trash')).length : 0);
    expect(spares).toBe(n - 5);
  });

  it('wake an idle worker in another process while a producer is still in a loop of awaited adds', async () => {
    // A loop of awaited `add`s never gives the producer's event loop a turn; the event log must
    // still be written as it goes, or workers elsewhere sleep until the loop ends or the poll.
    const spool = tmpSpool();
    const starts = path.join(spool, 'starts.log');
    const q = track(new Queue('q', { spool }));
    await q.add('warm-up', {}); // makes the queue's directories
    const worker = await startFixture(WORKER, { SPOOL: spool, STARTS: starts, POLL_MS: '120000' });
    await waitFor(() => readStarts(starts).length === 1, 10_000, 'warm-up job');
    // The producer works about 1 ms between adds, without yielding, so the worker can keep up:
    // woken by each flush of the log, it starts jobs throughout the loop; woken only by its
    // once-a-second idle check, it would start them in bursts with long gaps between.
    const loopMs = 2000;
    const t0 = Date.now();
    let added = 0;
    while (Date.now() - t0 < loopMs && added < 20_000) {
      await q.add('j', { added });
      added++;
      const until = performance.now() + 1;
      while (performance.now() < until) {
        // synchronous work of the producer
      }
    }
    const loopEnd = Date.now();
    await waitFor(() => readStarts(starts).length === added + 1, 20_000, 'every job of the loop started');
    const during = readStarts(starts)
      .slice(1)
      .map((r) => r.at)
      .filter((at) => at <= loopEnd);
    expect(during.length).toBeGreaterThan(0);
    const gaps = [during[0]! - t0, ...during.slice(1).map((at, i) => at - during[i]!), loopEnd - during[during.length - 1]!];
    expect(Math.max(...gaps)).toBeLessThan(250);
    worker.kill('SIGTERM');
    expect(await exited(worker, 30_000)).toBe(0);
  });
});

function findWaiting(spool: string): string {
  const base = path.join(spool, 'queues', 'q', 'waiting');
  const top = fs.readdirSync(base)[0]!;
  const leaf = fs.readdirSync(path.join(base, top))[0]!;
  const file = fs.readdirSync(path.join(base, top, leaf))[0]!;
  return path.relative(path.join(spool, 'queues', 'q'), path.join(base, top, leaf, file));
}
