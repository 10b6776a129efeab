/**
 * Generator options: what `spoolkit init` accepts on the command line and saves under
 * `spoolkit.init` in the app's package.json, so that a re-run reproduces the same files.
 *
 * Only options that were given explicitly (now or on an earlier run) are saved; everything else
 * comes from the defaults below, which are constants of this spoolkit version.
 */
import { ConfigError } from '../errors.js';

/** Deployment targets the generator knows. */
export const PLATFORMS = ['compose', 'dokku', 'vps', 'heroku', 'fly', 'render', 'railway'] as const;

/** A deployment target. */
export type Platform = (typeof PLATFORMS)[number];

/** `split`: web and worker run as separate processes sharing one spool; `all`: one process does both. */
export type Topology = 'split' | 'all';

/** How job schedulers run: a dedicated `scheduler` process, or inside every worker. */
export type SchedulerMode = 'service' | 'workers';

/** Options as given by a user or read back from package.json. Every field is optional. */
export interface InitOptions {
  /** Where the app is deployed. @default 'compose' */
  readonly platform?: Platform;
  /** Process topology; derived from the platform when absent. */
  readonly topology?: Topology;
  /** Saved when a split topology was forced onto a platform without a shared disk. */
  readonly forceTopology?: boolean;
  /** Worker replicas (compose `deploy.replicas`, Procfile formation). @default 2 */
  readonly workers?: number;
  /** The port the web process listens on inside the container. @default 3000 */
  readonly port?: number;
  /** How long a stopping worker lets running jobs finish, in milliseconds. @default 25000 */
  readonly shutdownTimeoutMs?: number;
  /** How schedulers run when the app has them. @default 'service' */
  readonly scheduler?: SchedulerMode;
  /**
   * Whether the app declares job schedulers. When absent, detected from the processors module and
   * the web entry file, but only when they are committed (not gitignored build output), so the
   * result is the same in a fresh clone.
   */
  readonly schedulers?: boolean;
  /** Also write systemd units (VPS). @default false */
  readonly systemd?: boolean;
  /** An HTTP path the web process answers for platform health checks (Fly, Render, Railway). */
  readonly healthPath?: string;
  /** A one-off command run before each release (migrations): Procfile release, a compose one-shot, Fly release_command. */
  readonly release?: string;
  /** Node.js major version for the base image; detected from .nvmrc or engines when absent. */
  readonly nodeVersion?: number;
  /** Read-only root filesystem, no capabilities, no privilege escalation in compose. @default true */
  readonly harden?: boolean;
  /** BuildKit cache mounts for the package manager's cache (BuildKit only). @default false */
  readonly cacheMounts?: boolean;
  /** Compose `start_interval` for fast first health checks (Docker Engine 25 or newer). @default false */
  readonly startInterval?: boolean;
  /** Also write a GitHub Actions workflow that proves the stack. @default false */
  readonly ci?: boolean;
}

/** Options with every default applied. */
export interface ResolvedInitOptions {
  readonly platform: Platform;
  readonly topology: Topology | undefined;
  readonly forceTopology: boolean;
  readonly workers: number;
  readonly port: number;
  readonly shutdownTimeoutMs: number;
  readonly scheduler: SchedulerMode;
  readonly schedulers: boolean | undefined;
  readonly systemd: boolean;
  readonly healthPath: string | undefined;
  readonly release: string | undefined;
  readonly nodeVersion: number | undefined;
  readonly harden: boolean;
  readonly cacheMounts: boolean;
  readonly startInterval: boolean;
  readonly ci: boolean;
}

/** Default worker replicas. */
export const DEFAULT_WORKERS = 2;
/** Default web port inside the container. */
export const DEFAULT_PORT = 3000;
/** Default worker shutdown timeout: fits inside Heroku's fixed 30 s stop window with a margin. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 25_000;

const KEYS: readonly (keyof InitOptions)[] = [
  'platform',
  'topology',
  'forceTopology',
  'workers',
  'port',
  'shutdownTimeoutMs',
  'scheduler',
  'schedulers',
  'systemd',
  'healthPath',
  'release',
  'nodeVersion',
  'harden',
  'cacheMounts',
  'startInterval',
  'ci',
];

/**
 * Validates options from an untrusted source (package.json or the command line). `source` names
 * where they came from, so the message can say what to fix.
 */
export function parseInitOptions(value: unknown, source: string): InitOptions {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`${source} must be an object of init options; got ${describe(value)}. Remove it or re-run spoolkit init to rewrite it.`);
  }
  const input = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(input).sort()) {
    if (!(KEYS as readonly string[]).includes(key)) {
      throw new ConfigError(`${source} has an unknown option "${key}"; known options are ${KEYS.join(', ')}.`);
    }
    const v = input[key];
    if (v === undefined) continue;
    out[key] = checkOption(key as keyof InitOptions, v, source);
  }
  return out as InitOptions;
}

function checkOption(key: keyof InitOptions, v: unknown, source: string): unknown {
  const where = `${source}.${key}`;
  switch (key) {
    case 'platform':
      if (typeof v === 'string' && (PLATFORMS as readonly string[]).includes(v)) return v;
      throw new ConfigError(`${where} must be one of ${PLATFORMS.join(', ')}; got ${describe(v)}.`);
    case 'topology':
      if (v === 'split' || v === 'all') return v;
      throw new ConfigError(`${where} must be "split" or "all"; got ${describe(v)}.`);
    case 'scheduler':
      if (v === 'service' || v === 'workers') return v;
      throw new ConfigError(`${where} must be "service" or "workers"; got ${describe(v)}.`);
    case 'workers':
      return integer(where, v, 0, 100);
    case 'port':
      return integer(where, v, 1, 65_535);
    case 'shutdownTimeoutMs':
      return integer(where, v, 1_000, 3_600_000);
    case 'nodeVersion':
      return integer(where, v, 18, 99);
    case 'healthPath':
      if (typeof v === 'string' && /^\/[A-Za-z0-9._~\-/]*$/.test(v)) return v;
      throw new ConfigError(`${where} must be an absolute URL path such as "/healthz"; got ${describe(v)}.`);
    case 'release':
      if (typeof v === 'string' && v.trim() !== '') return v.trim();
      throw new ConfigError(`${where} must be a command such as "node migrate.js"; got ${describe(v)}.`);
    case 'forceTopology':
    case 'schedulers':
    case 'systemd':
    case 'harden':
    case 'cacheMounts':
    case 'startInterval':
    case 'ci':
      if (typeof v === 'boolean') return v;
      throw new ConfigError(`${where} must be true or false; got ${describe(v)}.`);
    default: {
      const never: never = key;
      throw new ConfigError(`unknown option ${String(never)}`);
    }
  }
}

function integer(where: string, v: unknown, min: number, max: number): number {
  const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max) return n;
  throw new ConfigError(`${where} must be an integer from ${min} to ${max}; got ${describe(v)}.`);
}

function describe(v: unknown): string {
  if (typeof v === 'string') return `"${v}"`;
  if (Array.isArray(v)) return 'an array';
  return v === null ? 'null' : `${typeof v === 'object' ? 'an object' : String(v)}`;
}

/** Saved options overlaid with the ones given now; undefined fields never erase saved ones. */
export function mergeInitOptions(saved: InitOptions, given: InitOptions): InitOptions {
  const out: Record<string, unknown> = {};
  for (const key of KEYS) {
    const v = given[key] !== undefined ? given[key] : saved[key];
    if (v !== undefined) out[key] = v;
  }
  return out as InitOptions;
}

/** Applies the defaults. */
export function resolveInitOptions(options: InitOptions): ResolvedInitOptions {
  return Object.freeze({
    platform: options.platform ?? 'compose',
    topology: options.topology,
    forceTopology: options.forceTopology ?? false,
    workers: options.workers ?? DEFAULT_WORKERS,
    port: options.port ?? DEFAULT_PORT,
    shutdownTimeoutMs: options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS,
    scheduler: options.scheduler ?? 'service',
    schedulers: options.schedulers,
    systemd: options.systemd ?? false,
    healthPath: options.healthPath,
    release: options.release,
    nodeVersion: options.nodeVersion,
    harden: options.harden ?? true,
    cacheMounts: options.cacheMounts ?? false,
    startInterval: options.startInterval ?? false,
    ci: options.ci ?? false,
  });
}
