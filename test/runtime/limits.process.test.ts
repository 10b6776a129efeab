/**
 * Time limits, recycling and --watch, through the built CLI on a real temp spool.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from '../../src/queue.js';
import { assertBuilt, isAlive, stopCli, startCli, tempDir, waitFor, type CliProcess } from '../cli/helpers.js';

const appDir = fileURLToPath(new URL('../fixtures/runtime/app/', import.meta.url));
const processors = join(appDir, 'processors.mjs');
const FAST = ['--poll-interval-ms', '100', '--heartbeat-interval-ms', '500'];

const cleanups: (() => void)[] = [];
const queues: Queue[] = [];
const procs: CliProcess[] = [];
beforeAll(() => assertBuilt());
afterEach(async () => {
  await Promise.all(procs.splice(0).map(stopCli));
  await Promise.all(queues.splice(0).map((q) => q.close()));
  for (const c of cleanups.splice(0)) c();
});

function spoolDir(): string {
  const d = tempDir('spoolkit-limits-');
  cleanups.push(d.cleanup);
  return d.path;
}
function queue(root: string, name: string): Queue {
  const q = new Queue(name, { spool: root });
  queues.push(q);
  return q;
}
function worker(root: string, file: string, ...flags: string[]): CliProcess {
  const p = startCli(['worker', '-p', file, '--spool', root, ...FAST, ...flags], { timeoutMs: 50_000 });
  procs.push(p);
  return p;
}
const events = (p: CliProcess, event: string) => p.logs().filter((l) => l.event === event);
async function finished(q: Queue, id: string, timeoutMs = 20_000): Promise<string> {
  let state = '';
  await waitFor(async () => {
    state = await q.getJobState(id);
    return state === 'completed' || state === 'failed';
  }, `job ${id} to finish`, timeoutMs);
  return state;
}

describe('per-job time limits', () => {
  it("aborts a job past its queue's timeoutMs and retries it per its attempts", async () => {
    const root = spoolDir();
    const q = queue(root, 'limited');
    const job = await q.add('sleep', { ms: 5000 }, { attempts: 2 });
    const p = worker(root, processors, '--queues', 'limited');
    expect(await finished(q, job.id!)).toBe('failed');
    const failed = await q.getJob(job.id!);
    expect(failed?.attemptsMade).toBe(2);
    expect(failed?.failedReason).toMatch(/ran longer than its time limit of 300 ms/);
    await waitFor(() => events(p, 'job:failed').length === 2, 'both failure log lines');
    expect(events(p, 'job:failed').map((l) => l.willRetry)).toEqual([true, false]);
  });

  it('kills a sandboxed processor that ignores the abort, and the worker keeps serving', async () => {
    const root = spoolDir();
    const q = queue(root, 'hangs');
    const hung = await q.add('hang', {});
    const p = worker(root, processors, '--queues', 'hangs');
    expect(await finished(q, hung.id!)).toBe('failed');
    expect((await q.getJob(hung.id!))?.failedReason).toMatch(/did not stop within 300 ms after its job was aborted .*time limit of 1500 ms.*killed/);
    const { logs } = await q.getJobLogs(hung.id!);
    const pid = Number(/hanging in (\d+)/.exec(logs.join('\n'))?.[1]);
    expect(pid).toBeGreaterThan(0);
    expect(pid).not.toBe(p.child.pid);
    await waitFor(() => !isAlive(pid), 'the hung sandbox child to be gone', 5000);
    const next = await q.add('sleep', { ms: 10 });
    expect(await finished(q, next.id!)).toBe('completed');
    p.child.kill('SIGTERM');
    expect((await p.done).code).toBe(0);
  });

  it('applies --job-timeout-ms to queues that set no limit', async () => {
    const root = spoolDir();
    const q = queue(root, 'work');
    const job = await q.add('sleep', { ms: 5000 });
    worker(root, processors, '--queues', 'work', '--job-timeout-ms', '200');
    expect(await finished(q, job.id!)).toBe('failed');
    expect((await q.getJob(job.id!))?.failedReason).toMatch(/time limit of 200 ms/);
  });
});

describe('recycling', () => {
  it('replaces the worker process after --max-jobs without dropping a job', async () => {
    // A worker stops claiming once it has finished --max-jobs jobs; one it claimed in the same
    // moment still runs in it, so each process runs at most max-jobs + concurrency - 1 jobs.
    const root = spoolDir();
    const q = queue(root, 'work');
    const jobs = [];
    for (let i = 0; i < 7; i++) jobs.push(await q.add('sleep', { ms: 50, i }));
    const p = worker(root, processors, '--queues', 'work', '--max-jobs', '3');
    for (const j of jobs) expect(await finished(q, j.id!)).toBe('completed');
    const perPid = new Map<number, number>();
    for (const j of jobs) {
      const pid = ((await q.getJob(j.id!))?.returnvalue as { pid: number }).pid;
      perPid.set(pid, (perPid.get(pid) ?? 0) + 1);
    }
    expect(perPid.size).toBeGreaterThanOrEqual(2);
    expect(Math.max(...perPid.values())).toBeLessThanOrEqual(3 + 2 - 1); // the work queue runs 2 at once
    expect(perPid.has(p.child.pid!)).toBe(false);
    // The last process reaches max-jobs with the last job; its recycle message travels over IPC
    // after that job is already visible as completed, so wait for the supervisor's log line.
    await waitFor(() => events(p, 'worker:recycling').length >= 2, 'two recycle log lines', 10_000);
    p.child.kill('SIGTERM');
    expect((await p.done).code).toBe(0);
  });

  it('one Ctrl-C, to the whole process group, drains a supervised worker and exits 0; a second one forces', async () => {
    // The worker gets the SIGINT straight and again from its supervisor; that is still one stop.
    for (const second of [false, true]) {
      const root = spoolDir();
      const q = queue(root, 'work');
      const job = await q.add('sleep', { ms: second ? 20_000 : 1500 });
      const p = worker(root, processors, '--queues', 'work', '--max-jobs', '100', '--shutdown-timeout-ms', '20000');
      await waitFor(() => events(p, 'job:claimed').length === 1, 'the job to start');
      process.kill(-p.child.pid!, 'SIGINT');
      if (second) {
        await waitFor(() => events(p, 'worker:draining').length === 1, 'the drain to start');
        await new Promise((r) => setTimeout(r, 1500));
        process.kill(-p.child.pid!, 'SIGINT');
      }
      const r = await p.done;
      expect(r.code).toBe(second ? 1 : 0);
      expect(await q.getJobState(job.id!)).toBe(second ? 'waiting' : 'completed');
    }
  });

  it('replaces the worker process above --max-memory-mb', async () => {
    const root = spoolDir();
    const q = queue(root, 'work');
    // Any Node process is above 1 MB, so the first check asks for a replacement.
    const first = await q.add('echo', { n: 1 });
    const p = worker(root, processors, '--queues', 'work', '--max-memory-mb', '1');
    expect(await finished(q, first.id!)).toBe('completed');
    await waitFor(() => events(p, 'worker:recycling').some((l) => l.reason === 'max-memory'), 'a memory recycle');
    const second = await q.add('echo', { n: 2 });
    expect(await finished(q, second.id!)).toBe('completed');
    p.child.kill('SIGTERM');
    expect((await p.done).code).toBe(0);
  });

  it('does not reload for the spool\'s own writes when the spool lies in the watched directory under any name', async () => {
    const dir = spoolDir();
    const root = join(dir, 'data', 'spool');
    const file = join(dir, 'processors.mjs');
    writeFileSync(file, "export default { w: async () => 'v1' };\n");
    const q = queue(root, 'w');
    const p = worker(root, file, '--watch', '--heartbeat-interval-ms', '100');
    for (let i = 0; i < 5; i++) {
      const job = await q.add('any', { i });
      expect(await finished(q, job.id!)).toBe('completed');
    }
    // Heartbeats every 100 ms and five finished jobs were written under the watched directory.
    await new Promise((r) => setTimeout(r, 1500));
    expect(events(p, 'worker:reloading')).toEqual([]);
    expect(events(p, 'worker:process-started')).toHaveLength(1);
    p.child.kill('SIGTERM');
    expect((await p.done).code).toBe(0);
  });
});

describe('--watch', () => {
  it('drains and reloads the processors when their file changes', async () => {
    const root = spoolDir();
    const dir = spoolDir();
    const file = join(dir, 'processors.mjs');
    writeFileSync(file, "export default { w: async () => 'v1' };\n");
    const q = queue(root, 'w');
    const p = worker(root, file, '--watch');
    const a = await q.add('any', {});
    expect(await finished(q, a.id!)).toBe('completed');
    expect((await q.getJob(a.id!))?.returnvalue).toBe('v1');

    writeFileSync(file, "export default { w: async () => 'v2' };\n");
    await waitFor(() => events(p, 'worker:process-started').length === 2, 'the reloaded worker');
    const b = await q.add('any', {});
    expect(await finished(q, b.id!)).toBe('completed');
    expect((await q.getJob(b.id!))?.returnvalue).toBe('v2');
    const order = p.logs().map((l) => String(l.event)).filter((e) => ['worker:reloading', 'worker:drained', 'worker:process-started'].includes(e));
    expect(order).toEqual(['worker:process-started', 'worker:reloading', 'worker:drained', 'worker:process-started']);
    p.child.kill('SIGTERM');
    expect((await p.done).code).toBe(0);
  });
});
