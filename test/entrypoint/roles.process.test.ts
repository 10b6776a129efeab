/**
 * The entrypoint's roles through the built CLI, in a stand-in app directory (package.json with
 * spoolkit.web and spoolkit.processors) on a real temp spool.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { assertBuilt, cliPath, runCli, stopCli, waitFor } from '../cli/helpers.js';
import { entryScope, webLines } from './helpers.js';

const isRoot = process.getuid?.() === 0;

const scope = entryScope();
const { app, entry } = scope;
beforeAll(() => assertBuilt());
afterEach(() => scope.cleanup());

async function runJob(spool: string, n: number): Promise<{ pid: number; role: string }> {
  const q = scope.queue(spool);
  const job = await q.add('any', { n });
  await waitFor(async () => (await q.getJobState(job.id!)) === 'completed', `job ${n} to complete`);
  return (await q.getJob(job.id!))?.returnvalue as { pid: number; role: string };
}

describe('spoolkit entrypoint roles', () => {
  it('web: spawns spoolkit.web without a shell, expands ${PORT:-0}, forwards SIGTERM and exits with its code', async () => {
    const a = app();
    const p = entry(a, ['web'], { PORT: '4321', WEB_EXIT_CODE: '0' });
    await waitFor(() => webLines(p).some((l) => l.web === 'ready'), 'the web command to start');
    const ready = webLines(p).find((l) => l.web === 'ready')!;
    expect(ready.argv).toEqual(['--port', '4321']);
    expect(ready.role).toBe('web');
    expect(ready.pid).not.toBe(p.child.pid);
    p.child.kill('SIGTERM');
    const r = await p.done;
    expect(webLines(p).some((l) => l.web === 'stopping')).toBe(true);
    expect(r.code).toBe(0);
  });

  it('web: the exit code is the web command’s', async () => {
    const a = app();
    const p = entry(a, ['web'], { WEB_EXIT_CODE: '5' });
    await waitFor(() => webLines(p).some((l) => l.web === 'ready'), 'the web command to start');
    p.child.kill('SIGTERM');
    expect((await p.done).code).toBe(5);
  });

  it('worker from SPOOLKIT_ROLE: runs the processors in the entrypoint process itself and drains on SIGTERM', async () => {
    const a = app();
    const p = entry(a, [], { SPOOLKIT_ROLE: 'worker' });
    const result = await runJob(a.spool, 1);
    expect(result.pid).toBe(p.child.pid);
    expect(result.role).toBe('worker');
    p.child.kill('SIGTERM');
    expect((await p.done).code).toBe(0);
  });

  it('all: runs the web command and a worker as two children; SIGTERM stops both with exit 0', async () => {
    const a = app();
    const p = entry(a, ['all']);
    await waitFor(() => webLines(p).some((l) => l.web === 'ready'), 'the web command to start');
    const result = await runJob(a.spool, 2);
    expect(result.role).toBe('all');
    expect(result.pid).not.toBe(p.child.pid);
    p.child.kill('SIGTERM');
    const r = await p.done;
    expect(r.code).toBe(0);
    expect(p.logs().some((l) => l.event === 'worker:drained')).toBe(true);
  });

  it('all: when the web command dies, the worker is stopped and its exit code is returned', async () => {
    const a = app();
    const p = entry(a, ['all'], { WEB_EXIT_CODE: '9' });
    await waitFor(() => webLines(p).some((l) => l.web === 'ready'), 'the web command to start');
    await runJob(a.spool, 3);
    process.kill(Number(webLines(p).find((l) => l.web === 'ready')!.pid), 'SIGTERM');
    const r = await p.done;
    expect(r.code).toBe(9);
    expect(p.logs().some((l) => l.event === 'worker:drained')).toBe(true);
  });

  it('scheduler: runs spoolkit scheduler and exits 0 on SIGTERM', async () => {
    const a = app();
    const p = entry(a, ['scheduler']);
    await waitFor(() => p.logs().some((l) => l.event === 'scheduler:started'), 'the scheduler to start');
    expect(p.child.exitCode).toBeNull();
    p.child.kill('SIGTERM');
    expect((await p.done).code).toBe(0);
  });

  it('health: prints the health line', async () => {
    const a = app();
    const r = await runCli(['entrypoint', 'health', '--role', 'web'], { cwd: a.dir, env: { SPOOLKIT_SPOOL: a.spool } });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'ok', role: 'web' });
  });

  it('worker, scheduler and all check and use the spool their --spool names, not SPOOLKIT_SPOOL', async () => {
    const a = app();
    const unset = { SPOOLKIT_SPOOL: join(a.spool, 'not-this-one') };
    const w = entry(a, ['worker', '--spool', a.spool], unset);
    expect((await runJob(a.spool, 4)).pid).toBe(w.child.pid);
    w.child.kill('SIGTERM');
    expect((await w.done).code).toBe(0);

    const s = entry(a, ['scheduler', `--spool=${a.spool}`], unset);
    await waitFor(() => s.logs().some((l) => l.event === 'scheduler:started'), 'the scheduler to start');
    s.child.kill('SIGTERM');
    expect((await s.done).code).toBe(0);

    // The web command of `all` gets the worker's spool too.
    const all = entry(a, ['all', `-s${a.spool}`], unset);
    await waitFor(() => webLines(all).some((l) => l.web === 'ready'), 'the web command to start');
    expect(webLines(all).find((l) => l.web === 'ready')!.spool).toBe(a.spool);
    expect((await runJob(a.spool, 5)).role).toBe('all');
    all.child.kill('SIGTERM');
    expect((await all.done).code).toBe(0);
    expect(existsSync(unset.SPOOLKIT_SPOOL)).toBe(false);
  });

  it('refuses a mistyped --spool (exit 2, naming it) instead of making a private spool there', async () => {
    const a = app();
    const typo = join(a.spool, 'typo');
    for (const args of [['worker', '-s', typo], ['worker', `--spool=${typo}`], ['scheduler', '--spool', typo], ['all', '--spool', typo]]) {
      const r = await runCli(['entrypoint', ...args], { cwd: a.dir, env: { SPOOLKIT_SPOOL: a.spool, SPOOLKIT_ROLE: '' } });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(`spool ${typo} (from ${args[0] === 'scheduler' ? 'scheduler' : 'worker'} --spool): The spool directory ${typo} does not exist.`);
      expect(existsSync(typo)).toBe(false);
    }
  });

  it('refuses to start a role on a missing spool (exit 2, with the fix)', async () => {
    const a = app();
    const r = await runCli(['entrypoint', 'worker'], { cwd: a.dir, env: { SPOOLKIT_SPOOL: join(a.spool, 'missing') } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/does not exist\. Fix: Create it \(mkdir -p .*missing\) or mount the spool volume there/);
  });

  it.skipIf(!isRoot)('refuses to start a role on a spool this uid cannot write, naming the owner, the uid and the chown', async () => {
    const a = app();
    chmodSync(a.spool, 0o755);
    const r = await runCli(['/usr/bin/setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, cliPath, 'entrypoint', 'web'], {
      raw: true,
      cwd: a.dir,
      env: { SPOOLKIT_SPOOL: a.spool },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/owned by uid 0 .*not writable by uid 65534\. Fix: chown -R 65534 /);
  });
});
