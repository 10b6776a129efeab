// End to end: the repository's example app, with the Dockerfile and compose.yaml that
// `spoolkit init` generated, built and run in real containers. One build serves every test;
// the split stack (web + workers on one spool volume) is shared by the tests in order, and the
// `all` role and the broken setups get their own containers and fresh volumes.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDocker } from '../../src/docker/index.js';
import { buildImages, composeConfig, startStack, sweepStacks, waitFor, type ResolvedService, type Stack, type StackImages } from '../../src/testing/index.js';
import { activeJobIds, addJobs, counts, generatedStackPresent, getWebJob, KEEP, logsOnFailure, postJob, processTree, repo, snapshotJobs, waitFinished } from './helpers/e2e.js';
import { runCli } from './helpers/run-cli.js';

const docker = connectDocker();
let images: StackImages | undefined;
let stack: Stack | undefined;
let webService: ResolvedService;
let spoolDir: string;
const timings: Record<string, number> = {};

describe.skipIf(!generatedStackPresent)('the generated stack, end to end', () => {
  beforeAll(async () => {
    await sweepStacks();
    const started = Date.now();
    images = await buildImages({ appDir: repo, imageName: 'spoolkit-test/e2e' });
    timings.buildSeconds = (Date.now() - started) / 1000;
    const config = await composeConfig({ name: 'spoolkit-e2e-config', cwd: repo, files: ['compose.yaml'] });
    webService = config.services.web as ResolvedService;
    spoolDir = String(webService.environment?.SPOOLKIT_SPOOL ?? '');
  });

  afterAll(async () => {
    await stack?.down();
    await images?.remove();
    console.log(`e2e timings: ${JSON.stringify(timings)}`);
  });

  it('1. builds web and worker images: non-root user, tini entrypoint, no dev dependencies', async () => {
    expect(images!.services.web).toBeDefined();
    expect(images!.services.worker).toBeDefined();
    const worker = await docker.getImage(images!.services.worker as string).inspect();
    expect(worker.Config.User).toBeTruthy();
    expect(worker.Config.User).not.toMatch(/^(0|root)(:|$)/);
    expect(worker.Config.Entrypoint?.[0]).toMatch(/tini$/);
    expect(worker.Config.Healthcheck?.Test?.join(' ')).toMatch(/health/);
    // No dev dependency is installed in the image; runtime ones are.
    const probe = await runInImage(images!.services.worker as string, ['node', '-e', `
      const has = (m) => require('node:fs').existsSync(require('node:path').join(process.cwd(), 'node_modules', m, 'package.json'));
      console.log(JSON.stringify({ uid: process.getuid(), dev: ['vitest', 'typescript', 'tsx', 'zx', 'bullmq'].filter(has), prod: ['commander', 'fastq'].filter(has) }));`]);
    expect(probe.exitCode).toBe(0);
    const facts = JSON.parse(probe.stdout) as { uid: number; dev: string[]; prod: string[] };
    expect(facts.uid).not.toBe(0);
    expect(facts.dev).toEqual([]);
    expect(facts.prod).toEqual(['commander', 'fastq']);
  });

  it('2. `docker compose up --wait` starts web and two workers, healthy, on a fresh volume', async () => {
    const started = Date.now();
    stack = await startStack({ appDir: repo, images, composeWait: true });
    timings.upSeconds = (Date.now() - started) / 1000;
    logsOnFailure(() => stack);
    const rows = await stack.containers();
    expect(rows.map((r) => `${r.service}#${r.replica}`).sort()).toEqual(['web#1', 'worker#1', 'worker#2']);
    for (const r of rows) expect([r.state, r.health]).toEqual(['running', 'healthy']);
    expect(rows.find((r) => r.service === 'worker')?.role).toBe('worker');
    const volumes = (await docker.listVolumes({ filters: { label: [`com.docker.compose.project=${stack.project}`] } })).Volumes ?? [];
    expect(volumes).toHaveLength(1);
    // PID 1 is an init (Docker's, which is tini, or the image's tini); node runs under tini, with no npm or shell in between.
    const procs = await processTree(stack, 'worker');
    const byPid = new Map(procs.map((p) => [p.pid, p]));
    expect(['tini', 'docker-init']).toContain(byPid.get(1)?.comm);
    const main = procs.find((p) => p.comm === 'node' && (byPid.get(p.ppid)?.comm === 'tini' || p.ppid === 1));
    expect(main, JSON.stringify(procs)).toBeDefined();
    expect(procs.map((p) => p.comm)).not.toContain('npm');
    const ancestry: string[] = [];
    for (let p = main; p && p.pid !== 0; p = byPid.get(p.ppid)) ancestry.push(p.comm);
    expect(ancestry.filter((c) => c === 'sh' || c === 'bash')).toEqual([]);
  });

  it('3. HTTP requests enqueue jobs that run in the workers; the web container reads progress and results', async () => {
    logsOnFailure(() => stack);
    const id = await postJob(stack!, 'echo', { hello: 'spool' });
    const echoed = await waitFinished(stack!, id);
    expect(echoed.state).toBe('completed');
    expect((echoed.returnvalue as { echoed: unknown }).echoed).toEqual({ hello: 'spool' });
    // From written to started, as the spool recorded it (reported, not asserted: timing goes to benchmarks).
    timings.echoPickupMs = (echoed.processedOn ?? 0) - echoed.timestamp;

    const workerHosts = new Set((await stack!.containers('worker')).map((r) => r.id.slice(0, 12)));
    const steps = await postJob(stack!, 'steps', { steps: 5, stepMs: 300 });
    const seen = new Set<number>();
    const done = await waitFor(async () => {
      const job = await getWebJob(stack!, steps);
      if (typeof job.progress === 'number') seen.add(job.progress);
      return job.state === 'completed' ? job : false;
    }, { timeoutMs: 30_000, intervalMs: 50, what: 'the steps job to complete' });
    expect([...seen].some((p) => p > 0 && p < 100)).toBe(true);
    // The last progress update (100) is awaited before the processor returns, so the completed job
    // read back through the web container must show it.
    expect(done.progress).toBe(100);
    const result = done.returnvalue as { steps: number; host: string };
    expect(result.steps).toBe(5);
    expect(workerHosts.has(result.host)).toBe(true);

    // The spool client sees the same spool: heartbeats from exactly the two worker containers,
    // and `spoolkit status --json` run inside the stack counts the finished jobs.
    const status = await stack!.spool.status(['demo']);
    expect(new Set(status.workers.map((w) => String(w.hostname)))).toEqual(workerHosts);
    const cli = await stack!.spool.cli(['status', '--json', '--queues', 'demo']);
    expect(cli.exitCode).toBe(0);
    expect(JSON.stringify(JSON.parse(cli.stdout))).toContain('"demo"');
  });

  it('4. the engine health log and `spoolkit ps` show the backlog while a burst drains', async () => {
    logsOnFailure(() => stack);
    const ids = await addJobs(stack!, 300, 'steps', { steps: 2, stepMs: 150 });
    const seenInLog = await waitFor(async () => {
      const rows = await stack!.containers();
      const row = rows.find((r) => (r.backlog?.waiting ?? 0) > 0);
      return row ? { row, rows } : false;
    }, { timeoutMs: 30_000, intervalMs: 200, what: 'a healthcheck reporting waiting jobs' });
    // A backlog alone never makes a container unhealthy.
    for (const r of seenInLog.rows) expect(r.health).toBe('healthy');
    expect(seenInLog.row.probeExitCode).toBe(0);
    const ps = await waitFor(async () => {
      const r = await runCli(['ps', '--project', stack!.project, '--json']);
      const rows = JSON.parse(r.stdout) as { service: string; backlog: { waiting: number } | null }[];
      return rows.some((x) => (x.backlog?.waiting ?? 0) > 0) ? rows : false;
    }, { timeoutMs: 20_000, intervalMs: 200, what: '`spoolkit ps` showing waiting jobs' });
    expect(ps.map((r) => r.service).sort()).toEqual(['web', 'worker', 'worker']);
    // The burst drains completely, and the health log catches up.
    await waitFor(async () => ((await counts(stack!)).completed ?? 0) >= ids.length + 2, { timeoutMs: 120_000, intervalMs: 500, what: 'the burst to drain' });
    await waitFor(async () => (await stack!.containers()).every((r) => r.backlog?.waiting === 0), { timeoutMs: 30_000, intervalMs: 500, what: 'the health log to show an empty backlog' });
  });

  it('5. SIGKILL of a worker in the middle of long jobs: every job completes, none twice under a live lease, none lost', async () => {
    logsOnFailure(() => stack);
    const ids = await addJobs(stack!, 12, 'steps', { steps: 10, stepMs: 400 });
    const victim = await stack!.containerId('worker', 1);
    // Heartbeats are written every few seconds, so their running count may be stale; read the
    // claimed jobs from the spool instead: once both workers have filled every slot, the victim
    // holds its share of 4-second jobs for certain.
    const { slots, victimSlots } = await waitFor(async () => {
      const status = await stack!.spool.status(['demo']);
      const concurrency = status.workers.map((w) => Number(w.concurrency)).filter((n) => n > 0);
      const mine = status.workers.find((w) => String(w.hostname) === victim.slice(0, 12));
      return concurrency.length >= 2 && mine ? { slots: concurrency.reduce((a, b) => a + b, 0), victimSlots: Number(mine.concurrency) } : false;
    }, { timeoutMs: 30_000, intervalMs: 200, what: 'heartbeats from both workers' });
    await waitFor(async () => (await activeJobIds(stack!)).filter((id) => ids.includes(id)).length >= Math.min(ids.length, slots), { timeoutMs: 30_000, intervalMs: 50, what: 'every worker slot to hold a job' });
    const killAt = Date.now();
    await docker.getContainer(victim).kill({ signal: 'SIGKILL' });
    // Right after the kill, every job the victim held is still active under its (now dead) lease.
    const activeAtKill = new Set((await snapshotJobs(stack!)).filter((j) => j.state === 'active').map((j) => j.id));
    const finished = await waitFor(async () => {
      const jobs = (await snapshotJobs(stack!)).filter((j) => ids.includes(j.id));
      return jobs.length === ids.length && jobs.every((j) => j.state === 'completed' || j.state === 'failed') ? jobs : false;
    }, { timeoutMs: 180_000, intervalMs: 1000, what: 'every job to finish after the kill' });
    timings.killRecoverySeconds = (Date.now() - killAt) / 1000;
    expect(finished.filter((j) => j.state !== 'completed')).toEqual([]);
    const rerun = finished.filter((j) => (j.processedOn ?? 0) > killAt && activeAtKill.has(j.id));
    // Jobs restarted after the kill were ones held at the kill; a job whose lease was live elsewhere never restarted.
    for (const j of finished) {
      if (j.attemptsStarted !== undefined) expect(j.attemptsStarted).toBeLessThanOrEqual(2);
      if ((j.attemptsStarted ?? 1) > 1 || (j.stalledCounter ?? 0) > 0) expect(activeAtKill.has(j.id)).toBe(true);
    }
    expect(rerun.length).toBeGreaterThan(0);
    const restarted = finished.filter((j) => (j.attemptsStarted ?? 1) > 1);
    expect(restarted.length).toBeGreaterThan(0);
    // At most the victim's slots were run again: nothing held by the live worker restarted.
    expect(restarted.length).toBeLessThanOrEqual(victimSlots);
    // Bring the stack back to two healthy workers for the next tests.
    await stack!.compose(['up', '--detach', '--no-build', '--pull', 'never']);
    await stack!.waitHealthy();
  });

  it('7. scaling workers up and down while jobs flow loses nothing', async () => {
    logsOnFailure(() => stack);
    const ids = await addJobs(stack!, 80, 'steps', { steps: 2, stepMs: 100 });
    await stack!.compose(['up', '--detach', '--no-build', '--pull', 'never', '--no-recreate', '--scale', 'worker=4']);
    await waitFor(async () => (await snapshotJobs(stack!)).filter((j) => ids.includes(j.id) && j.state === 'completed').length >= 20, { timeoutMs: 60_000, intervalMs: 300, what: '20 jobs to complete' });
    await stack!.compose(['up', '--detach', '--no-build', '--pull', 'never', '--no-recreate', '--scale', 'worker=1']);
    const jobs = await waitFor(async () => {
      const all = (await snapshotJobs(stack!)).filter((j) => ids.includes(j.id));
      return all.length === ids.length && all.every((j) => j.state === 'completed' || j.state === 'failed') ? all : false;
    }, { timeoutMs: 180_000, intervalMs: 1000, what: 'all 80 jobs to finish' });
    expect(jobs.filter((j) => j.state !== 'completed').map((j) => `${j.id}: ${j.failedReason}`)).toEqual([]);
    expect((await stack!.containers('worker')).filter((r) => r.state === 'running')).toHaveLength(1);
    await stack!.compose(['up', '--detach', '--no-build', '--pull', 'never', '--no-recreate', '--scale', 'worker=3']);
    await stack!.waitHealthy();
  });

  it('8. a job scheduler ticks exactly once per run with three worker replicas', async () => {
    logsOnFailure(() => stack);
    expect((await stack!.containers('worker')).filter((r) => r.state === 'running')).toHaveLength(3);
    await stack!.spool.run(`const q = new spoolkit.Queue('demo'); try { await q.upsertJobScheduler('e2e-tick', { every: 1000 }, { name: 'echo', data: { tick: true }, opts: ${JSON.stringify(KEEP)} }); } finally { await q.close(); }`);
    const ticks = await waitFor(async () => {
      const jobs = (await snapshotJobs(stack!)).filter((j) => j.id.startsWith('repeat:e2e-tick:') && j.state === 'completed');
      return jobs.length >= 5 ? jobs : false;
    }, { timeoutMs: 120_000, intervalMs: 500, what: 'five scheduler runs to complete' });
    await stack!.spool.run(`const q = new spoolkit.Queue('demo'); try { await q.removeJobScheduler('e2e-tick'); } finally { await q.close(); }`);
    const all = (await snapshotJobs(stack!)).filter((j) => j.id.startsWith('repeat:e2e-tick:'));
    const millis = all.map((j) => Number(j.id.split(':').pop())).sort((a, b) => a - b);
    // One job per run time, every run time on the 1-second grid (runs missed while no pass ran are
    // skipped by the missed-run policy, so gaps are allowed; duplicates are not).
    expect(new Set(millis).size).toBe(millis.length);
    const gaps = millis.slice(1).map((m, i) => m - (millis[i] as number));
    for (const gap of gaps) expect(gap % 1000).toBe(0);
    timings.schedulerRuns = millis.length;
    timings.schedulerMaxGapMs = Math.max(0, ...gaps);
    for (const j of ticks) {
      expect(j.attemptsMade).toBeLessThanOrEqual(1);
      if (j.attemptsStarted !== undefined) expect(j.attemptsStarted).toBe(1);
    }
  });

  it('6. `docker compose stop` lets running jobs finish, workers exit 0, nothing is left active', async () => {
    logsOnFailure(() => stack);
    const ids = await addJobs(stack!, 9, 'steps', { steps: 8, stepMs: 500 });
    const activeAtStop = await waitFor(async () => {
      const active = (await activeJobIds(stack!)).filter((id) => ids.includes(id));
      return active.length > 0 ? active : false;
    }, { timeoutMs: 30_000, intervalMs: 100, what: 'a job to be active' });
    const workers = (await stack!.containers('worker')).map((r) => r.id);
    const stopAt = Date.now();
    await stack!.compose(['stop'], { timeoutMs: 120_000 });
    timings.stopSeconds = (Date.now() - stopAt) / 1000;
    for (const id of workers) {
      const state = (await docker.getContainer(id).inspect()).State;
      expect({ status: state.Status, exitCode: state.ExitCode, oom: state.OOMKilled }).toEqual({ status: 'exited', exitCode: 0, oom: false });
    }
    // Look at the spool from the web container alone, with no worker running.
    await stack!.compose(['up', '--detach', '--no-build', '--pull', 'never', '--no-deps', 'web']);
    await waitFor(async () => (await stack!.containers('web'))[0]?.state === 'running', { timeoutMs: 30_000, what: 'web to run' });
    const after = (await snapshotJobs(stack!)).filter((j) => ids.includes(j.id));
    expect(after).toHaveLength(ids.length);
    expect(after.filter((j) => j.state === 'active')).toEqual([]);
    expect(after.filter((j) => j.state === 'failed')).toEqual([]);
    for (const id of activeAtStop) expect(after.find((j) => j.id === id)?.state).toBe('completed');
    const c = await counts(stack!);
    expect(c.active ?? 0).toBe(0);
    await stack!.down();
    stack = undefined;
  });

  it('9. the `all` role in one container passes the same round trip', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'spoolkit-all-'));
    try {
      const { depends_on: _dependsOn, deploy: _deploy, ...web } = webService;
      const file = path.join(dir, 'compose.all.yaml');
      await writeFile(file, JSON.stringify({ services: { web: { ...web, environment: { ...web.environment, SPOOLKIT_ROLE: 'all' } } }, volumes: { spool: {} } }, null, 2));
      stack = await startStack({ appDir: repo, composeFiles: [file], images: { ...images!, services: { web: images!.services.web as string } }, composeWait: true });
      logsOnFailure(() => stack);
      const rows = await stack.containers();
      expect(rows.map((r) => [r.service, r.role, r.health])).toEqual([['web', 'all', 'healthy']]);
      const id = await postJob(stack, 'steps', { steps: 3, stepMs: 200 });
      const done = await waitFinished(stack, id);
      expect(done.state).toBe('completed');
      expect(done.progress).toBe(100);
      expect((done.returnvalue as { host: string }).host).toBe(rows[0]?.id.slice(0, 12));
      const echo = await postJob(stack, 'echo', { n: 1 });
      expect(((await waitFinished(stack, echo)).returnvalue as { echoed: unknown }).echoed).toEqual({ n: 1 });
    } finally {
      await stack?.down();
      stack = undefined;
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe('10. a broken setup fails loudly and clearly', () => {
    it('a spool volume owned by another uid: the worker stops and names the owner and the fix', async () => {
      const volume = `spoolkit-test-${Date.now().toString(36)}-rootowned`;
      await docker.createVolume({ Name: volume, Labels: { 'com.docker.compose.project': `${volume}` } });
      try {
        // A volume a root container already wrote to (not empty, so Docker does not copy the
        // image's ownership into it on the next mount).
        const chown = await runInImage(images!.services.worker as string, ['sh', '-c', `chown 0:0 ${spoolDir} && chmod 755 ${spoolDir} && echo root > ${spoolDir}/.written-by-root`], { user: '0', binds: [`${volume}:${spoolDir}`], entrypoint: [] });
        expect(chown.exitCode).toBe(0);
        const r = await runInImage(images!.services.worker as string, [], { binds: [`${volume}:${spoolDir}`], env: ['SPOOLKIT_ROLE=worker'] });
        expect(r.exitCode).not.toBe(0);
        const text = r.stdout + r.stderr;
        expect(text).toMatch(/not writable/i);
        expect(text).toMatch(/uid 0\b/);
        expect(text).toMatch(/chown/i);
      } finally {
        await docker.getVolume(volume).remove({ force: true }).catch(() => undefined);
      }
    });

    it('a missing spool: the worker stops and names the path', async () => {
      const r = await runInImage(images!.services.worker as string, [], { env: ['SPOOLKIT_ROLE=worker', 'SPOOLKIT_SPOOL=/nonexistent/spool'] });
      expect(r.exitCode).not.toBe(0);
      expect(r.stdout + r.stderr).toContain('/nonexistent/spool');
    });

    it('an unknown role: exit 2 and the list of roles', async () => {
      const r = await runInImage(images!.services.worker as string, [], { env: ['SPOOLKIT_ROLE=wroker'] });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(/wroker/);
      expect(r.stderr).toMatch(/web/);
      expect(r.stderr).toMatch(/worker/);
    });
  });
});

/** Runs a one-off container from an image, waits (bounded) for it to exit, returns its output, removes it. */
async function runInImage(
  image: string,
  cmd: string[],
  options: { user?: string; binds?: string[]; env?: string[]; entrypoint?: string[]; timeoutMs?: number } = {},
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const create: Docker.ContainerCreateOptions = {
    Image: image,
    Cmd: cmd.length > 0 ? cmd : undefined,
    User: options.user,
    Env: options.env,
    Labels: { 'com.docker.compose.project': 'spoolkit-test-oneoff' },
    HostConfig: { Binds: options.binds, NetworkMode: 'none' },
  };
  if (options.entrypoint) create.Entrypoint = options.entrypoint.length > 0 ? options.entrypoint : [''];
  const container = await docker.createContainer(create);
  try {
    await container.start();
    const exited = (await Promise.race([
      container.wait(),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`${image} ${cmd.join(' ')} did not exit within ${options.timeoutMs ?? 60_000} ms`)), options.timeoutMs ?? 60_000)),
    ])) as { StatusCode: number };
    const logs = (await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
    const { stdout, stderr } = demux(logs);
    return { exitCode: exited.StatusCode, stdout, stderr };
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
  }
}

/** Splits the engine's multiplexed log stream (8-byte frame headers) into stdout and stderr. */
function demux(buf: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const kind = buf[i];
    const size = buf.readUInt32BE(i + 4);
    const chunk = buf.subarray(i + 8, i + 8 + size);
    (kind === 2 ? err : out).push(chunk);
    i += 8 + size;
  }
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}
