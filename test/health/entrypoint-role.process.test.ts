/**
 * `spoolkit health` judges the role the container's entrypoint runs, not the image's
 * SPOOLKIT_ROLE: the healthcheck is a separate process with the image's environment, while the
 * entrypoint got its role as an argument (`docker run <worker image> scheduler`). Real processes
 * on one host stand in for a container: the entrypoint and the health check share the pid
 * namespace and SPOOLKIT_ROLE, as they do in one.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, entryApp, healthBinPath, runCli, startCli, stopCli, waitFor, type CliProcess, type CliResult } from '../cli/helpers.js';


const cleanups: (() => void)[] = [];
const procs: CliProcess[] = [];
beforeAll(() => assertBuilt());
afterEach(async () => {
  await Promise.all(procs.splice(0).map(stopCli));
  for (const c of cleanups.splice(0)) c();
});

function app(): { dir: string; spool: string } {
  const a = entryApp('spoolkit-health-role-');
  cleanups.push(a.cleanup);
  return a;
}
/** `entrypoint <args>` with the image's SPOOLKIT_ROLE. */
function entry(a: { dir: string; spool: string }, args: string[], imageRole: string): CliProcess {
  const p = startCli(['entrypoint', ...args], { cwd: a.dir, env: { SPOOLKIT_SPOOL: a.spool, SPOOLKIT_ROLE: imageRole } });
  procs.push(p);
  return p;
}
/** The healthcheck, through the CLI and through the standalone bin, with `env` (the image's). */
async function healthBoth(a: { dir: string; spool: string }, env: NodeJS.ProcessEnv, args: string[] = []): Promise<{ r: CliResult; report: { status: string; role: string; spool: string } }[]> {
  const opts = { cwd: a.dir, env: { SPOOLKIT_SPOOL: a.spool, ...env } };
  const runs = [await runCli(['health', ...args], opts), await runCli([process.execPath, healthBinPath, ...args], { ...opts, raw: true })];
  return runs.map((r) => ({ r, report: JSON.parse(r.stdout) as { status: string; role: string; spool: string } }));
}

describe('spoolkit health and the entrypoint role', () => {
  it('judges a scheduler started as docker run <worker image> scheduler as a scheduler', async () => {
    const a = app();
    const p = entry(a, ['scheduler', '--heartbeat-interval-ms', '200'], 'worker');
    await waitFor(() => p.logs().some((l) => l.event === 'scheduler:started'), 'the scheduler to start');
    for (const { r, report } of await healthBoth(a, { SPOOLKIT_ROLE: 'worker' })) {
      expect(report).toMatchObject({ status: 'ok', role: 'scheduler' });
      expect(r.code).toBe(0);
    }
  });

  it('judges a worker started on a web image as a worker: unhealthy while it hangs', async () => {
    const a = app();
    const p = entry(a, ['worker', '--heartbeat-interval-ms', '200'], 'web');
    await waitFor(() => p.logs().some((l) => l.event === 'worker:started'), 'the worker to start');
    for (const { report } of await healthBoth(a, { SPOOLKIT_ROLE: 'web' })) expect(report).toMatchObject({ status: 'ok', role: 'worker' });
    process.kill(p.child.pid!, 'SIGSTOP');
    try {
      await new Promise((resolve) => setTimeout(resolve, 1200));
      for (const { r, report } of await healthBoth(a, { SPOOLKIT_ROLE: 'web' }, ['--stale-after-ms', '1000'])) {
        expect(report).toMatchObject({ status: 'unhealthy', role: 'worker' });
        expect(r.code).toBe(1);
      }
    } finally {
      process.kill(p.child.pid!, 'SIGCONT');
    }
  });

  it('checks the spool the entrypoint\'s role was given with --spool (docker run <image> worker --spool /data)', async () => {
    const a = app();
    const other = join(a.dir, '..', 'other-spool');
    mkdirSync(other);
    const p = entry(a, ['worker', '--spool', other, '--heartbeat-interval-ms', '200'], 'worker');
    await waitFor(() => p.logs().some((l) => l.event === 'worker:started'), 'the worker to start');
    for (const { r, report } of await healthBoth(a, { SPOOLKIT_ROLE: 'worker' })) {
      expect(report).toMatchObject({ status: 'ok', role: 'worker', spool: other });
      expect(r.code).toBe(0);
    }
    // A spool given to the health check itself still wins.
    for (const { report } of await healthBoth(a, { SPOOLKIT_ROLE: 'worker' }, ['--spool', a.spool])) expect(report).toMatchObject({ status: 'unhealthy', spool: a.spool });
  });

  it('keeps --role, and a SPOOLKIT_ROLE the entrypoint was not started with (a health check run by hand on a host)', async () => {
    const a = app();
    const p = entry(a, ['scheduler', '--heartbeat-interval-ms', '200'], 'worker');
    await waitFor(() => p.logs().some((l) => l.event === 'scheduler:started'), 'the scheduler to start');
    for (const { report } of await healthBoth(a, { SPOOLKIT_ROLE: 'worker' }, ['--role', 'web'])) expect(report.role).toBe('web');
    for (const { report } of await healthBoth(a, { SPOOLKIT_ROLE: 'web' })) expect(report.role).toBe('web');
  });
});
