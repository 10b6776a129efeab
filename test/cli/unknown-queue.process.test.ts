/**
 * A mistyped queue name on the command line: every command but `jobs add` refuses it, naming the
 * queues the spool has, and creates nothing; the healthcheck reports it as a reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { Queue } from '../../src/index.js';
import { join } from 'node:path';
import { assertBuilt, healthBinPath, runCli, snapshotTree, tempDir, type CliResult } from './helpers.js';

const dir = tempDir('spoolkit-typo-');
const spool = join(dir.path, 'spool');
const cli = (...args: string[]): Promise<CliResult> => runCli([...args, '--spool', spool]);

beforeAll(async () => {
  assertBuilt();
  mkdirSync(spool);
  expect((await cli('jobs', 'add', 'mail', 'welcome')).code).toBe(0);
});
afterAll(() => dir.cleanup());

describe('an unknown queue name', () => {
  it('is refused with exit 2 by every command but jobs add and queue pause/resume, naming the queues there are, and nothing is created', async () => {
    const before = snapshotTree(spool);
    const commands = [
      ['metrics', '-q', 'mial'],
      ['status', '-q', 'mail,mial'],
      ['jobs', 'list', 'maill'],
      ['jobs', 'show', 'mali', '1'],
      ['jobs', 'retry', 'mial', '--all'],
      ['jobs', 'remove', 'mial', '1'],
      ['jobs', 'promote', 'mial', '--all'],
      ['queue', 'clean', 'mial'],
    ];
    for (const args of commands) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/There is no queue "(mial|maill|mali)" in the spool at .*; its queues are "mail"\./);
    }
    expect(snapshotTree(spool)).toEqual(before);
    expect(readdirSync(join(spool, 'queues'))).toEqual(['mail']);
  });

  it('jobs add still makes a new queue', async () => {
    expect((await cli('jobs', 'add', 'video', 'encode')).code).toBe(0);
    expect((await cli('jobs', 'list', 'video')).code).toBe(0);
  });

  it('queue pause makes a new queue, paused before its first job or worker, as BullMQ allows', async () => {
    expect((await cli('queue', 'pause', 'later')).code).toBe(0);
    expect((await cli('jobs', 'add', 'later', 'x')).code).toBe(0);
    const q = new Queue('later', { spool });
    expect(await q.isPaused()).toBe(true);
    expect((await cli('queue', 'resume', 'later')).code).toBe(0);
    expect(await q.isPaused()).toBe(false);
    await q.close();
    rmSync(join(spool, 'queues', 'later'), { recursive: true, force: true });
  });

  it('health --queues with an unknown queue is unhealthy with the queues there are, and creates nothing', async () => {
    const r = await runCli([process.execPath, healthBinPath, '--spool', spool, '--role', 'web', '--queues', 'mial,mail'], { raw: true });
    expect(r.code).toBe(1);
    const rep = JSON.parse(r.stdout) as { status: string; reasons: string[]; queues: Record<string, unknown> };
    expect(rep.status).toBe('unhealthy');
    expect(rep.reasons).toEqual([expect.stringMatching(/^There is no queue "mial" in the spool at .*; its queues are "mail", "video"\. Fix: correct --queues in the healthcheck command\.$/)]);
    expect(Object.keys(rep.queues)).toEqual(['mail']);
    expect(readdirSync(join(spool, 'queues')).sort()).toEqual(['mail', 'video']);
  });
});
