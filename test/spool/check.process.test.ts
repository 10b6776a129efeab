/**
 * `checkSpool` below the state directories, as another uid sees the spool: a bucket directory
 * made by root (`sudo spoolkit jobs add` on a spool without the setgid bit) fails the entrypoint's
 * preflight and `spoolkit health`, naming the directory and the fix. Needs root (to make the
 * directories and to run the CLI as nobody).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from '../../src/queue.js';
import { assertBuilt, cliPath, runCli, tempDir } from '../cli/helpers.js';

const isRoot = process.getuid?.() === 0;
const cleanups: (() => void)[] = [];
beforeAll(() => assertBuilt());
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A spool owned by nobody, with one delayed job root then added (its time buckets are root's, mode 775). */
async function spoolWithRootBucket(): Promise<{ spool: string; bucket: string }> {
  const d = tempDir('spoolkit-check-');
  cleanups.push(d.cleanup);
  chmodSync(d.path, 0o755);
  const spool = join(d.path, 'spool');
  const q = new Queue('tasks', { spool });
  await q.add('now', {});
  execFileSync('chown', ['-R', 'nobody:nogroup', spool]);
  // An hour ahead: a top bucket (17.5 minutes) and a leaf that did not exist, both made by root now.
  await q.add('later', {}, { delay: 3_600_000 });
  await q.close();
  const delayed = join(spool, 'queues', 'tasks', 'delayed');
  const top = readdirSync(delayed).sort().at(-1) as string;
  return { spool, bucket: join('queues', 'tasks', 'delayed', top) };
}
function asNobody(args: string[], spool: string): ReturnType<typeof runCli> {
  return runCli(['/usr/bin/setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, cliPath, ...args], {
    raw: true,
    cwd: spool,
    env: { SPOOLKIT_SPOOL: spool, SPOOLKIT_ROLE: '' },
  });
}

describe.skipIf(!isRoot)('checkSpool below the state directories', () => {
  it('refuses to start a worker on a spool with a bucket directory it cannot write, naming it and the fix', async () => {
    const { spool, bucket } = await spoolWithRootBucket();
    const r = await asNobody(['entrypoint', 'worker'], spool);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('[SPOOL_NOT_WRITABLE]');
    expect(r.stderr).toContain(`${bucket} (uid 0, gid 0, mode 775)`);
    expect(r.stderr).toMatch(/Fix: chown -R 65534 .*find .* -type d -exec chmod g\+s/);
  });

  it('makes spool health unhealthy with the same reason', async () => {
    const { spool, bucket } = await spoolWithRootBucket();
    const r = await asNobody(['health', '--role', 'web'], spool);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { status: string; reasons: string[] };
    expect(report.status).toBe('unhealthy');
    expect(report.reasons.join('\n')).toContain(bucket);
  });
});
