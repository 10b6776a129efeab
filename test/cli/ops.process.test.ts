/**
 * The operator commands through the built CLI on a real temp spool: status, jobs and queue, with
 * their output and exit codes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from '../../src/queue.js';
import { SPOOL_FORMAT_VERSION } from '../../src/spool/root.js';
import { assertBuilt, runCli, tempDir, type CliResult } from './helpers.js';

const dir = tempDir('spoolkit-ops-');
const spool = join(dir.path, 'spool');
const cli = (...args: string[]): Promise<CliResult> => runCli(args, { env: { SPOOLKIT_SPOOL: spool } });

beforeAll(async () => {
  assertBuilt();
  const q = new Queue('mail', { spool });
  await q.add('welcome', { to: 'a@example.com' }, { jobId: 'w1' });
  await q.add('welcome', { to: 'b@example.com' }, { jobId: 'w2', delay: 3_600_000 });
  await q.close();
});
afterAll(() => dir.cleanup());

describe('spoolkit jobs and queue', () => {
  it('adds a job with JSON data and options, and refuses bad JSON with exit 2', async () => {
    const ok = await cli('jobs', 'add', 'mail', 'digest', '{"user":7}', '--attempts', '3', '--json');
    expect(ok.code).toBe(0);
    const job = JSON.parse(ok.stdout) as { id: string; name: string; data: unknown; opts: { attempts: number } };
    expect(job).toMatchObject({ name: 'digest', data: { user: 7 }, opts: { attempts: 3 } });

    const bad = await cli('jobs', 'add', 'mail', 'digest', '{user:7}');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/The job data is not valid JSON .*Quote it for the shell/);
    expect(bad.stdout).toBe('');
    const badOpts = await cli('jobs', 'add', 'mail', 'digest', '{}', '--opts', '[1]');
    expect(badOpts.code).toBe(2);
    expect(badOpts.stderr).toContain('--opts must be a JSON object');
  });

  it('says that an add with an id that exists added nothing', async () => {
    const fresh = await cli('jobs', 'add', 'mail', 'once', '{"v":1}', '--job-id', 'once-1');
    expect(fresh).toMatchObject({ code: 0, stdout: 'Added job once-1 ("once") to queue "mail".\n' });
    const again = await cli('jobs', 'add', 'mail', 'once', '{"v":2}', '--job-id', 'once-1');
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('Job once-1 already exists in queue "mail"; nothing was added (the job keeps its own name and data).\n');
    const shown = JSON.parse((await cli('jobs', 'show', 'mail', 'once-1', '--json')).stdout) as { data: unknown };
    expect(shown.data).toEqual({ v: 1 });
  });

  it('lists jobs by state as a table or JSON, and refuses an unknown state with exit 2', async () => {
    const waiting = await cli('jobs', 'list', 'mail');
    expect(waiting.code).toBe(0);
    expect(waiting.stdout).toMatch(/^ID\s+NAME\s+STATE\s+ATTEMPTS\s+AGE\s+REASON/);
    expect(waiting.stdout).toContain('w1');
    const delayed = await cli('jobs', 'list', 'mail', '--state', 'delayed', '--json');
    expect((JSON.parse(delayed.stdout) as { id: string }[]).map((j) => j.id)).toEqual(['w2']);
    const bad = await cli('jobs', 'list', 'mail', '--state', 'stuck');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--state must be one of waiting, active, delayed');
  });

  it('shows attempts as BullMQ counts them: attempts made of the attempts option, at least 1', async () => {
    expect((await cli('jobs', 'add', 'mail', 'once', '{}', '--job-id', 'a1')).code).toBe(0);
    expect((await cli('jobs', 'add', 'mail', 'thrice', '{}', '--job-id', 'a3', '--attempts', '3')).code).toBe(0);
    const list = (await cli('jobs', 'list', 'mail')).stdout;
    expect(list).toMatch(/^a1\s+once\s+waiting\s+0\/1\s/m);
    expect(list).toMatch(/^a3\s+thrice\s+waiting\s+0\/3\s/m);
    expect((await cli('jobs', 'show', 'mail', 'a1')).stdout).toContain('attempts:   0 made of 1\n');
    expect((await cli('jobs', 'remove', 'mail', 'a1', 'a3')).code).toBe(0);
  });

  it('shows one job, and exits 1 for a job that does not exist', async () => {
    const shown = await cli('jobs', 'show', 'mail', 'w1');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('Job w1 ("welcome") in state waiting');
    expect(shown.stdout).toContain('data:       {"to":"a@example.com"}');
    const json = JSON.parse((await cli('jobs', 'show', 'mail', 'w1', '--json')).stdout) as { state: string; logs: unknown[] };
    expect(json.state).toBe('waiting');
    expect(json.logs).toEqual([]);
    const missing = await cli('jobs', 'show', 'mail', 'nope');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No job "nope" in queue "mail"');
  });

  it('promotes a delayed job and removes jobs (exit 1 when an id is unknown)', async () => {
    expect((await cli('jobs', 'promote', 'mail', 'w2')).stdout).toContain('Job w2 in queue "mail" is waiting now.');
    const removed = await cli('jobs', 'remove', 'mail', 'w2', 'ghost');
    expect(removed.code).toBe(1);
    expect(removed.stdout).toContain('Removed job w2');
    expect(removed.stderr).toContain('no job "ghost"');
  });

  it('retries failed jobs one at a time or all at once, and needs an id or --all', async () => {
    const q = new Queue('mail', { spool });
    const f1 = await q.add('fails', {});
    const f2 = await q.add('fails', {});
    const { Worker } = await import('../../src/worker.js');
    const w = new Worker('mail', async (job) => {
      if (job.name === 'fails') throw new Error('broken on purpose');
      return null;
    }, { spool, pollIntervalMs: 50 });
    const q2 = new Queue('mail', { spool });
    for (let i = 0; i < 100 && ((await q2.getJobCounts('failed')).failed ?? 0) < 2; i++) await new Promise((r) => setTimeout(r, 50));
    await w.close();
    await q2.close();

    expect((await cli('jobs', 'retry', 'mail')).code).toBe(2);
    const one = await cli('jobs', 'retry', 'mail', f1.id!);
    expect(one.code).toBe(0);
    expect(one.stdout).toContain(`Job ${f1.id} in queue "mail" is waiting again.`);
    const all = await cli('jobs', 'retry', 'mail', '--all');
    expect(all.code).toBe(0);
    expect(all.stdout).toContain('Retried 1 failed job(s) in queue "mail".');
  });

  it('pauses and resumes a queue', async () => {
    expect((await cli('queue', 'pause', 'mail')).stdout).toBe('Queue "mail" is paused.\n');
    const status = JSON.parse((await cli('status', '--json')).stdout) as { queues: Record<string, { paused: boolean }> };
    expect(status.queues.mail?.paused).toBe(true);
    expect((await cli('queue', 'resume', 'mail')).stdout).toBe('Queue "mail" is running.\n');
  });

  it('cleans old jobs', async () => {
    const r = await cli('queue', 'clean', 'mail', '--state', 'waiting', '--grace-ms', '0', '--json');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as string[]).length).toBeGreaterThan(0);
  });
});

describe('spoolkit status', () => {
  it('prints a table of queues and workers', async () => {
    const r = await cli('status');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`spool ${spool} (format ${SPOOL_FORMAT_VERSION})`);
    expect(r.stdout).toMatch(/QUEUE\s+WAITING\s+ACTIVE\s+DELAYED\s+PRIORITIZED\s+COMPLETED\s+FAILED\s+OLDEST\s+DONE\/1M\s+FAILED\/1M\s+STATE/);
    expect(r.stdout).toMatch(/^mail\s+\d+/m);
    expect(r.stdout).toContain('Workers: 0 live, 0 stale');
  });

  it('--watch redraws until --count refreshes', async () => {
    const r = await cli('status', '--watch', '--interval-ms', '100', '--count', '2', '--json');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(2);
  });

  it('refuses a spool that does not exist with exit 2, without creating it', async () => {
    const missing = join(dir.path, 'typo');
    const r = await runCli(['status', '--spool', missing]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`There is no spool at ${missing}`);
    const jobs = await runCli(['jobs', 'list', 'mail', '--spool', missing]);
    expect(jobs.code).toBe(2);
    expect(existsSync(missing)).toBe(false);
  });

  it('every command answers --help with exit 0', async () => {
    for (const args of [['worker'], ['health'], ['status'], ['jobs'], ['jobs', 'add'], ['queue', 'clean'], ['entrypoint']]) {
      const r = await runCli([...args, '--help']);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout, args.join(' ')).toMatch(/Usage: spoolkit/);
    }
  });
});
