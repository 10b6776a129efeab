import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { isSpoolkitContainer, roleOf, rowOf } from '../../src/docker/containers.js';
import { formatAge, formatRows } from '../../src/docker/format.js';

function inspect(overrides: { labels?: Record<string, string>; env?: string[]; cmd?: string[]; entrypoint?: string[]; health?: unknown; test?: string[]; state?: string; exitCode?: number; name?: string }): Docker.ContainerInspectInfo {
  return {
    Id: 'abcdef0123456789',
    Name: overrides.name ?? '/proj-worker-2',
    Image: 'sha256:1',
    Config: {
      Labels: overrides.labels ?? {},
      Env: overrides.env ?? [],
      Cmd: overrides.cmd ?? [],
      Entrypoint: overrides.entrypoint ?? [],
      Image: 'app:worker',
      Healthcheck: overrides.test ? { Test: overrides.test } : undefined,
    },
    State: { Status: overrides.state ?? 'running', ExitCode: overrides.exitCode ?? 0, Health: overrides.health },
  } as unknown as Docker.ContainerInspectInfo;
}

describe('roleOf', () => {
  it('follows the entrypoint: a role argument, then SPOOLKIT_ROLE, then a role in the command', () => {
    expect(roleOf(inspect({ labels: { 'dev.spoolkit.role': 'web' }, env: ['SPOOLKIT_ROLE=web'], cmd: ['worker'] }))).toBe('worker');
    expect(roleOf(inspect({ labels: { 'dev.spoolkit.role': 'web' }, env: ['SPOOLKIT_ROLE=web', 'SPOOLKIT_ROLE=all'] }))).toBe('all');
    expect(roleOf(inspect({ entrypoint: ['/usr/bin/tini', '--', 'spoolkit', 'entrypoint', 'scheduler'], cmd: ['--poll-interval', '1000'] }))).toBe('scheduler');
  });

  it('uses the image label only when nothing else says', () => {
    expect(roleOf(inspect({ labels: { 'dev.spoolkit.role': 'worker' }, cmd: ['node', 'x.js'] }))).toBe('worker');
  });

  it('falls back to the role the last healthcheck reported, else null', () => {
    const health = { Status: 'healthy', Log: [{ ExitCode: 0, Output: '{"role":"worker","counts":{}}' }] };
    expect(roleOf(inspect({ cmd: ['node', 'x.js'], health }))).toBe('worker');
    expect(roleOf(inspect({ cmd: ['node', 'x.js'] }))).toBeNull();
  });
});

describe('isSpoolkitContainer', () => {
  it('recognises the image label, SPOOLKIT_ variables and a spoolkit healthcheck', () => {
    expect(isSpoolkitContainer(inspect({ labels: { 'dev.spoolkit.app': 'shop' } }))).toBe(true);
    expect(isSpoolkitContainer(inspect({ env: ['SPOOLKIT_SPOOL=/spool'] }))).toBe(true);
    expect(isSpoolkitContainer(inspect({ test: ['CMD', 'spoolkit', 'health'] }))).toBe(true);
    expect(isSpoolkitContainer(inspect({ labels: { other: 'x' }, env: ['PATH=/bin'], test: ['CMD', 'curl', 'localhost'] }))).toBe(false);
  });
});

describe('rowOf and formatRows', () => {
  it('gives a restarting container the code of the exit that made it restart', () => {
    expect(rowOf(inspect({ state: 'restarting', exitCode: 1 })).exitCode).toBe(1);
    expect(rowOf(inspect({ state: 'exited', exitCode: 3 })).exitCode).toBe(3);
    expect(rowOf(inspect({ state: 'running', exitCode: 0 })).exitCode).toBeNull();
  });

  it('builds a row from compose labels and the health log, and renders it', () => {
    const row = rowOf(
      inspect({
        labels: { 'com.docker.compose.project': 'proj', 'com.docker.compose.service': 'worker', 'com.docker.compose.container-number': '2' },
        cmd: ['worker'],
        health: { Status: 'healthy', FailingStreak: 0, Log: [{ End: '2026-01-01T00:00:00Z', ExitCode: 0, Output: '{"status":"backlogged","counts":{"waiting":12,"active":4},"oldestWaitingAgeMs":65000,"liveWorkers":2}\n' }] },
      }),
    );
    expect(row).toMatchObject({ name: 'proj-worker-2', project: 'proj', service: 'worker', replica: 2, role: 'worker', state: 'running', exitCode: null, health: 'healthy', probeExitCode: 0, checkedAt: '2026-01-01T00:00:00Z' });
    expect(row.backlog?.waiting).toBe(12);
    const text = formatRows([row]);
    const [header, line] = text.trimEnd().split('\n');
    expect(header).toMatch(/^SERVICE\s+CONTAINER\s+ROLE\s+STATE\s+HEALTH\s+WAITING\s+ACTIVE\s+DELAYED\s+FAILED\s+OLDEST\s+WORKERS$/);
    expect(line?.split(/\s+/)).toEqual(['worker', 'proj-worker-2', 'worker', 'running', 'healthy', '12', '4', '0', '0', '1m05s', '2']);
  });

  it('shows an exited container with its exit code and no health', () => {
    const row = rowOf(inspect({ state: 'exited', exitCode: 137 }));
    expect(row.health).toBe('none');
    expect(row.backlog).toBeNull();
    expect(formatRows([row])).toMatch(/exited \(137\)\s+none\s+-/);
    expect(formatRows([])).toBe('no spoolkit containers found\n');
  });

  it('formats ages compactly', () => {
    expect([formatAge(850), formatAge(12_340), formatAge(245_000), formatAge(7_800_000)]).toEqual(['850ms', '12.3s', '4m05s', '2h10m']);
  });
});
