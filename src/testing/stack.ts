/**
 * A running compose stack for tests: images built through the engine API, the app's compose files
 * plus an override (prebuilt images, ports on 127.0.0.1 only, quick healthchecks), a wait until
 * every container is healthy, the web URL, a spool client, logs, and a teardown that removes every
 * container, network and volume of the project even after a failure.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { SpoolkitError } from '../errors.js';
import { connectDocker, assertEngine } from '../docker/client.js';
import { listContainerRows, type ContainerRow } from '../docker/containers.js';
import { COMPOSE_PROJECT_LABEL } from '../docker/labels.js';
import { compose, composeConfig, writeOverride, type ComposeProject, type ComposeRunOptions, type ServiceOverride } from './compose.js';
import { execInContainer, type ExecOptions, type ExecResult } from './exec.js';
import { buildImages, type StackImages } from './images.js';
import { createSpoolClient, type SpoolClient } from './spool-client.js';
import { withoutTerminalCodes } from './terminal.js';
import { waitFor } from './wait.js';

/** Options for {@link startStack}. */
export interface StartStackOptions {
  /** The app directory holding the compose files (default: process.cwd()). */
  appDir?: string;
  /** Compose files relative to appDir (default `['compose.yaml']`). */
  composeFiles?: string[];
  /** Compose project name (default `spoolkit-test-<random>`); everything created carries it. */
  projectName?: string;
  /** Prebuilt images (from {@link buildImages}); without them the stack builds its own and removes them on down. */
  images?: StackImages;
  /** Only start these services (and what they depend on). */
  services?: string[];
  /**
   * Seconds `down()` gives each container between SIGTERM and SIGKILL (default 1): a test stack's
   * running jobs do not matter at teardown, and a worker draining a long job would otherwise
   * hold the teardown (and a test hook) for the app's whole grace period.
   */
  downTimeoutSeconds?: number;
  /** Replicas per service (`--scale`). */
  scale?: Record<string, number>;
  /** The service serving HTTP (default `web` when the stack starts it; null for none). */
  webService?: string | null;
  /** Its container port (default: the first port the service publishes, else 3000). */
  webPort?: number;
  /** Environment added to every built service. */
  env?: Record<string, string>;
  /** Environment added per service. */
  serviceEnv?: Record<string, Record<string, string>>;
  /** Healthcheck timing for built services (default interval 1s, start period 60s); false keeps the app's. */
  healthcheck?: ServiceOverride['healthcheck'] | false;
  /** Wait at most this long for every container to be healthy (default 180 000 ms). */
  waitTimeoutMs?: number;
  /** Do not wait for health (a test expecting failure waits on its own). */
  noWait?: boolean;
  /**
   * Start with `docker compose up --wait` (compose itself waits for health) before the kit's own
   * check. Default false: the kit's check alone, which also copes with one-shot services.
   */
  composeWait?: boolean;
  /** Receives progress lines (build output, compose output). */
  onOutput?: (line: string) => void;
  docker?: Docker;
}

/** A running stack. Always call {@link Stack.down} (or use {@link withStack}). */
export interface Stack {
  /** Compose project name. */
  project: string;
  appDir: string;
  /** `http://127.0.0.1:<port>` of the web service, or null when there is none. */
  webUrl: string | null;
  /** Calls into the shared spool from inside a container. */
  spool: SpoolClient;
  docker: Docker;
  /** How to run compose for this project (app files plus the override). */
  composeProject: ComposeProject;
  /** Runs `docker compose <args>` for this project. */
  compose(args: string[], options?: ComposeRunOptions): Promise<ExecResult>;
  /** The project's containers with role, state, health and backlog. */
  containers(service?: string): Promise<ContainerRow[]>;
  /** Id of a service's container (replica numbers start at 1). */
  containerId(service: string, replica?: number): Promise<string>;
  /** Runs a command in a service's container. */
  exec(service: string, argv: string[], options?: ExecOptions & { replica?: number }): Promise<ExecResult>;
  /** `fetch` against the web URL. */
  fetch(pathname: string, init?: RequestInit): Promise<Response>;
  /** Waits until every running container is healthy; returns the rows. */
  waitHealthy(options?: { timeoutMs?: number }): Promise<ContainerRow[]>;
  /** The project's container logs (timestamps, no colour). */
  logs(options?: { tail?: number; services?: string[] }): Promise<string>;
  /** Removes every container, network and volume of the project (and images it built). Idempotent. */
  down(): Promise<void>;
}

/** Starts a stack and waits until it is healthy. On failure the error carries the containers' logs. */
export async function startStack(options: StartStackOptions = {}): Promise<Stack> {
  const docker = options.docker ?? connectDocker();
  await assertEngine(docker);
  const appDir = path.resolve(options.appDir ?? process.cwd());
  const name = options.projectName ?? `spoolkit-test-${randomBytes(4).toString('hex')}`;
  const files = (options.composeFiles ?? ['compose.yaml']).map((f) => path.resolve(appDir, f));
  const base: ComposeProject = { name, cwd: appDir, files };
  const config = await composeConfig(base);
  const say = options.onOutput ?? (() => undefined);

  const downTimeout = options.downTimeoutSeconds ?? 1;
  if (!Number.isInteger(downTimeout) || downTimeout < 0) throw new SpoolkitError('ERR_USAGE', `downTimeoutSeconds must be a whole number of seconds >= 0; got ${String(downTimeout)}.`);
  let images = options.images;
  const ownImages = !images;
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'spoolkit-stack-'));
  let downed = false;
  const project: ComposeProject = { ...base, files: [...files, path.join(tmp, 'compose.override.yaml')] };

  const down = async (): Promise<void> => {
    if (downed) return;
    downed = true;
    await compose(project, ['down', '--volumes', '--remove-orphans', '--timeout', String(downTimeout)], { check: false, timeoutMs: 120_000 }).catch(() => undefined);
    await removeProjectResources(docker, name);
    if (ownImages) await images?.remove();
    await rm(tmp, { recursive: true, force: true });
  };

  try {
    images ??= await buildImages({ appDir, composeFiles: files, imageName: `spoolkit-test/${name}`, onOutput: options.onOutput, docker });
    // Only a web service the stack starts can be the default (services: ['worker'] leaves it out).
    const startsWeb = !options.services || options.services.includes('web');
    const webService = options.webService === undefined ? (config.services.web && startsWeb ? 'web' : null) : options.webService;
    const webPort = webService ? (options.webPort ?? config.services[webService]?.ports?.[0]?.target ?? 3000) : null;
    const overrides: Record<string, ServiceOverride> = {};
    for (const service of Object.keys(config.services)) {
      const o: ServiceOverride = {};
      const tag = images.services[service];
      if (tag) {
        o.image = tag;
        if (options.healthcheck !== false) o.healthcheck = options.healthcheck ?? { interval: '1s', start_period: '60s', timeout: '10s', retries: 3 };
        if (options.env) o.environment = { ...options.env };
      }
      if (options.serviceEnv?.[service]) o.environment = { ...o.environment, ...options.serviceEnv[service] };
      if (service === webService && webPort) o.publish = [webPort];
      else if (config.services[service]?.ports?.length) o.publish = [];
      if (Object.keys(o).length > 0) overrides[service] = o;
    }
    await writeOverride(path.join(tmp, 'compose.override.yaml'), overrides);
    const scale = Object.entries(options.scale ?? {}).flatMap(([s, n]) => ['--scale', `${s}=${n}`]);
    say(`compose up ${name}`);
    const waitMs = options.waitTimeoutMs ?? 180_000;
    const wait = options.composeWait && !options.noWait ? ['--wait', '--wait-timeout', String(Math.ceil(waitMs / 1000))] : [];
    await compose(project, ['up', '--detach', '--no-build', '--pull', 'never', ...wait, ...scale, ...(options.services ?? [])], { timeoutMs: waitMs + 120_000 });

    const stack = makeStack(docker, project, appDir, null, down);
    if (!options.noWait) await stack.waitHealthy({ timeoutMs: options.waitTimeoutMs });
    if (webService && webPort) stack.webUrl = await publishedUrl(docker, name, webService, webPort);
    return stack;
  } catch (err) {
    const logs = await compose(project, ['logs', '--no-color', '--timestamps', '--tail', '200'], { check: false, timeoutMs: 60_000 })
      .then((r) => withoutTerminalCodes(r.stdout + r.stderr))
      .catch(() => '(no logs)');
    await down();
    const message = err instanceof Error ? err.message : String(err);
    throw new SpoolkitError('ERR_DOCKER', `Starting the stack ${name} failed: ${message}\n--- container logs ---\n${logs}`, { cause: err });
  }
}

/** Starts a stack, runs `fn`, and always tears the stack down; a failure carries the containers' logs. */
export async function withStack<T>(options: StartStackOptions, fn: (stack: Stack) => Promise<T>): Promise<T> {
  const stack = await startStack(options);
  try {
    return await fn(stack);
  } catch (err) {
    const logs = await stack.logs().catch(() => '(no logs)');
    if (err instanceof Error) err.message = `${err.message}\n--- container logs (${stack.project}) ---\n${logs}`;
    throw err;
  } finally {
    await stack.down();
  }
}

function makeStack(docker: Docker, project: ComposeProject, appDir: string, webUrl: string | null, down: () => Promise<void>): Stack {
  const containerId = async (service: string, replica = 1): Promise<string> => {
    const rows = await listContainerRows(docker, { project: project.name, all: true });
    const row = rows.find((r) => r.service === service && r.replica === replica);
    if (!row) throw new SpoolkitError('ERR_DOCKER', `No container for service ${service} replica ${replica} in project ${project.name}.`);
    return row.id;
  };
  const stack: Stack = {
    project: project.name,
    appDir,
    webUrl,
    docker,
    composeProject: project,
    spool: createSpoolClient(docker, async () => {
      const rows = (await listContainerRows(docker, { project: project.name, all: false })).filter((r) => r.state === 'running');
      const pick = rows.find((r) => r.role === 'web') ?? rows.find((r) => r.service === 'web') ?? rows[0];
      if (!pick) throw new SpoolkitError('ERR_DOCKER', `No running container in project ${project.name} to reach the spool from.`);
      return pick.id;
    }),
    compose: (args, options) => compose(project, args, options),
    containers: async (service) => (await listContainerRows(docker, { project: project.name, all: true })).filter((r) => !service || r.service === service),
    containerId,
    exec: async (service, argv, options = {}) => execInContainer(docker, await containerId(service, options.replica ?? 1), argv, options),
    fetch: (pathname, init) => {
      if (!stack.webUrl) throw new SpoolkitError('ERR_USAGE', `The stack ${project.name} has no web service published.`);
      return fetch(new URL(pathname, stack.webUrl), init);
    },
    waitHealthy: async (options = {}) =>
      waitFor(
        async () => {
          const rows = await listContainerRows(docker, { project: project.name, all: true });
          const broken = rows.find((r) => r.health === 'unhealthy' || (r.state === 'exited' && r.exitCode !== 0) || r.state === 'dead');
          if (broken) {
            throw new BrokenContainerError(`${broken.name} is ${broken.state === 'running' ? broken.health : `${broken.state} (exit ${broken.exitCode})`}`);
          }
          const running = rows.filter((r) => r.state !== 'exited');
          if (running.length === 0) return false;
          return running.every((r) => r.state === 'running' && (r.health === 'healthy' || r.health === 'none')) ? rows : false;
        },
        { timeoutMs: options.timeoutMs ?? 180_000, intervalMs: 500, what: `every container of ${project.name} to be healthy`, failFast: (err) => err instanceof BrokenContainerError },
      ),
    logs: async (options = {}) => {
      const r = await compose(project, ['logs', '--no-color', '--timestamps', '--tail', String(options.tail ?? 300), ...(options.services ?? [])], { check: false, timeoutMs: 60_000 });
      return withoutTerminalCodes(r.stdout + r.stderr);
    },
    down,
  };
  return stack;
}

class BrokenContainerError extends SpoolkitError {
  constructor(message: string) {
    super('ERR_DOCKER', message);
  }
}

async function publishedUrl(docker: Docker, project: string, service: string, port: number): Promise<string> {
  const rows = await listContainerRows(docker, { project, all: false });
  const row = rows.find((r) => r.service === service);
  if (!row) throw new SpoolkitError('ERR_DOCKER', `The ${service} service of ${project} has no running container.`);
  const inspect = await docker.getContainer(row.id).inspect();
  const binding = inspect.NetworkSettings.Ports?.[`${port}/tcp`]?.find((b) => b.HostIp === '127.0.0.1' || b.HostIp === '0.0.0.0' || b.HostIp === '');
  if (!binding) throw new SpoolkitError('ERR_DOCKER', `The ${service} service of ${project} does not publish port ${port}; set webPort to the port it listens on.`);
  return `http://127.0.0.1:${binding.HostPort}`;
}

/** Force-removes every container, network and volume labelled with the compose project. */
export async function removeProjectResources(docker: Docker, project: string): Promise<void> {
  const label = `${COMPOSE_PROJECT_LABEL}=${project}`;
  const containers = await docker.listContainers({ all: true, filters: { label: [label] } }).catch(() => []);
  for (const c of containers) await docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined);
  const networks = await docker.listNetworks({ filters: { label: [label] } }).catch(() => []);
  for (const n of networks) await docker.getNetwork(n.Id).remove().catch(() => undefined);
  const volumes = await docker.listVolumes({ filters: { label: [label] } }).catch(() => ({ Volumes: [] }));
  for (const v of volumes.Volumes ?? []) await docker.getVolume(v.Name).remove({ force: true }).catch(() => undefined);
}

/**
 * Removes what earlier test runs left behind: every container, network and volume of compose
 * projects whose name starts with `prefix` (default `spoolkit-test-`). Returns the projects swept.
 */
export async function sweepStacks(options: { prefix?: string; docker?: Docker } = {}): Promise<string[]> {
  const docker = options.docker ?? connectDocker();
  const prefix = options.prefix ?? 'spoolkit-test-';
  const projects = new Set<string>();
  for (const c of await docker.listContainers({ all: true, filters: { label: [COMPOSE_PROJECT_LABEL] } })) {
    const p = c.Labels[COMPOSE_PROJECT_LABEL];
    if (p?.startsWith(prefix)) projects.add(p);
  }
  for (const v of (await docker.listVolumes({ filters: { label: [COMPOSE_PROJECT_LABEL] } })).Volumes ?? []) {
    const p = v.Labels?.[COMPOSE_PROJECT_LABEL];
    if (p?.startsWith(prefix)) projects.add(p);
  }
  for (const n of await docker.listNetworks({ filters: { label: [COMPOSE_PROJECT_LABEL] } })) {
    const p = n.Labels?.[COMPOSE_PROJECT_LABEL];
    if (p?.startsWith(prefix)) projects.add(p);
  }
  for (const p of projects) await removeProjectResources(docker, p);
  return [...projects];
}
