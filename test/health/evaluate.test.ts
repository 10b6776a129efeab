import { describe, expect, it } from 'vitest';
import { evaluateHealth, MAX_REPORT_BYTES, type HealthThresholds } from '../../src/health/evaluate.js';
import { parseHealthArgs } from '../../src/health/args.js';

const thresholds: HealthThresholds = { maxWaiting: 10, maxAgeMs: 1000, staleAfterMs: 5000, strict: false };
const counts = (waiting = 0) => ({ waiting, active: 0, delayed: 0, prioritized: 0, completed: 3, failed: 1, 'waiting-children': 0 });
const queue = (waiting = 0, oldest: number | null = null, corrupt = 0) => ({ counts: counts(waiting), oldestWaitingAgeMs: oldest, paused: false, completedLastMinute: 0, failedLastMinute: 0, corrupt });
const beat = (hostname: string, ageMs: number, role = 'worker') => ({ workerId: `${hostname}-${ageMs}`, kind: role === 'scheduler' ? ('scheduler' as const) : ('worker' as const), hostname, pid: 1, queues: ['q'], heartbeatAt: 0, ageMs, concurrency: 1, running: 0, processed: 0, failed: 0, meta: { role } });

function run(over: Partial<Parameters<typeof evaluateHealth>[0]> = {}) {
  return evaluateHealth({
    spool: '/spool',
    status: { root: '/spool', formatVersion: 1, queues: { q: queue() }, workers: [beat('me', 100)] },
    statusError: undefined,
    problems: [],
    role: undefined,
    hostname: 'me',
    nowMs: Date.UTC(2026, 0, 1),
    thresholds,
    ...over,
  });
}

describe('evaluateHealth', () => {
  it('is ok with a fresh own heartbeat and no backlog, and reads the role from it', () => {
    const { report, exitCode } = run();
    expect(exitCode).toBe(0);
    expect(report).toMatchObject({ status: 'ok', role: 'worker', heartbeatAgeMs: 100, workers: { live: 1, stale: 0 }, totals: { completed: 3, failed: 1 } });
    expect(report.reasons).toBeUndefined();
  });

  it('is backlogged but exits 0 over the waiting or age thresholds', () => {
    const { report, exitCode } = run({ status: { root: '/spool', formatVersion: 1, queues: { q: queue(11, 2000) }, workers: [beat('me', 100)] } });
    expect(exitCode).toBe(0);
    expect(report.status).toBe('backlogged');
    expect(report.backlog).toEqual(['11 jobs waiting (more than 10)', 'the oldest waiting job has waited 2000 ms (more than 1000 ms)']);
  });

  it('fails a backlog with --strict', () => {
    const { report, exitCode } = run({ thresholds: { ...thresholds, strict: true }, status: { root: '/spool', formatVersion: 1, queues: { q: queue(11) }, workers: [beat('me', 100)] } });
    expect(exitCode).toBe(1);
    expect(report.status).toBe('unhealthy');
    expect(report.reasons).toEqual(['Backlog (--strict): 11 jobs waiting (more than 10).']);
  });

  it('is unhealthy for a worker whose own heartbeat is stale, even when other hosts are fresh', () => {
    const { report, exitCode } = run({ role: 'worker', status: { root: '/spool', formatVersion: 1, queues: { q: queue() }, workers: [beat('me', 9000), beat('other', 10)] } });
    expect(exitCode).toBe(1);
    expect(report.heartbeatAgeMs).toBe(9000);
    expect(report.reasons?.[0]).toMatch(/heartbeat is stale \(9000 ms old, limit 5000 ms\)/);
  });

  it('is unhealthy for a worker with no heartbeat at all, but not for a web container', () => {
    const status = { root: '/spool', formatVersion: 1, queues: { q: queue() }, workers: [beat('other', 10)] };
    expect(run({ role: 'worker', status }).exitCode).toBe(1);
    expect(run({ role: 'web', status }).report.status).toBe('ok');
  });

  it('is unhealthy for a scheduler container whose scheduler heartbeat is missing or stale', () => {
    const status = (...workers: ReturnType<typeof beat>[]) => ({ root: '/spool', formatVersion: 1, queues: { q: queue() }, workers });
    const missing = run({ role: 'scheduler', status: status(beat('other', 10, 'scheduler'), beat('me', 10)) });
    expect(missing.exitCode).toBe(1);
    expect(missing.report.reasons?.[0]).toMatch(/This scheduler container \(hostname me\) has no scheduler heartbeat.*"spoolkit scheduler" is running here/);
    const stale = run({ role: 'scheduler', status: status(beat('me', 9000, 'scheduler')) });
    expect(stale.exitCode).toBe(1);
    expect(stale.report.heartbeatAgeMs).toBe(9000);
    expect(stale.report.reasons?.[0]).toMatch(/scheduler heartbeat is stale \(9000 ms old, limit 5000 ms\): the scheduler loop is stuck or gone/);
    const fresh = run({ status: status(beat('me', 9000, 'scheduler'), beat('me', 20, 'scheduler')) });
    expect(fresh.report).toMatchObject({ status: 'ok', role: 'scheduler', heartbeatAgeMs: 20 });
  });

  it('does not count scheduler loops as workers', () => {
    const { report } = run({ role: 'web', status: { root: '/spool', formatVersion: 1, queues: { q: queue(1) }, workers: [beat('sched', 10, 'scheduler')] } });
    expect(report.workers).toEqual({ live: 0, stale: 0 });
    expect(report.schedulers).toEqual({ live: 1, stale: 0 });
    expect(report.backlog).toEqual(['1 jobs waiting and no live worker']);
  });

  it('is unhealthy on spool problems and corrupt files, each with a fix', () => {
    const { report, exitCode } = run({ problems: [{ code: 'SPOOL_UNWRITABLE', message: 'Not writable by uid 1000 (owner 0).', fix: 'chown -R 1000 /spool' }] });
    expect(exitCode).toBe(1);
    expect(report.reasons).toEqual(['Not writable by uid 1000 (owner 0). Fix: chown -R 1000 /spool']);
    const corrupt = run({ status: { root: '/spool', formatVersion: 1, queues: { q: queue(0, null, 2) }, workers: [beat('me', 1)] } });
    expect(corrupt.exitCode).toBe(1);
    expect(corrupt.report.reasons?.[0]).toMatch(/2 corrupt job file\(s\), kept in \/spool\/queues\/q\/corrupt\/.*spoolkit jobs list q --state failed.*delete the files/);
  });

  it('reports jobs waiting with no live worker as a backlog', () => {
    const { report } = run({ role: 'web', status: { root: '/spool', formatVersion: 1, queues: { q: queue(1) }, workers: [] } });
    expect(report.status).toBe('backlogged');
    expect(report.backlog).toEqual(['1 jobs waiting and no live worker']);
  });

  it('counts prioritized jobs as waiting, and due delayed jobs with no live worker, as a backlog', () => {
    const prioritized = { ...queue(0, 500), counts: { ...counts(0), prioritized: 11 } };
    const a = run({ role: 'web', status: { root: '/spool', formatVersion: 1, queues: { q: prioritized }, workers: [] } }).report;
    expect(a.backlog).toEqual(['11 jobs waiting (more than 10)', '11 jobs waiting and no live worker']);
    const dueDelayed = { ...queue(0, 120_000), counts: { ...counts(0), delayed: 3 } };
    const b = run({ role: 'web', status: { root: '/spool', formatVersion: 1, queues: { q: dueDelayed }, workers: [] } }).report;
    expect(b.backlog).toEqual(['the oldest waiting job has waited 120000 ms (more than 1000 ms)', 'delayed jobs are due (the oldest for 120000 ms) and no live worker']);
  });

  it('keeps the line under the size Docker stores, dropping per-queue detail first', () => {
    const queues = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`queue-number-${i}`, queue(1)]));
    const { report } = run({ status: { root: '/spool', formatVersion: 1, queues, workers: [beat('me', 1)] } });
    expect(JSON.stringify(report).length).toBeLessThanOrEqual(MAX_REPORT_BYTES);
    expect(report.queuesOmitted).toBe(200);
    expect(report.totals.waiting).toBe(200);
  });
});

describe('parseHealthArgs', () => {
  it('parses thresholds, role and queues', () => {
    const a = parseHealthArgs(['--role', 'worker', '--max-waiting', '5', '--max-age-ms', '100', '--stale-after-ms', '50', '--strict', '--queues', 'a, b'], {});
    expect(a).toMatchObject({ role: 'worker', maxWaiting: 5, maxAgeMs: 100, staleAfterMs: 50, strict: true, queues: ['a', 'b'], errors: [] });
  });

  it('turns bad flags and bad roles into reasons instead of throwing', () => {
    expect(parseHealthArgs(['--bogus'], {}).errors[0]).toMatch(/Bad arguments for spoolkit health: unknown option --bogus\. Fix/);
    expect(parseHealthArgs(['--max-waiting', 'lots'], {}).errors[0]).toMatch(/--max-waiting must be a whole number >= 0; got "lots"/);
    expect(parseHealthArgs([], { SPOOLKIT_ROLE: 'cook' }).errors[0]).toMatch(/SPOOLKIT_ROLE must be one of/);
  });
});
