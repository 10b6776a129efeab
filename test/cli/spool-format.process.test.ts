/**
 * Every command on a spool whose spool.json this spoolkit cannot use (a newer format version, or
 * no valid version): the CLI refuses with exit 2 and the fix before it writes anything; the
 * healthcheck is unhealthy and names the version it read.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SPOOL_FORMAT_VERSION } from '../../src/spool/root.js';
import { assertBuilt, healthBinPath, runCli, snapshotTree, tempDir } from './helpers.js';

const dir = tempDir('spoolkit-format-');
afterAll(() => dir.cleanup());

/** A spool with one waiting job in queue "mail", made by the CLI, then given `marker` as its spool.json. */
async function spoolWith(name: string, marker: string): Promise<string> {
  assertBuilt();
  const spool = join(dir.path, name);
  mkdirSync(spool);
  const added = await runCli(['jobs', 'add', 'mail', 'x', '{}', '--spool', spool]);
  expect(added.code, added.stderr).toBe(0);
  writeFileSync(join(spool, 'spool.json'), marker);
  return spool;
}

const COMMANDS = [['status'], ['status', '--json'], ['metrics'], ['jobs', 'list', 'mail'], ['jobs', 'show', 'mail', '1'], ['jobs', 'add', 'mail', 'y'], ['queue', 'pause', 'mail'], ['queue', 'clean', 'mail', '--grace-ms', '0']];

describe('a spool of a format this spoolkit cannot use', () => {
  it('a newer format version: every command exits 2 saying to upgrade, and writes nothing', async () => {
    const spool = await spoolWith('newer', JSON.stringify({ format: 'spoolkit', version: SPOOL_FORMAT_VERSION + 1, createdAt: 1 }));
    const before = snapshotTree(spool);
    for (const args of COMMANDS) {
      const r = await runCli([...args, '--spool', spool]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(`uses format version ${SPOOL_FORMAT_VERSION + 1}, newer than this spoolkit supports (${SPOOL_FORMAT_VERSION}); upgrade spoolkit`);
      expect(r.stdout, args.join(' ')).toBe('');
    }
    expect(snapshotTree(spool)).toEqual(before);
  });

  it('version 0, a version in a string, or a broken spool.json: every command exits 2 naming the file, and writes nothing', async () => {
    for (const [name, marker] of [['zero', '{"format":"spoolkit","version":0}'], ['string', '{"format":"spoolkit","version":"2"}'], ['broken', '{"format":"spoolk']]) {
      const spool = await spoolWith(name as string, marker as string);
      const before = snapshotTree(spool);
      for (const args of COMMANDS) {
        const r = await runCli([...args, '--spool', spool]);
        expect(r.code, `${name} ${args.join(' ')}`).toBe(2);
        expect(r.stderr, `${name} ${args.join(' ')}`).toContain(`${join(spool, 'spool.json')}`);
      }
      expect(snapshotTree(spool)).toEqual(before);
    }
  });

  it('jobs add on an empty directory holding only an invalid spool.json creates neither queues/ nor workers/', async () => {
    const spool = join(dir.path, 'bare');
    mkdirSync(spool);
    writeFileSync(join(spool, 'spool.json'), '{"format":"spoolk');
    expect((await runCli(['jobs', 'add', 'mail', 'x', '--spool', spool])).code).toBe(2);
    expect(readdirSync(spool)).toEqual(['spool.json']);
  });

  it('health is unhealthy and reports the format version it read, or the invalid one as a reason', async () => {
    const newer = await spoolWith('health-newer', JSON.stringify({ format: 'spoolkit', version: SPOOL_FORMAT_VERSION + 1, createdAt: 1 }));
    const r = await runCli([process.execPath, healthBinPath, '--spool', newer], { raw: true });
    expect(r.code).toBe(1);
    const rep = JSON.parse(r.stdout) as { status: string; formatVersion: number | null; reasons: string[] };
    expect(rep.status).toBe('unhealthy');
    expect(rep.formatVersion).toBe(SPOOL_FORMAT_VERSION + 1);
    expect(rep.reasons[0]).toMatch(/format version \d+; this spoolkit understands up to .*Fix: Upgrade spoolkit/);

    const zero = await spoolWith('health-zero', '{"format":"spoolkit","version":0}');
    const z = await runCli([process.execPath, healthBinPath, '--spool', zero], { raw: true });
    expect(z.code).toBe(1);
    expect((JSON.parse(z.stdout) as { reasons: string[] }).reasons[0]).toMatch(/spool\.json has no valid format version \(a whole number from 1\)/);
  });
});
