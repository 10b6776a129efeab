// The testing kit proven on a tiny stand-alone fixture app (test/containers/fixtures/mini):
// images built through the engine API, a compose stack with two workers brought up healthy,
// the web URL on 127.0.0.1, exec, health-log backlog, `spoolkit ps`, and a teardown that
// leaves no container, network, volume or image behind.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { connectDocker } from '../../src/docker/index.js';
import { buildImages, startStack, sweepStacks, waitFor, type Stack, type StackImages } from '../../src/testing/index.js';
import { runCli } from './helpers/run-cli.js';

const appDir = path.join(import.meta.dirname, 'fixtures/mini');
const docker = connectDocker();
let images: StackImages;
let stack: Stack | undefined;

function dumpLogsOnFailure(): void {
  onTestFailed(async () => {
    if (stack) console.error(`--- logs of ${stack.project} ---\n${await stack.logs().catch((e: unknown) => String(e))}`);
  });
}

beforeAll(async () => {
  await sweepStacks();
  images = await buildImages({ appDir, imageName: 'spoolkit-test/mini' });
  stack = await startStack({ appDir, images, composeWait: true });
});

afterAll(async () => {
  await stack?.down();
  await images?.remove();
});

describe('testing kit on the fixture app', () => {
  it('builds one image per target and starts web plus two healthy workers', async () => {
    dumpLogsOnFailure();
    expect(images.tags.sort()).toEqual(['spoolkit-test/mini:web', 'spoolkit-test/mini:worker']);
    const rows = await stack!.containers();
    expect(rows.map((r) => `${r.service}#${r.replica}`).sort()).toEqual(['web#1', 'worker#1', 'worker#2']);
    for (const r of rows) {
      expect(r.state).toBe('running');
      expect(r.health).toBe('healthy');
    }
    expect(stack!.webUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('publishes the web port on 127.0.0.1 only and round-trips a job through the shared volume', async () => {
    dumpLogsOnFailure();
    const inspect = await docker.getContainer(await stack!.containerId('web')).inspect();
    const bindings = inspect.NetworkSettings.Ports['3000/tcp'] ?? [];
    expect(bindings.length).toBeGreaterThan(0);
    for (const b of bindings) expect(b.HostIp).toBe('127.0.0.1');
    const posted = await stack!.fetch('/jobs', { method: 'POST' });
    expect(posted.status).toBe(202);
    const { id } = (await posted.json()) as { id: string };
    const done = await waitFor(async () => {
      const r = await stack!.fetch(`/jobs/${id}`);
      return r.status === 200 ? ((await r.json()) as { state: string; by: string }) : false;
    }, { timeoutMs: 10_000, intervalMs: 50, what: 'the job to complete' });
    expect(done.state).toBe('completed');
    const workers = (await stack!.containers('worker')).map((r) => r.id.slice(0, 12));
    expect(workers).toContain(done.by);
  });

  it('runs as a non-root user with tini as PID 1', async () => {
    dumpLogsOnFailure();
    const id = await stack!.exec('worker', ['id', '-u']);
    expect(id.exitCode).toBe(0);
    expect(id.stdout.trim()).not.toBe('0');
    const comm = await stack!.exec('worker', ['cat', '/proc/1/comm'], { replica: 2 });
    expect(comm.stdout.trim()).toBe('tini');
    const failing = await stack!.exec('worker', ['sh', '-c', 'echo oops >&2; exit 3']);
    expect(failing).toEqual({ exitCode: 3, stdout: '', stderr: 'oops\n' });
  });

  it('reads the backlog from the engine health log, in the kit and in `spoolkit ps`', async () => {
    dumpLogsOnFailure();
    // Park a few jobs where the toy workers do not look, so the backlog stays put.
    const park = await stack!.exec('web', ['sh', '-c', 'for i in 1 2 3 4 5; do echo {} > /spool/new/.parked-$i; done; mkdir -p /spool/x']);
    expect(park.exitCode).toBe(0);
    const row = await waitFor(async () => {
      const rows = await stack!.containers('web');
      return rows[0]?.backlog && rows[0].backlog.waiting >= 5 ? rows[0] : false;
    }, { timeoutMs: 20_000, intervalMs: 250, what: 'the healthcheck to report 5 waiting' });
    expect(row.backlog?.status).toBe('ok');
    expect(row.probeExitCode).toBe(0);

    const json = await runCli(['ps', '--project', stack!.project, '--json']);
    expect(json.code).toBe(0);
    const rows = JSON.parse(json.stdout) as { service: string; role: string; health: string; backlog: { waiting: number } | null }[];
    expect(rows.map((r) => r.service).sort()).toEqual(['web', 'worker', 'worker']);
    expect(rows.find((r) => r.service === 'web')?.backlog?.waiting).toBeGreaterThanOrEqual(5);
    expect(rows.filter((r) => r.role === 'worker')).toHaveLength(2);

    const table = await runCli(['ps', '--project', stack!.project]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^SERVICE\s+CONTAINER\s+ROLE\s+STATE\s+HEALTH\s+WAITING/);
    expect(lines).toHaveLength(4);
    expect(lines.find((l) => l.startsWith('web'))).toMatch(/\bweb\s+running\s+healthy\s+[5-9]\b/);

    // Without --project, the image label finds the same containers.
    const all = await runCli(['ps', '--json']);
    const mine = (JSON.parse(all.stdout) as { project: string }[]).filter((r) => r.project === stack!.project);
    expect(mine).toHaveLength(3);
  });

  it('tears down every container, network and volume of the project', async () => {
    const project = stack!.project;
    await stack!.down();
    const label = `com.docker.compose.project=${project}`;
    expect(await docker.listContainers({ all: true, filters: { label: [label] } })).toEqual([]);
    expect(await docker.listNetworks({ filters: { label: [label] } })).toEqual([]);
    expect((await docker.listVolumes({ filters: { label: [label] } })).Volumes ?? []).toEqual([]);
    stack = undefined;
  });
});

describe('a stack of workers only', () => {
  it('has no web URL, and down() does not wait out a worker that takes a minute to stop', async () => {
    const workers = await startStack({ appDir, images, services: ['worker'], serviceEnv: { worker: { TOY_STOP_DELAY_MS: '60000' } } });
    try {
      expect(workers.webUrl).toBeNull();
      expect((await workers.containers()).map((r) => r.service)).toEqual(['worker', 'worker']);
    } finally {
      const started = Date.now();
      await workers.down();
      // The app's own grace (stop_grace_period 10s) would hold a test hook past vitest's 10 s.
      expect(Date.now() - started).toBeLessThan(8000);
    }
    const label = `com.docker.compose.project=${workers.project}`;
    expect(await docker.listContainers({ all: true, filters: { label: [label] } })).toEqual([]);
  });
});

describe('`spoolkit ps` without an engine', () => {
  it('exits 1 with a message naming the fix', async () => {
    const r = await runCli(['ps'], { DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no Docker engine answers at unix:\/\/\/nonexistent\/docker\.sock.*Start Docker/);
    expect(r.stdout).toBe('');
  });
});
