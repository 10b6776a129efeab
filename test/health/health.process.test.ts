/**
 * `spoolkit health` against real spools, run as a container healthcheck runs it: the built CLI
 * (and the standalone health bin) in a child process, one JSON line on stdout, exit 0 or 1.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from '../../src/queue.js';
import { assertBuilt, stopCli, healthBinPath, runCli, startCli, tempDir, waitFor, type CliProcess, type CliResult } from '../cli/helpers.js';

const processors = fileURLToPath(new URL('../fixtures/runtime/app/processors.mjs', import.meta.url));
const isRoot = process.getuid?.() === 0;

const cleanups: (() => void)[] = [];
const procs: CliProcess[] = [];
beforeAll(() => assertBuilt());
afterEach(async () => {
  await Promise.all(procs.splice(0).map(stopCli));
  for (const c of cleanups.splice(0).reverse()) c();
});

function spoolDir(): string {
  const d = tempDir('spoolkit-health-');
  cleanups.push(d.cleanup);
  return d.path;
}
async function addJobs(root: string, n: number): Promise<void> {
  const q = new Queue('work', { spool: root });
  for (let i = 0; i < n; i++) await q.add('echo', { i });
  await q.close();
}
function health(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runCli([process.execPath, healthBinPath, ...args], { raw: true, env });
}
function report(r: CliResult): Record<string, unknown> {
  const lines = r.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0] as string) as Record<string, unknown>;
}
function startWorker(root: string): CliProcess {
  const p = startCli(['worker', '-p', processors, '--spool', root, '--queues', 'work', '--heartbeat-interval-ms', '200', '--poll-interval-ms', '100']);
  procs.push(p);
  return p;
}

describe('spoolkit health', () => {
  it('is ok (exit 0) for a worker whose heartbeat is fresh, through the CLI and the standalone bin', async () => {
    const root = spoolDir();
    const w = startWorker(root);
    await waitFor(() => w.logs().some((l) => l.event === 'worker:started'), 'the worker to start');
    await new Promise((r) => setTimeout(r, 300));
    for (const r of [await runCli(['health', '--spool', root, '--role', 'worker']), await health(['--spool', root, '--role', 'worker'])]) {
      expect(r.code).toBe(0);
      const rep = report(r);
      expect(rep).toMatchObject({ status: 'ok', role: 'worker', workers: { live: 1, stale: 0 } });
      expect(rep.heartbeatAgeMs).toBeLessThan(5000);
      expect(r.stderr).toBe('');
    }
  });

  it('reads the role from this host heartbeat when none is given', async () => {
    const root = spoolDir();
    const w = startWorker(root);
    await waitFor(() => w.logs().some((l) => l.event === 'worker:started'), 'the worker to start');
    const r = await health(['--spool', root], { SPOOLKIT_ROLE: '' });
    expect(report(r).role).toBe('worker');
  });

  it('is backlogged with exit 0 over --max-waiting, and unhealthy with exit 1 under --strict', async () => {
    const root = spoolDir();
    await addJobs(root, 5);
    const plain = await health(['--spool', root, '--role', 'web', '--max-waiting', '2']);
    expect(plain.code).toBe(0);
    expect(report(plain)).toMatchObject({ status: 'backlogged', totals: { waiting: 5 } });
    expect((report(plain).backlog as string[])[0]).toBe('5 jobs waiting (more than 2)');
    const strict = await health(['--spool', root, '--role', 'web', '--max-waiting', '2', '--strict']);
    expect(strict.code).toBe(1);
    expect(report(strict).status).toBe('unhealthy');
    const age = await health(['--spool', root, '--role', 'web', '--max-age-ms', '0', '--strict']);
    expect(age.code).toBe(1);
    expect((report(age).reasons as string[]).join(' ')).toMatch(/the oldest waiting job has waited \d+ ms \(more than 0 ms\)/);
  });

  it('is unhealthy (exit 1) when this worker container heartbeat is stale', async () => {
    const root = spoolDir();
    const w = startWorker(root);
    await waitFor(() => w.logs().some((l) => l.event === 'worker:started'), 'the worker to start');
    // 'worker:started' is logged as the Workers are created; their first heartbeat follows.
    const workersDir = join(root, 'workers');
    await waitFor(() => existsSync(workersDir) && readdirSync(workersDir).some((f) => f.endsWith('.json')), 'the first heartbeat file');
    w.child.kill('SIGKILL');
    await w.done;
    await new Promise((r) => setTimeout(r, 700));
    const r = await health(['--spool', root, '--role', 'worker', '--stale-after-ms', '500']);
    expect(r.code).toBe(1);
    const rep = report(r);
    expect(rep.status).toBe('unhealthy');
    expect(rep.heartbeatAgeMs).toBeGreaterThan(500);
    expect((rep.reasons as string[])[0]).toMatch(/heartbeat is stale/);
    // A web container on the same spool does not care about worker heartbeats.
    expect((await health(['--spool', root, '--role', 'web', '--stale-after-ms', '500'])).code).toBe(0);
  });

  it('follows a scheduler container: ok while its loop runs, unhealthy while it hangs, and once it stopped', async () => {
    const root = spoolDir();
    const s = startCli(['scheduler', '--spool', root, '--heartbeat-interval-ms', '100', '--poll-interval', '5000']);
    procs.push(s);
    const file = () => (existsSync(join(root, 'workers')) ? readdirSync(join(root, 'workers')).filter((f) => f.endsWith('.json')) : []);
    await waitFor(() => file().length === 1, 'the scheduler heartbeat file');
    const check = async () => {
      const r = await health(['--spool', root, '--role', 'scheduler', '--stale-after-ms', '1000']);
      return { code: r.code, rep: report(r) };
    };
    // Beats come every 100 ms although the loop polls every 5 s: ok for longer than the limit.
    await new Promise((r) => setTimeout(r, 1500));
    const ok = await check();
    expect(ok.code).toBe(0);
    expect(ok.rep).toMatchObject({ status: 'ok', role: 'scheduler', workers: { live: 0, stale: 0 }, schedulers: { live: 1, stale: 0 } });
    expect(ok.rep.heartbeatAgeMs).toBeLessThan(1000);
    // A hung loop stops beating.
    s.child.kill('SIGSTOP');
    try {
      await new Promise((r) => setTimeout(r, 1500));
      const hung = await check();
      expect(hung.code).toBe(1);
      expect((hung.rep.reasons as string[])[0]).toMatch(/scheduler heartbeat is stale .*the scheduler loop is stuck or gone/);
    } finally {
      s.child.kill('SIGCONT');
    }
    await waitFor(async () => (await check()).code === 0, 'a fresh beat after SIGCONT', 5000);
    // A clean stop removes its file: the container then reports no scheduler at all.
    s.child.kill('SIGTERM');
    expect((await s.done).code).toBe(0);
    expect(file()).toEqual([]);
    const gone = await check();
    expect(gone.code).toBe(1);
    expect((gone.rep.reasons as string[])[0]).toMatch(/has no scheduler heartbeat/);
  });

  it('is unhealthy (exit 1) when the spool is missing', async () => {
    const root = join(spoolDir(), 'nope');
    const r = await health(['--spool', root]);
    expect(r.code).toBe(1);
    expect((report(r).reasons as string[])[0]).toMatch(/does not exist.*Fix: Create it/);
  });

  it('exits 1, never 2, for bad flags', async () => {
    const r = await runCli(['health', '--max-waiting', 'many', '--bogus']);
    expect(r.code).toBe(1);
    expect(report(r).status).toBe('unhealthy');
  });

  it('a mistyped flag is the reason, and the spool given is still checked', async () => {
    const root = spoolDir();
    await addJobs(root, 1);
    const r = await health(['--spool', root, '--max-wait', '5', '--role', 'web'], { SPOOLKIT_SPOOL: '' });
    expect(r.code).toBe(1);
    const rep = report(r);
    expect(rep.spool).toBe(root);
    expect(rep.totals).toMatchObject({ waiting: 1 });
    expect(rep.reasons).toEqual(['Bad arguments for spoolkit health: unknown option --max-wait (did you mean --max-waiting?). Fix the healthcheck command (see spoolkit health --help).']);
  });

  it.skipIf(!isRoot)('is unhealthy (exit 1) when the spool is not writable by the uid that runs the check', async () => {
    const base = spoolDir();
    chmodSync(base, 0o755);
    const root = join(base, 'spool');
    mkdirSync(root);
    await addJobs(root, 1);
    chmodSync(root, 0o755); // owned by root; nobody may read but not write
    const r = await runCli(['/usr/bin/setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, healthBinPath, '--spool', root], { raw: true, env: { SPOOLKIT_ROLE: 'web' } });
    expect(r.code).toBe(1);
    expect((report(r).reasons as string[])[0]).toMatch(/owned by uid 0 .* not writable by uid 65534.*Fix: chown -R 65534/);
  });

  it.skipIf(!isRoot)('is unhealthy (exit 1) when the spool is on a read-only mount', async () => {
    const base = spoolDir();
    const root = join(base, 'spool');
    mkdirSync(root);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', root]);
    cleanups.push(() => execFileSync('umount', ['-l', root]));
    // Added from another process: files this test process opened would keep the mount busy.
    const added = await runCli(['jobs', 'add', 'work', 'echo', '{}', '--spool', root]);
    expect(added.code, added.stderr).toBe(0);
    execFileSync('mount', ['-o', 'remount,ro', root]);
    const r = await health(['--spool', root, '--role', 'web']);
    expect(r.code).toBe(1);
    expect((report(r).reasons as string[])[0]).toMatch(/read-only filesystem.*Fix: Mount the spool volume read-write/);
  });
});
