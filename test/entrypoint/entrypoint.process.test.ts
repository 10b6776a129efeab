import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertBuilt, runCli, startCli, tempDir, waitFor } from '../cli/helpers.js';

const dir = tempDir('spoolkit-entry-');
beforeAll(() => {
  assertBuilt();
  // Prints "ready", then on SIGTERM reports it and exits 7.
  writeFileSync(join(dir.path, 'graceful.mjs'), `process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(7); });\nconsole.log('ready');\nsetInterval(() => {}, 1000);\n`);
  // Prints "ready" and has no handler: SIGTERM kills it.
  writeFileSync(join(dir.path, 'plain.mjs'), `console.log('ready');\nsetInterval(() => {}, 1000);\n`);
});
afterAll(() => dir.cleanup());

describe('spoolkit entrypoint: passthrough and role errors', () => {
  it('passes an unknown first argument through as a program and exits with its code', async () => {
    const r = await runCli(['entrypoint', process.execPath, '-e', 'process.exit(3)']);
    expect(r.code).toBe(3);
  });

  it('keeps the arguments of a passed-through command unchanged, including role words', async () => {
    const r = await runCli(['entrypoint', 'sh', '-c', 'echo "$0 $1"', 'worker', '--flag']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('worker --flag\n');
  });

  it('forwards SIGTERM to the child and exits with the code the child chose', async () => {
    const p = startCli(['entrypoint', process.execPath, join(dir.path, 'graceful.mjs')]);
    await waitFor(() => p.stdout().includes('ready'), 'the child to start');
    p.child.kill('SIGTERM');
    const r = await p.done;
    expect(r.stdout).toContain('got SIGTERM');
    expect(r.code).toBe(7);
  });

  it('exits 128 + the signal number when the child dies of a signal', async () => {
    const p = startCli(['entrypoint', process.execPath, join(dir.path, 'plain.mjs')]);
    await waitFor(() => p.stdout().includes('ready'), 'the child to start');
    p.child.kill('SIGTERM');
    expect((await p.done).code).toBe(143);
  });

  it('exits 127 naming the roles when the first argument is neither a role, a command nor a program', async () => {
    const r = await runCli(['entrypoint', 'wroker']);
    expect(r.code).toBe(127);
    expect(r.stderr).toContain('"wroker" is not a role (web, worker, all, scheduler, health), not a spoolkit command and not a program');
  });

  it('exits 126, as a shell would, when the program exists but is not executable', async () => {
    const script = join(dir.path, 'not-executable.sh');
    writeFileSync(script, '#!/bin/sh\nexit 0\n', { mode: 0o644 });
    chmodSync(script, 0o644);
    const r = await runCli(['entrypoint', script]);
    expect(r.code).toBe(126);
    expect(r.stderr).toContain(`"${script}" is not executable (EACCES). Make it executable (chmod +x)`);
  });

  it('exits 2 with the fix when no role is given and SPOOLKIT_ROLE is unset', async () => {
    const r = await runCli(['entrypoint'], { env: { SPOOLKIT_ROLE: '' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('No role given: pass one as the first argument');
  });

  it('exits 2 when SPOOLKIT_ROLE is not a role', async () => {
    const r = await runCli(['entrypoint'], { env: { SPOOLKIT_ROLE: 'cook' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('SPOOLKIT_ROLE must be one of web, worker, all, scheduler, health; got "cook"');
  });

  it('a bad SPOOLKIT_SHUTDOWN_TIMEOUT_MS, read only by the all role, does not stop health or a passed-through command', async () => {
    const env = { SPOOLKIT_SHUTDOWN_TIMEOUT_MS: '25s', SPOOLKIT_SPOOL: join(dir.path, 'no-spool') };
    const health = await runCli(['entrypoint', 'health', '--role', 'web'], { env });
    // Unhealthy (no spool there), but never 2: Docker reserves it.
    expect(health.code).toBe(1);
    expect(health.stderr).not.toContain('SPOOLKIT_SHUTDOWN_TIMEOUT_MS');
    const passed = await runCli(['entrypoint', 'sh', '-c', 'exit 5'], { env });
    expect(passed.code).toBe(5);
    expect(passed.stderr).toBe('');
    // (The all role, which uses it, refuses a bad value: test/entrypoint/children.process.test.ts.)
  });

  it('runs spoolkit commands that are not roles', async () => {
    const r = await runCli(['entrypoint', 'status', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: spoolkit status');
  });

  it('shows its own help', async () => {
    const r = await runCli(['entrypoint', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('The first argument picks what runs');
  });
});
