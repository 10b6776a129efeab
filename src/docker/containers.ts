/**
 * The rows `spoolkit ps` shows: one per container of a compose project, or of every container
 * started from a spoolkit image. Each row carries the container's service, role, state, health
 * and the backlog its last healthcheck reported, all read from the engine through dockerode.
 */
import type Docker from 'dockerode';
import { dockerError } from './client.js';
import { backlogFromHealthLog, type HealthBacklog, type HealthLogEntry } from './health-report.js';
import {
  COMPOSE_NUMBER_LABEL,
  COMPOSE_PROJECT_LABEL,
  COMPOSE_SERVICE_LABEL,
  KNOWN_ROLES,
  SPOOLKIT_APP_LABEL,
  SPOOLKIT_ROLE_LABEL,
} from './labels.js';

/** One container as `spoolkit ps` reports it. */
export interface ContainerRow {
  id: string;
  /** Container name without the leading slash. */
  name: string;
  /** Compose project, or null for a container started outside compose. */
  project: string | null;
  /** Compose service, else the container name. */
  service: string;
  /** Replica number within the service (1 when not started by compose). */
  replica: number;
  /** web, worker, all, scheduler, a pass-through command, or null when it cannot be told. */
  role: string | null;
  image: string;
  /** Engine state: created, running, restarting, exited, paused, dead. */
  state: string;
  /** Exit code for an exited container, else null. */
  exitCode: number | null;
  /** starting, healthy, unhealthy, or `none` when the image has no healthcheck. */
  health: string;
  /** Consecutive failed probes, from the engine. */
  failingStreak: number;
  /** Backlog from the newest healthcheck output, or null when it printed no JSON. */
  backlog: HealthBacklog | null;
  /** When the newest probe ended (ISO time), or null. */
  checkedAt: string | null;
  /** Exit code of the newest probe, or null. */
  probeExitCode: number | null;
}

/** Options for {@link listContainerRows}. */
export interface ListContainerRowsOptions {
  /** Only this compose project's containers (every container of it, labelled or not). */
  project?: string;
  /** Include stopped containers (default true: a stopped worker is worth seeing). */
  all?: boolean;
}

/**
 * Lists containers with their health and backlog. Without a project, keeps containers that carry
 * the `dev.spoolkit.app` label, a `SPOOLKIT_*` environment variable, or a healthcheck that runs
 * spoolkit. Rows are sorted by project, service and replica.
 */
export async function listContainerRows(docker: Docker, options: ListContainerRowsOptions = {}): Promise<ContainerRow[]> {
  const filters: Record<string, string[]> = {};
  if (options.project) filters.label = [`${COMPOSE_PROJECT_LABEL}=${options.project}`];
  let infos: Docker.ContainerInfo[];
  try {
    infos = await docker.listContainers({ all: options.all ?? true, filters });
  } catch (err) {
    throw dockerError(err, 'list containers');
  }
  const rows: ContainerRow[] = [];
  for (const info of infos) {
    let inspect: Docker.ContainerInspectInfo;
    try {
      inspect = await docker.getContainer(info.Id).inspect();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 404) continue; // removed meanwhile
      throw dockerError(err, `inspect container ${info.Id.slice(0, 12)}`);
    }
    if (!options.project && !isSpoolkitContainer(inspect)) continue;
    rows.push(rowOf(inspect));
  }
  rows.sort((a, b) => (a.project ?? '').localeCompare(b.project ?? '') || a.service.localeCompare(b.service) || a.replica - b.replica);
  return rows;
}

/** True when a container was started from a spoolkit image or runs spoolkit. */
export function isSpoolkitContainer(inspect: Docker.ContainerInspectInfo): boolean {
  const labels = inspect.Config?.Labels ?? {};
  if (labels[SPOOLKIT_APP_LABEL] !== undefined || labels[SPOOLKIT_ROLE_LABEL] !== undefined) return true;
  if ((inspect.Config?.Env ?? []).some((e) => e.startsWith('SPOOLKIT_'))) return true;
  const test = inspect.Config?.Healthcheck?.Test ?? [];
  return test.some((part) => part.includes('spoolkit'));
}

/** Builds one row from an inspect result. */
export function rowOf(inspect: Docker.ContainerInspectInfo): ContainerRow {
  const labels = inspect.Config?.Labels ?? {};
  const name = inspect.Name.replace(/^\//, '');
  const health = inspect.State.Health as { Status?: string; FailingStreak?: number; Log?: HealthLogEntry[] } | undefined;
  const last = health?.Log?.[health.Log.length - 1];
  return {
    id: inspect.Id,
    name,
    project: labels[COMPOSE_PROJECT_LABEL] ?? null,
    service: labels[COMPOSE_SERVICE_LABEL] ?? name,
    replica: Number(labels[COMPOSE_NUMBER_LABEL] ?? 1) || 1,
    role: roleOf(inspect),
    image: inspect.Config?.Image ?? inspect.Image,
    state: inspect.State.Status,
    // A restarting container's code is that of the exit that made it restart.
    exitCode: inspect.State.Status === 'exited' || inspect.State.Status === 'restarting' ? inspect.State.ExitCode : null,
    health: health?.Status ?? 'none',
    failingStreak: health?.FailingStreak ?? 0,
    backlog: backlogFromHealthLog(health?.Log),
    checkedAt: last?.End ?? null,
    probeExitCode: typeof last?.ExitCode === 'number' ? last.ExitCode : null,
  };
}

/**
 * The role a container runs, as its entrypoint decides it: a role given as the first command
 * argument, else `SPOOLKIT_ROLE` (a container's value replaces the image's), else a known role
 * elsewhere in its command, else the role its last healthcheck reported, else the
 * `dev.spoolkit.role` label (an image default that `SPOOLKIT_ROLE` may have overridden).
 */
export function roleOf(inspect: Docker.ContainerInspectInfo): string | null {
  const cmd = inspect.Config?.Cmd ?? [];
  if (cmd[0] && KNOWN_ROLES.includes(cmd[0])) return cmd[0];
  const env = (inspect.Config?.Env ?? []).filter((e) => e.startsWith('SPOOLKIT_ROLE=')).pop();
  if (env && env.length > 'SPOOLKIT_ROLE='.length) return env.slice('SPOOLKIT_ROLE='.length);
  const argv = [...(inspect.Config?.Entrypoint ?? []), ...cmd];
  const known = argv.find((a) => KNOWN_ROLES.includes(a));
  if (known) return known;
  const health = inspect.State.Health as { Log?: HealthLogEntry[] } | undefined;
  const reported = backlogFromHealthLog(health?.Log)?.raw.role;
  if (typeof reported === 'string' && reported) return reported;
  return inspect.Config?.Labels?.[SPOOLKIT_ROLE_LABEL] || null;
}
