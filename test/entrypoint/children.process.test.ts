/**
 * The `all` role's two children under signals and kills, through the built CLI: one stop that
 * reaches the worker twice, SIGHUP, a SIGKILLed entrypoint, and the longest shutdown timeout.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, isAlive, waitFor, type CliProcess } from '../cli/helpers.js';
import { entryScope, webReady, type EntryApp } from './helpers.js';

const scope = entryScope();
const { app, entry } = scope;
beforeAll(() => assertBuilt());
afterEach(() => scope.cleanup());

const events = (p: CliProcess, event: string) => p.logs().filter((l) => l.event === event);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts `entrypoint all`, adds a job that runs `ms`, and waits until the worker has claimed it. */
async function allWithRunningJob(a: EntryApp, ms: number, env: NodeJS.ProcessEnv = {}): Promise<{ p: CliProcess; jobId: string; webPid: number; workerPid: number }> {
  const p = entry(a, ['all'], env);
  const ready = await webReady(p);
  const job = await scope.queue(a.spool).add('any', { n: 1, ms });
  await waitFor(() => events(p, 'job:claimed').length === 1, 'the worker to claim the job');
  return { p, jobId: job.id!, webPid: Number(ready.pid), workerPid: Number(events(p, 'job:claimed')[0]!.pid) };
}
async function state(a: EntryApp, id: string): Promise<string> {
  return scope.queue(a.spool).getJobState(id);
}

describe('spoolkit entrypoint all: the worker child under signals', () => {
  it('a SIGTERM that reaches the worker straight and again forwarded by the entrypoint is one stop: the job finishes, exit 0', async () => {
    const a = app();
    const { p, jobId, workerPid } = await allWithRunningJob(a, 1500, { SPOOLKIT_SHUTDOWN_TIMEOUT_MS: '20000' });
    // What a group-wide SIGTERM (Heroku) does, spread out so the kernel cannot merge the two.
    process.kill(workerPid, 'SIGTERM');
    await sleep(150);
    p.child.kill('SIGTERM');
    const r = await p.done;
    expect(events(p, 'worker:signal').map((l) => l.action)).toEqual(['drain', expect.stringMatching(/^none: taken for the first SIGTERM again/)]);
    expect(r.code).toBe(0);
    expect(await state(a, jobId)).toBe('completed');
  });

  it('a SIGTERM to the whole process group drains the worker and exits 0', async () => {
    const a = app();
    const { p, jobId } = await allWithRunningJob(a, 1500, { SPOOLKIT_SHUTDOWN_TIMEOUT_MS: '20000' });
    process.kill(-p.child.pid!, 'SIGTERM');
    const r = await p.done;
    expect(events(p, 'worker:signal').filter((l) => l.action === 'force')).toEqual([]);
    expect(r.code).toBe(0);
    expect(await state(a, jobId)).toBe('completed');
  });

  it('SIGHUP to the entrypoint reaches the worker as a stop: it drains, its job finishes', async () => {
    const a = app();
    const { p, jobId } = await allWithRunningJob(a, 1500, { SPOOLKIT_SHUTDOWN_TIMEOUT_MS: '20000' });
    p.child.kill('SIGHUP');
    const r = await p.done;
    expect(events(p, 'worker:signal')[0]).toMatchObject({ signal: 'SIGHUP', action: 'drain' });
    expect(events(p, 'worker:stopped')[0]?.code).toBe(0);
    expect(await state(a, jobId)).toBe('completed');
    // The stand-in web command has no SIGHUP handler: it dies of it, and that is the exit code.
    expect(r.code).toBe(129);
  });

  it('a SIGKILLed entrypoint leaves no worker behind: the worker sees its parent gone and drains', async () => {
    const a = app();
    const { p, jobId, webPid, workerPid } = await allWithRunningJob(a, 1500, { SPOOLKIT_SHUTDOWN_TIMEOUT_MS: '20000' });
    p.child.kill('SIGKILL');
    await waitFor(() => events(p, 'worker:stopped').length === 1, 'the worker to drain and stop', 20_000);
    expect(events(p, 'worker:parent-gone')[0]?.draining).toBe(true);
    expect(events(p, 'worker:stopped')[0]?.code).toBe(0);
    expect(await state(a, jobId)).toBe('completed');
    await waitFor(() => !isAlive(workerPid), 'the worker process to exit', 5000);
    // The web command is the app's own program and not linked: it runs on until stopped.
    process.kill(webPid, 'SIGTERM');
  });

  it('with SPOOLKIT_SHUTDOWN_TIMEOUT_MS at its limit, the worker left alone after the web ends drains instead of being killed at once', async () => {
    const a = app();
    const { p, jobId, webPid } = await allWithRunningJob(a, 1500, { SPOOLKIT_SHUTDOWN_TIMEOUT_MS: '2147483647', WEB_EXIT_CODE: '9' });
    process.kill(webPid, 'SIGTERM');
    const r = await p.done;
    expect(r.code).toBe(9);
    expect(events(p, 'worker:stopped')[0]?.code).toBe(0);
    expect(await state(a, jobId)).toBe('completed');
    expect(r.stderr).not.toContain('TimeoutOverflowWarning');
  });

  it('refuses a shutdown timeout above 2147483647 ms, from the variable or the worker flag, with exit 2 naming it and the limit', async () => {
    const a = app();
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [['all'], { SPOOLKIT_SHUTDOWN_TIMEOUT_MS: '2147483648' }, /SPOOLKIT_SHUTDOWN_TIMEOUT_MS must be a whole number from 0 to 2147483647; got 2147483648/],
      [['all', '--shutdown-timeout-ms', '9999999999'], {}, /--shutdown-timeout-ms must be a whole number from 0 to 2147483647; got 9999999999/],
      [['all', '--shutdown-timeout-ms=9999999999'], {}, /--shutdown-timeout-ms must be a whole number from 0 to 2147483647; got 9999999999/],
      [['worker'], { SPOOLKIT_SHUTDOWN_TIMEOUT_MS: '9999999999' }, /SPOOLKIT_SHUTDOWN_TIMEOUT_MS must be a whole number from 0 to 2147483647; got 9999999999/],
      [['worker', '--shutdown-timeout-ms', '2147483648'], {}, /--shutdown-timeout-ms must be a whole number from 0 to 2147483647; got 2147483648/],
    ];
    for (const [args, env, message] of cases) {
      const r = await entry(a, args, env).done;
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stdout, args.join(' ')).not.toContain('"web":"ready"');
    }
  });
});
