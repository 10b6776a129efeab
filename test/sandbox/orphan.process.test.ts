import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Queue, Worker } from '../../src/index.js';
import { readHeartbeats } from '../../src/spool/heartbeat.js';
import { livenessTagOf } from '../../src/spool/process-gone.js';
import { parseRunLog } from '../fixtures/core/chaos-data.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';
import { exited, startFixture } from '../fixtures/core/procs.js';

const BUSY = fileURLToPath(new URL('../fixtures/runtime/sandbox/busy.cjs', import.meta.url));

describe('a worker killed while its sandboxed child runs a job', () => {
  it('the job runs again only once the child, which outlives the worker until its code yields, is gone too', async () => {
    const spool = tmpSpool();
    const runs = path.join(spool, 'runs.log');
    fs.writeFileSync(runs, '');
    const env = { SPOOL: spool, PROCESSOR: BUSY, RUNS: runs, BUSY_MS: '2000' };
    const q = track(new Queue('q', { spool }));
    const first = await startFixture('sandbox-worker.ts', env);
    const job = await q.add('render', {});
    await waitFor(() => parseRunLog(fs.readFileSync(runs, 'utf8')).length === 1, 10_000, 'first run started');
    first.kill('SIGKILL');
    await exited(first);
    // Another worker on this host sees the killed one gone at its next stalled check (200 ms);
    // the child is still busy for most of two seconds.
    const second = await startFixture('sandbox-worker.ts', env);
    await waitFor(async () => (await q.getJobState(job.id!)) === 'completed', 20_000, 'job completed');
    second.kill('SIGKILL');
    const lines = parseRunLog(fs.readFileSync(runs, 'utf8'));
    const [s1, e1, s2, e2] = lines;
    // The orphaned child finished its run (nobody could stop it), and the second run started after.
    expect(lines.map((l) => l.type)).toEqual(['S', 'E', 'S', 'E']);
    expect(e1!.pid).toBe(s1!.pid);
    expect(s2!.pid).not.toBe(s1!.pid);
    expect(s2!.at).toBeGreaterThanOrEqual(e1!.at);
    expect(e2!.pid).toBe(s2!.pid);
  }, 60_000);

  it('a worker names its sandbox child processes in its heartbeat as soon as one starts, before it runs a job', async () => {
    const spool = tmpSpool();
    const runs = path.join(spool, 'runs.log');
    fs.writeFileSync(runs, '');
    process.env.RUNS = runs;
    const q = track(new Queue('q', { spool }));
    // A heartbeat interval far longer than the test: only the child's start can write it.
    const w = track(new Worker('q', BUSY, { spool, heartbeatIntervalMs: 600_000 }));
    const hbOf = () => readHeartbeats(spool).find((hb) => hb.workerId === w.id);
    await waitFor(() => hbOf() !== undefined, 5000, 'first heartbeat');
    expect(hbOf()!.children).toEqual([]);
    process.env.BUSY_MS = '300';
    await q.add('render', {});
    await waitFor(() => parseRunLog(fs.readFileSync(runs, 'utf8')).length === 1, 10_000, 'run started');
    const [s] = parseRunLog(fs.readFileSync(runs, 'utf8'));
    expect(hbOf()!.children).toEqual([{ pid: s!.pid, tag: livenessTagOf(s!.pid) }]);
    delete process.env.BUSY_MS;
    delete process.env.RUNS;
  }, 30_000);
});
