/**
 * Exit codes of the built CLI for bad input and a bad spool: 2 for anything the user fixes on the
 * command line (flags, job options, a spool path that is a file, no command), 1 for a failure,
 * and never "unexpected error" with a stack trace for a problem spoolkit can name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertBuilt, runCli, tempDir, type CliResult } from './helpers.js';

const processors = fileURLToPath(new URL('../fixtures/runtime/app/processors.mjs', import.meta.url));
const isRoot = process.getuid?.() === 0;
const dir = tempDir('spoolkit-exit-');
const spool = join(dir.path, 'spool');
const cli = (...args: string[]): Promise<CliResult> => runCli([...args, '--spool', spool]);

beforeAll(() => {
  assertBuilt();
  mkdirSync(spool);
});
afterAll(() => dir.cleanup());

function expectNamedError(r: CliResult, code: number, message: string | RegExp): void {
  expect(r.code, r.stderr).toBe(code);
  expect(r.stderr).not.toContain('unexpected error');
  if (typeof message === 'string') expect(r.stderr).toContain(message);
  else expect(r.stderr).toMatch(message);
}

/** Runs `fn` while `dir` is bind-mounted read-only over itself. */
async function readOnly(dir: string, fn: () => Promise<void>): Promise<void> {
  execFileSync('mount', ['--bind', dir, dir]);
  try {
    execFileSync('mount', ['-o', 'remount,ro,bind', dir]);
    await fn();
  } finally {
    execFileSync('umount', [dir]);
  }
}

describe('exit codes', () => {
  it('job options the library refuses exit 2 with the library message', async () => {
    expectNamedError(await cli('jobs', 'add', 'mail', 'x', '{}', '--priority', '99999999'), 2, 'Priority should be between 0 and');
    expectNamedError(await cli('jobs', 'add', 'mail', 'x', '{}', '--job-id', 'a/b'), 2, 'contains a path separator');
    expectNamedError(await cli('jobs', 'add', 'mail', 'x', '{}', '--opts', '{"delay":-5}'), 2, 'delay must be a number of ms >= 0');
    expectNamedError(await cli('jobs', 'add', 'mail', 'x', '{}', '--opts', '{"attempts":"x"}'), 2, 'attempts must be an integer >= 0');
    expectNamedError(await cli('jobs', 'add', 'mail', 'x', '{}', '--opts', '{"repeat":{"every":1000}}'), 2, /repeat option of add\(\) is not supported.*upsertJobScheduler/);
  });

  it('worker with a spool path that is a file, or inside a file, exits 2 naming the fix', async () => {
    const file = join(dir.path, 'afile');
    writeFileSync(file, 'x');
    const env = { LOG_LEVEL: 'error' };
    expectNamedError(await runCli(['worker', '-p', processors, '--spool', file], { env, timeoutMs: 20_000 }), 2, `The spool path ${file} is a file, not a directory; pass --spool <path>`);
    expectNamedError(await runCli(['worker', '-p', processors, '--spool', join(file, 'sub')], { env, timeoutMs: 20_000 }), 2, /is a file, not a directory \(ENOTDIR\); point SPOOLKIT_SPOOL \(or --spool\) at a directory/);
  });

  it('worker timer flags above what a Node timer can wait exit 2 naming the flag and the limit', async () => {
    const env = { LOG_LEVEL: 'error' };
    for (const flag of ['--job-timeout-ms', '--kill-grace-ms', '--lock-duration-ms', '--stalled-interval-ms', '--heartbeat-interval-ms', '--poll-interval-ms']) {
      const r = await runCli(['worker', '-p', processors, '--spool', spool, flag, '2147483648'], { env, timeoutMs: 20_000 });
      expectNamedError(r, 2, `${flag} must be a whole number from`);
      expect(r.stderr).toContain('2147483647');
    }
  });

  it('no command prints the usage on stderr and exits 2; help exits 0', async () => {
    const none = await runCli([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage: spoolkit');
    expect(none.stdout).toBe('');
    const help = await runCli(['help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: spoolkit');
  });

  it.skipIf(!isRoot)('queue pause and resume on a read-only spool exit 1 with the fix, not a stack trace', async () => {
    const ro = join(dir.path, 'ro');
    mkdirSync(ro);
    expect((await runCli(['jobs', 'add', 'mail', 'x', '--spool', ro])).code).toBe(0);
    await readOnly(ro, async () => expectNamedError(await runCli(['queue', 'pause', 'mail', '--spool', ro]), 1, 'is on a read-only filesystem; mount the spool volume read-write'));
    expect((await runCli(['queue', 'pause', 'mail', '--spool', ro])).code).toBe(0);
    await readOnly(ro, async () => expectNamedError(await runCli(['queue', 'resume', 'mail', '--spool', ro]), 1, 'is on a read-only filesystem; mount the spool volume read-write'));
  });
});
