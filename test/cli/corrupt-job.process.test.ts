/**
 * A job file that does not parse and that no worker has met yet: `jobs show` says it is still in
 * place and how to be rid of it (and that advice works); once a worker claims the job, the failed
 * job it records says where the file was kept, without that advice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from '../../src/queue.js';
import { Worker } from '../../src/worker.js';
import { waitFor } from '../fixtures/core/helpers.js';
import { assertBuilt, runCli, tempDir, type CliResult } from './helpers.js';

const dir = tempDir('spoolkit-corrupt-');
const spool = join(dir.path, 'spool');
const cli = (...args: string[]): Promise<CliResult> => runCli([...args, '--spool', spool]);

/** Adds job `id` and truncates its file (through its id index name, a hard link to it). */
async function corruptJob(id: string): Promise<string> {
  expect((await cli('jobs', 'add', 'mail', 'x', '{}', '--job-id', id)).code).toBe(0);
  const shard = readdirSync(join(spool, 'queues', 'mail', 'ids')).find((s) => existsSync(join(spool, 'queues', 'mail', 'ids', s, id)));
  const file = join(spool, 'queues', 'mail', 'ids', shard as string, id);
  writeFileSync(file, `{"v":1,"id":"${id}","na`);
  return file;
}

beforeAll(() => {
  assertBuilt();
  mkdirSync(spool);
});
afterAll(() => dir.cleanup());

describe('a corrupt job file', () => {
  it('jobs show says the file is still in place, and the command it gives removes it', async () => {
    const file = await corruptJob('bad1');
    const shown = await cli('jobs', 'show', 'mail', 'bad1');
    expect(shown.code).toBe(1);
    expect(shown.stderr).toContain(`Job file ${file} is corrupt: not valid JSON`);
    expect(shown.stderr).toContain('It is still in place: a worker that claims the job moves the file to corrupt/ and fails the job saying why.');
    expect(shown.stderr).not.toContain('quarantined');
    expect(existsSync(file)).toBe(true);
    const find = /\((find .* -delete)\)/.exec(shown.stderr)?.[1];
    expect(find).toBeDefined();
    execFileSync('sh', ['-c', find as string]);
    expect((await cli('jobs', 'show', 'mail', 'bad1')).stderr).toContain('No job "bad1" in queue "mail"');
    expect((await cli('status', '--json')).stdout).toContain('"waiting":0');
  });

  it('a worker that claims it keeps the file in corrupt/ and fails the job with the reason, without the advice for a file in place', async () => {
    await corruptJob('bad2');
    const q = new Queue('mail', { spool });
    const w = new Worker('mail', async () => 'ok', { spool, pollIntervalMs: 20 });
    w.on('error', () => {});
    try {
      await waitFor(async () => (await q.getFailedCount()) === 1, 10_000);
      const failed = await q.getJob('bad2');
      expect(failed?.failedReason).toMatch(/^corrupt job file \(kept as corrupt\/bad2\.\d+\.json\): Job file .* is corrupt: not valid JSON \(.*\)$/);
      expect(readdirSync(join(spool, 'queues', 'mail', 'corrupt'))).toHaveLength(1);
    } finally {
      await w.close();
      await q.close();
    }
  });
});
