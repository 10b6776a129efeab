import { describe, expect, it } from 'vitest';
import { backlogFromHealthLog, parseHealthOutput } from '../../src/docker/health-report.js';

describe('parseHealthOutput', () => {
  it('sums per-queue counts and keeps the oldest waiting age', () => {
    const line = JSON.stringify({
      status: 'backlogged',
      queues: {
        a: { counts: { waiting: 3, active: 1, delayed: 2, prioritized: 0, completed: 7, failed: 1 }, oldestWaitingAgeMs: 1200 },
        b: { counts: { waiting: 4, active: 2, delayed: 0, prioritized: 5, completed: 0, failed: 0 }, oldestWaitingAgeMs: 5400 },
      },
      workers: { live: 3 },
    });
    const b = parseHealthOutput(`${line}\n`);
    expect(b).toMatchObject({ status: 'backlogged', waiting: 7, active: 3, delayed: 2, prioritized: 5, completed: 7, failed: 1, oldestWaitingAgeMs: 5400, liveWorkers: 3 });
  });

  it('reads the line `spoolkit health` prints: totals win over trimmed per-queue entries', () => {
    const line = JSON.stringify({
      status: 'ok', role: 'worker', totals: { waiting: 40, active: 8, delayed: 1, prioritized: 0, completed: 100, failed: 2, 'waiting-children': 0 },
      oldestWaitingAgeMs: 2500, queues: { demo: { waiting: 10, active: 8, delayed: 1, prioritized: 0, completed: 100, failed: 2, oldestWaitingAgeMs: 2500, paused: false, corrupt: 0 } },
      queuesOmitted: 3, workers: { live: 2, stale: 0 }, heartbeatAgeMs: 800,
    });
    expect(parseHealthOutput(line)).toMatchObject({ status: 'ok', waiting: 40, active: 8, delayed: 1, completed: 100, failed: 2, oldestWaitingAgeMs: 2500, liveWorkers: 2 });
  });

  it('sums flattened per-queue counts when there is no total', () => {
    const line = JSON.stringify({ queues: { a: { waiting: 2, active: 1 }, b: { waiting: 3, oldestWaitingAgeMs: 70 } } });
    expect(parseHealthOutput(line)).toMatchObject({ waiting: 5, active: 1, oldestWaitingAgeMs: 70 });
  });

  it('reads the flat shape and a worker array', () => {
    const b = parseHealthOutput(JSON.stringify({ status: 'ok', counts: { waiting: 0, active: 2 }, oldestWaitingAgeMs: null, workers: [{}, {}] }));
    expect(b).toMatchObject({ status: 'ok', waiting: 0, active: 2, oldestWaitingAgeMs: null, liveWorkers: 2 });
  });

  it('takes the last JSON line and skips noise and broken JSON', () => {
    const out = ['warning: something', '{"status":"old","counts":{"waiting":1}}', '{"status":"new","counts":{"waiting":9}}', '{broken'].join('\n');
    expect(parseHealthOutput(out)?.status).toBe('new');
    expect(parseHealthOutput(out)?.waiting).toBe(9);
  });

  it('returns null when the probe printed no JSON object', () => {
    expect(parseHealthOutput('')).toBeNull();
    expect(parseHealthOutput('OCI runtime exec failed')).toBeNull();
    expect(parseHealthOutput('[1,2]')).toBeNull();
  });

  it('ignores non-numeric counts instead of producing NaN', () => {
    const b = parseHealthOutput(JSON.stringify({ counts: { waiting: 'x', active: Infinity, failed: 2 } }));
    expect(b).toMatchObject({ waiting: 0, active: 0, failed: 2, status: null, liveWorkers: null });
  });
});

describe('backlogFromHealthLog', () => {
  it('uses the newest entry', () => {
    const log = [
      { ExitCode: 0, Output: '{"counts":{"waiting":1}}' },
      { ExitCode: 0, Output: '{"counts":{"waiting":2}}' },
    ];
    expect(backlogFromHealthLog(log)?.waiting).toBe(2);
    expect(backlogFromHealthLog([])).toBeNull();
    expect(backlogFromHealthLog(undefined)).toBeNull();
  });
});
