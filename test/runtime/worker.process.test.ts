/**
 * `spoolkit worker` run as a user runs it: the built CLI in child processes on a real temp spool.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { fork } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from '../../src/queue.js';
import { parseRunLog } from '../fixtures/core/chaos-data.js';
import { assertBuilt, cliPath, isAlive, stopCli, startCli, tempDir, waitFor, type CliProcess } from '../cli/helpers.js';

const processors = fileURLToPath(new URL('../fixtures/runtime/app/processors.mjs', import.meta.url));
const FAST = ['--poll-interval-ms', '100', '--heartbeat-interval-ms', '500'];

let spool: ReturnType<typeof tempDir>;
const queues: Queue[] = [];
const procs: CliProcess[] = [];

beforeAll(() => assertBuilt());
afterEach(async () => {
  await Promise.all(procs.splice(0).map(stopCli));
  await Promise.all(queues.splice(0).map((q) => q.close()));
  spool?.cleanup();
});
afterAll(() => spool?.cleanup());

function setup(): string {
  spool = tempDir('spoolkit-worker-');
  return spool.path;
}
function queue(root: string, name = 'work'): Queue {
  const q = new Queue(name, { spool: root });
  queues.push(q);
  return q;
}
function worker(root: string, ...flags: string[]): CliProcess {
  return workerWithEnv({}, root, ...flags);
}
function workerWithEnv(env: NodeJS.ProcessEnv, root: string, ...flags: string[]): CliProcess {
  const p = startCli(['worker', '-p', processors, '--spool', root, ...FAST, ...flags], { timeoutMs: 50_000, env });
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

describe('spoolkit worker', () => {
  it('runs jobs by name, logs them as JSON lines and fails an unknown name at once', async () => {
    const root = setup();
    const q = queue(root);
    const ok = await q.add('echo', { hello: 'world' });
    const unknown = await q.add('ecoh', {}, { attempts: 3 });
    const p = worker(root);
    expect(await finished(q, ok.id!)).toBe('completed');
    expect(await finished(q, unknown.id!)).toBe('failed');
    const bad = await q.getJob(unknown.id!);
    expect(bad?.attemptsMade).toBe(1);
    expect(bad?.failedReason).toContain('No processor for job name "ecoh" in queue "work"; known job names: "echo", "sleep", "hang"');
    await waitFor(() => events(p, 'job:completed').length === 1, 'the completed log line');
    expect(events(p, 'job:claimed').map((l) => l.job).sort()).toEqual(['echo', 'ecoh']);
    // Payloads stay out of the logs unless asked for.
    expect(p.stderr()).not.toContain('world');
    p.child.kill('SIGTERM');
    expect((await p.done).code).toBe(0);
  });

  it('logs payloads only with --log-payloads', async () => {
    const root = setup();
    const q = queue(root);
    const job = await q.add('echo', { secret: 'visible-now' });
    const p = worker(root, '--log-payloads');
    await finished(q, job.id!);
    await waitFor(() => events(p, 'job:completed').length === 1, 'the completed log line');
    expect(events(p, 'job:claimed')[0]?.data).toEqual({ secret: 'visible-now' });
    p.child.kill('SIGTERM');
    expect((await p.done).code).toBe(0);
  });

  // SIGHUP (a terminal hang-up, docker kill -s HUP) stops it the same way, instead of killing it mid-job.
  it.each(['SIGTERM', 'SIGHUP'] as const)('on %s lets a running job finish, then exits 0', async (signal) => {
    const root = setup();
    const q = queue(root);
    const job = await q.add('sleep', { ms: 1500 });
    const p = worker(root, '--shutdown-timeout-ms', '10000');
    await waitFor(() => events(p, 'job:claimed').length === 1, 'the job to start');
    p.child.kill(signal);
    const r = await p.done;
    expect(events(p, 'worker:signal')[0]).toMatchObject({ signal, action: 'drain' });
    expect(r.code).toBe(0);
    expect(await q.getJobState(job.id!)).toBe('completed');
    const order = p.logs().map((l) => l.event).filter((e) => ['worker:draining', 'job:completed', 'worker:drained'].includes(String(e)));
    expect(order).toEqual(['worker:draining', 'job:completed', 'worker:drained']);
    expect(events(p, 'worker:drained')[0]?.handedBack).toBe(0);
  });

  it('hands back a job that outlives the shutdown timeout; another worker process runs it without counting an attempt', async () => {
    const root = setup();
    const q = queue(root);
    const job = await q.add('sleep', { ms: 2500 }, { attempts: 1 });
    // The timeout from the environment, as the generated compose file sets it.
    const first = startCli(['worker', '-p', processors, '--spool', root, ...FAST], { env: { SPOOLKIT_SHUTDOWN_TIMEOUT_MS: '300' } });
    procs.push(first);
    await waitFor(() => events(first, 'job:claimed').length === 1, 'the job to start');
    first.child.kill('SIGTERM');
    const r = await first.done;
    expect(r.code).toBe(0);
    expect(events(first, 'worker:drained')[0]?.handedBack).toBe(1);
    expect(await q.getJobState(job.id!)).toBe('waiting');

    const second = worker(root);
    expect(await finished(q, job.id!)).toBe('completed');
    const done = await q.getJob(job.id!);
    expect((done?.returnvalue as { pid: number }).pid).toBe(second.child.pid);
    // The handed-back run does not count: one attempt made, one start counted.
    expect(done?.attemptsMade).toBe(1);
    expect(done?.attemptsStarted).toBe(1);
    second.child.kill('SIGTERM');
    expect((await second.done).code).toBe(0);
  });

  it('a sandboxed job that ignores its abort at the shutdown timeout is killed within a second, not after its kill grace', async () => {
    const root = setup();
    const q = queue(root, 'stubborn');
    const job = await q.add('spin', {});
    const p = worker(root, '--queues', 'stubborn', '--shutdown-timeout-ms', '300');
    await waitFor(() => events(p, 'job:claimed').length === 1, 'the job to start');
    const signalledAt = Date.now();
    p.child.kill('SIGTERM');
    const r = await p.done;
    // The queue's killGraceMs is 20 s; a platform's stop grace (compose 5 s past the timeout,
    // docker stop 10 s) would SIGKILL the worker long before that.
    expect(Date.now() - signalledAt).toBeLessThan(8000);
    expect(r.code).toBe(0);
    expect(events(p, 'worker:drained')[0]?.handedBack).toBe(1);
    expect(await q.getJobState(job.id!)).toBe('waiting');
  });

  it('a second signal hands running jobs back at once and exits 1', async () => {
    const root = setup();
    const q = queue(root);
    const job = await q.add('sleep', { ms: 20_000 });
    const p = worker(root, '--shutdown-timeout-ms', '20000');
    await waitFor(() => events(p, 'job:claimed').length === 1, 'the job to start');
    p.child.kill('SIGTERM');
    await waitFor(() => events(p, 'worker:draining').length === 1, 'the drain to start');
    p.child.kill('SIGINT');
    const r = await p.done;
    expect(r.code).toBe(1);
    expect(await q.getJobState(job.id!)).toBe('waiting');
  });

  it('started by a parent that forwards signals, takes the same signal again within a second for its copy; one after that forces', async () => {
    for (const later of [false, true]) {
      const root = setup();
      const q = queue(root);
      const job = await q.add('sleep', { ms: later ? 20_000 : 1500 });
      // As the entrypoint's all role starts it.
      const p = workerWithEnv({ SPOOLKIT_PARENT_LINKED: '1' }, root, '--shutdown-timeout-ms', '20000');
      await waitFor(() => events(p, 'job:claimed').length === 1, 'the job to start');
      p.child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, later ? 1300 : 150));
      p.child.kill('SIGTERM');
      const r = await p.done;
      expect(r.code, later ? 'later' : 'copy').toBe(later ? 1 : 0);
      expect(await q.getJobState(job.id!)).toBe(later ? 'waiting' : 'completed');
    }
  });

  it('forked by an app that then lets go of the IPC channel, keeps running (only a linked parent\'s end drains it)', async () => {
    const root = setup();
    const child = fork(cliPath, ['worker', '-p', processors, '--spool', root, ...FAST], { silent: true, env: { ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'info' } });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await waitFor(() => stderr.includes('worker:started'), 'the worker to start');
      child.disconnect();
      await new Promise((r) => setTimeout(r, 1500));
      expect(stderr).not.toContain('worker:parent-gone');
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it('alone, forces on a second Ctrl-C however soon it comes', async () => {
    const root = setup();
    const q = queue(root);
    const job = await q.add('sleep', { ms: 20_000 });
    const p = worker(root, '--shutdown-timeout-ms', '20000');
    await waitFor(() => events(p, 'job:claimed').length === 1, 'the job to start');
    p.child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 150));
    p.child.kill('SIGINT');
    const r = await p.done;
    expect(r.code).toBe(1);
    expect(await q.getJobState(job.id!)).toBe('waiting');
  });

  it('recovers the job of a SIGKILLed worker process in another one', async () => {
    const root = setup();
    const q = queue(root);
    const job = await q.add('sleep', { ms: 1000 }, { attempts: 2 });
    const lease = ['--lock-duration-ms', '1000', '--stalled-interval-ms', '200'];
    const doomed = worker(root, ...lease);
    await waitFor(() => events(doomed, 'job:claimed').length === 1, 'the job to start');
    doomed.child.kill('SIGKILL');
    await doomed.done;
    expect(await q.getJobState(job.id!)).toBe('active');

    const rescuer = worker(root, ...lease);
    expect(await finished(q, job.id!)).toBe('completed');
    expect(((await q.getJob(job.id!))?.returnvalue as { pid: number }).pid).toBe(rescuer.child.pid);
    await waitFor(() => events(rescuer, 'lease:reclaimed').length === 1, 'the reclaim log line');
    expect(events(rescuer, 'lease:reclaimed')[0]?.jobId).toBe(job.id);
    rescuer.child.kill('SIGTERM');
    expect((await rescuer.done).code).toBe(0);
  });

  it('refuses bad configuration with exit 2 and a message naming the fix', async () => {
    const root = setup();
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [['worker', '--spool', root], { SPOOLKIT_CONCURRENCY: '4x', SPOOLKIT_PROCESSORS: processors }, /SPOOLKIT_CONCURRENCY must be a whole number >= 1; got "4x"/],
      [['worker', '--spool', root, '--processors', processors, '--concurrency', '0'], {}, /--concurrency must be a whole number >= 1; got 0/],
      [['worker', '--spool', root, '--processors', processors, '--queues', 'work,nope'], {}, /--queues names "nope", not in .*processors\.mjs/],
      [['worker', '--spool', root, '--processors', 'missing.mjs'], {}, /missing\.mjs \(from --processors\) does not exist/],
      [['worker', '--spool', root], { SPOOLKIT_PROCESSORS: '', LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of debug, info, warn, error/],
    ];
    for (const [args, env, message] of cases) {
      const p = startCli(args, { env: { LOG_LEVEL: 'info', ...env } });
      procs.push(p);
      const r = await p.done;
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
    }
  });

  it("exits 2 naming the queue when one queue's Worker options are refused, closing the workers already started (they went on taking jobs and no signal stopped the process)", async () => {
    const root = setup();
    const file = join(root, 'two-queues.mjs');
    writeFileSync(file, "export default { first: async () => 'done', second: { processor: async () => 1, worker: { lockDuration: 'x' } } };\n");
    const q = queue(root, 'first');
    const p = startCli(['worker', '--spool', root, '--processors', file, ...FAST], { env: { LOG_LEVEL: 'info' }, timeoutMs: 15_000 });
    procs.push(p);
    const r = await p.done;
    expect(r.signal).toBeNull();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Queue "second" of the processors module: Expected `lockDuration` to be a number >= 1, got `x`\./);
    // Nothing is left running to take it.
    const job = await q.add('late', {});
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await q.getJobState(job.id!)).toBe('waiting');
  });

  it('runs a file processor in a sandbox child whose progress, logs and data reach the real job', async () => {
    const root = setup();
    const q = queue(root, 'boxed');
    const job = await q.add('any', { n: 1 });
    const doomed = await q.add('any', { giveUp: true }, { attempts: 3 });
    const p = worker(root, '--queues', 'boxed');
    expect(await finished(q, job.id!)).toBe('completed');
    const done = await q.getJob(job.id!);
    const childPid = (done?.returnvalue as { pid: number }).pid;
    expect(childPid).not.toBe(p.child.pid);
    expect(done?.progress).toBe(100);
    expect(done?.data).toEqual({ n: 1, stepped: true });
    expect((await q.getJobLogs(job.id!)).logs).toEqual([`step one in ${childPid}`]);
    // UnrecoverableError keeps its meaning across the process boundary: no retries.
    expect(await finished(q, doomed.id!)).toBe('failed');
    const failed = await q.getJob(doomed.id!);
    expect(failed?.attemptsMade).toBe(1);
    expect(failed?.failedReason).toBe('gave up on purpose');
    p.child.kill('SIGTERM');
    expect((await p.done).code).toBe(0);
  });
});

/** Lines the nap.mjs processor appended: "start <id> <pid>", "abort <id>", "end <id>". */
const marksOf = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);
const marked = (file: string, what: string): number => marksOf(file).filter((l) => l.startsWith(`${what} `)).length;

describe('spoolkit worker with sandboxed processors under signals and kills', () => {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    it(`a ${signal} sent to the whole process group drains: the sandboxed jobs finish and the worker exits 0`, async () => {
      const root = setup();
      const marks = join(root, 'marks.txt');
      const q = queue(root, 'naps');
      const jobs = await q.addBulk([1, 2].map((i) => ({ name: 'nap', data: { ms: 1500, i, marks }, opts: { attempts: 1 } })));
      const p = worker(root, '--queues', 'naps', '--shutdown-timeout-ms', '20000');
      await waitFor(() => marked(marks, 'start') === 2, 'both jobs to start in their sandbox children');
      process.kill(-p.child.pid!, signal);
      expect((await p.done).code).toBe(0);
      for (const job of jobs) expect(await q.getJobState(job.id!)).toBe('completed');
      expect(marked(marks, 'end')).toBe(2);
    });
  }

  it("a SIGKILLed worker's job runs again only once its orphaned sandbox child, which outlives it until its code yields, is gone too", async () => {
    const root = setup();
    const runs = join(root, 'runs.log');
    writeFileSync(runs, '');
    const q = queue(root, 'busy');
    const job = await q.add('render', {}, { attempts: 3 });
    const env = { RUNS: runs, BUSY_MS: '2500' };
    const flags = ['--queues', 'busy', '--stalled-interval-ms', '200'];
    const first = workerWithEnv(env, root, ...flags);
    await waitFor(() => parseRunLog(readFileSync(runs, 'utf8')).length === 1, 'the first run to start');
    first.child.kill('SIGKILL');
    await first.done;
    // The second worker checks for stalled jobs every 200 ms; the orphan is busy for seconds more.
    const second = workerWithEnv(env, root, ...flags);
    expect(await finished(q, job.id!)).toBe('completed');
    const lines = parseRunLog(readFileSync(runs, 'utf8'));
    expect(lines.map((l) => l.type)).toEqual(['S', 'E', 'S', 'E']);
    const [s1, e1, s2] = lines;
    expect(e1!.pid).toBe(s1!.pid);
    expect(s2!.pid).not.toBe(s1!.pid);
    expect(s2!.at).toBeGreaterThanOrEqual(e1!.at);
    second.child.kill('SIGTERM');
    expect((await second.done).code).toBe(0);
  });

  it("a timed-out sandboxed job is failed, and retried, only once its child is dead, whatever the queue's killGraceMs", async () => {
    const root = setup();
    const marks = join(root, 'marks.txt');
    const q = queue(root, 'slow');
    // It ignores its abort: the sandbox kills it 3000 ms after the time limit, longer than --kill-grace-ms.
    // Three attempts: under load a child may still be loading at the limit, and that attempt then
    // fails without starting.
    const job = await q.add('nap', { ms: 20_000, ignoreAbort: true, marks }, { attempts: 3 });
    const p = worker(root, '--queues', 'slow', '--kill-grace-ms', '500');
    await waitFor(() => marked(marks, 'start') === 1, 'the first attempt to start');
    const firstPid = Number(marksOf(marks)[0]!.split(' ')[2]);
    await waitFor(() => marked(marks, 'start') === 2, 'the retry to start', 20_000);
    // Only one copy at a time: the first attempt's child was gone when the retry started.
    expect(isAlive(firstPid)).toBe(false);
    expect(p.logs().filter((l) => l.event === 'job:timeout-ignored')).toEqual([]);
  });
});
