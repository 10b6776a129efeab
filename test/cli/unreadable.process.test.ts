/**
 * Parts of a spool the uid running a command cannot read: the CLI and the healthcheck say which
 * path cannot be read, not that something is corrupt or not writable.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { assertBuilt, cliPath, healthBinPath, runCli, tempDir, type CliResult } from './helpers.js';

const isRoot = process.getuid?.() === 0;
const dir = tempDir('spoolkit-unread-');
const spool = join(dir.path, 'spool');

/** Runs `program args` as nobody (uid 65534). */
function asNobody(program: string, args: string[]): Promise<CliResult> {
  return runCli(['/usr/bin/setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, program, ...args, '--spool', spool], { raw: true, env: { SPOOLKIT_ROLE: 'web' } });
}
async function reasons(): Promise<string[]> {
  const r = await asNobody(healthBinPath, []);
  expect(r.code).toBe(1);
  return (JSON.parse(r.stdout) as { reasons: string[] }).reasons;
}

beforeAll(async () => {
  assertBuilt();
  chmodSync(dir.path, 0o755);
  mkdirSync(spool);
  expect((await runCli(['jobs', 'add', 'mail', 'x', '--spool', spool])).code).toBe(0);
  chmodSync(spool, 0o755);
});
afterAll(() => dir.cleanup());

describe.skipIf(!isRoot)('a spool part the checking uid cannot read', () => {
  it('spool.json: health and status say it cannot be read, not that it is not JSON', async () => {
    chmodSync(join(spool, 'spool.json'), 0o600);
    try {
      const found = (await reasons()).join('\n');
      expect(found).toMatch(/spool\.json cannot be read by uid 65534 \(EACCES\)\. Fix: Give uid 65534 read access/);
      expect(found).not.toContain('not readable JSON');
      const status = await asNobody(cliPath, ['status']);
      expect(status.code).toBe(1);
      expect(status.stderr).toContain(`The spool at ${join(spool, 'spool.json')} is not readable by uid 65534 (EACCES on open)`);
    } finally {
      chmodSync(join(spool, 'spool.json'), 0o644);
    }
  });

  it('a queue directory: status and metrics name it as not readable, not its counts.json as not writable', async () => {
    chmodSync(join(spool, 'queues', 'mail'), 0o700);
    try {
      for (const cmd of ['status', 'metrics']) {
        const r = await asNobody(cliPath, [cmd]);
        expect(r.code, cmd).toBe(1);
        expect(r.stderr, cmd).toContain(`The spool at ${join(spool, 'queues', 'mail')} is not readable by uid 65534`);
        expect(r.stderr, cmd).not.toContain('counts.json');
      }
      expect((await reasons()).join('\n')).toMatch(/queues\/mail\/\w+ is not readable by uid 65534 \(EACCES on stat\)/);
    } finally {
      chmodSync(join(spool, 'queues', 'mail'), 0o775);
    }
  });

  it('the workers directory: health says it is not readable, not that it is not writable', async () => {
    chmodSync(join(spool, 'workers'), 0o700);
    try {
      expect((await reasons()).join('\n')).toContain(`The spool at ${join(spool, 'workers')} is not readable by uid 65534 (EACCES on scandir)`);
    } finally {
      chmodSync(join(spool, 'workers'), 0o775);
    }
  });
});
