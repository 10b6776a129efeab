/**
 * `spoolkit metrics` through the built CLI on a real temp spool: every queue's counts and totals
 * in the Prometheus text format, help and type lines once per metric, labels, and bad input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Queue } from '../../src/queue.js';
import { Worker } from '../../src/worker.js';
import { assertBuilt, runCli, tempDir, type CliResult } from './helpers.js';
import { waitFor } from '../fixtures/core/helpers.js';

const dir = tempDir('spoolkit-metrics-');
const spool = join(dir.path, 'spool');
const cli = (...args: string[]): Promise<CliResult> => runCli(args, { env: { SPOOLKIT_SPOOL: spool } });

beforeAll(async () => {
  assertBuilt();
  const mail = new Queue('mail', { spool });
  const video = new Queue('video', { spool });
  await mail.add('ok', {});
  await mail.add('bad', {});
  const w = new Worker('mail', async (job) => {
    if (job.name === 'bad') throw new Error('no');
    return 1;
  }, { spool, pollIntervalMs: 20, metrics: { maxDataPoints: 60 } });
  await waitFor(async () => (await mail.getCompletedCount()) + (await mail.getFailedCount()) === 2);
  await w.close();
  await video.add('encode', {});
  await mail.close();
  await video.close();
});
afterAll(() => dir.cleanup());

describe('spoolkit metrics', () => {
  it('prints every queue in the text format, each metric\'s help and type once, with the labels given', async () => {
    const r = await cli('metrics', '--label', 'env=prod', '--label', 'team=a "b"');
    expect(r.code).toBe(0);
    expect(r.stdout.endsWith('\n')).toBe(true);
    const lines = r.stdout.trimEnd().split('\n');
    const l = ', env="prod", team="a \\"b\\""';
    expect(lines.filter((x) => x.startsWith('# HELP bullmq_job_count'))).toHaveLength(1);
    expect(lines).toContain(`bullmq_job_count{queue="mail", state="completed"${l}} 1`);
    expect(lines).toContain(`bullmq_job_count{queue="mail", state="failed"${l}} 1`);
    expect(lines).toContain(`bullmq_job_count{queue="video", state="waiting"${l}} 1`);
    expect(lines).toContain(`bullmq_job_completed_total{queue="mail"${l}} 1`);
    expect(lines).toContain(`bullmq_job_failed_total{queue="mail"${l}} 1`);
    expect(lines).toContain(`bullmq_job_completed_total{queue="video"${l}} 0`);
    expect(lines.filter((x) => x.startsWith('bullmq_job_count{queue="video"'))).toHaveLength(7);
    const age = lines.find((x) => x.startsWith('spoolkit_oldest_waiting_age_seconds{queue="video"'));
    expect(Number(age?.split(' ').pop())).toBeGreaterThan(0);
    expect(lines).toContain(`spoolkit_oldest_waiting_age_seconds{queue="mail"${l}} 0`);
    // Every sample line is `name{labels} value`.
    for (const line of lines.filter((x) => !x.startsWith('#'))) expect(line).toMatch(/^[a-z_]+\{[^}]*\} \d+(\.\d+)?$/);
  });

  it('takes only the queues asked for, and refuses a label that is not name=value or not a label name', async () => {
    const one = await cli('metrics', '-q', 'video');
    expect(one.code).toBe(0);
    expect(one.stdout).not.toContain('queue="mail"');
    const bad = await cli('metrics', '--label', 'env');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--label takes name=value');
    const badName = await cli('metrics', '--label', 'my-env=x');
    expect(badName.code).toBe(2);
    expect(badName.stderr).toContain('is not a Prometheus label name');
    for (const reserved of ['queue', 'state', '__name__']) {
      const r = await cli('metrics', '--label', `${reserved}=x`);
      expect(r.code, reserved).toBe(2);
      expect(r.stderr, reserved).toContain(`\`${reserved}\` is a reserved label name`);
      expect(r.stdout, reserved).toBe('');
    }
  });
});
