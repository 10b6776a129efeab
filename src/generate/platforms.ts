/**
 * What each deployment target can do, and the process topology that follows from it.
 *
 * The spool is a directory, so web and worker processes can only be separate when they see the
 * same disk. Where they cannot (a Heroku dyno's disk is its own; a Fly or Render volume attaches
 * to one machine; a Railway volume to one service) the `all` role runs both in one process.
 */
import { ConfigError } from '../errors.js';
import type { Platform, Topology } from './options.js';

/** Facts about one deployment target. */
export interface PlatformInfo {
  readonly name: Platform;
  readonly label: string;
  /** Can separate web and worker processes share one spool directory? */
  readonly sharedDisk: boolean;
  /** Why (or why not), in one clause. */
  readonly diskFact: string;
  /** The manifest `--platform` writes, if any. */
  readonly manifest: string | null;
  /** Seconds the platform waits between SIGTERM and SIGKILL when that is fixed; null when configurable. */
  readonly fixedStopSeconds: number | null;
  /** The longest stop delay the platform's manifest accepts, when it has a maximum; null when unbounded. */
  readonly maxStopSeconds: number | null;
}

/** The capability matrix. */
export const PLATFORM_INFO: Readonly<Record<Platform, PlatformInfo>> = {
  compose: {
    name: 'compose',
    label: 'Docker Compose',
    sharedDisk: true,
    diskFact: 'every container runs on one host and mounts the named volume "spool"',
    manifest: null,
    fixedStopSeconds: null,
    maxStopSeconds: null,
  },
  dokku: {
    name: 'dokku',
    label: 'Dokku',
    sharedDisk: true,
    diskFact: 'Dokku runs every process type on one host, and dokku storage:mount gives them all the same directory',
    manifest: 'app.json',
    fixedStopSeconds: null,
    maxStopSeconds: null,
  },
  vps: {
    name: 'vps',
    label: 'a VPS (systemd or a Procfile runner)',
    sharedDisk: true,
    diskFact: 'every process runs on one machine and shares its disk',
    manifest: null,
    fixedStopSeconds: null,
    maxStopSeconds: null,
  },
  heroku: {
    name: 'heroku',
    label: 'Heroku',
    sharedDisk: false,
    diskFact: "each dyno has its own short-lived filesystem, so a worker dyno can never see the web dyno's spool",
    manifest: 'app.json',
    fixedStopSeconds: 30,
    maxStopSeconds: null,
  },
  fly: {
    name: 'fly',
    label: 'Fly.io',
    sharedDisk: false,
    diskFact: 'a Fly volume attaches to one Machine, and each process group runs on Machines of its own',
    manifest: 'fly.toml',
    fixedStopSeconds: null,
    maxStopSeconds: null,
  },
  render: {
    name: 'render',
    label: 'Render',
    sharedDisk: false,
    diskFact: 'a Render disk attaches to a single instance of a single service',
    manifest: 'render.yaml',
    fixedStopSeconds: null,
    maxStopSeconds: 300,
  },
  railway: {
    name: 'railway',
    label: 'Railway',
    sharedDisk: false,
    diskFact: 'a Railway volume belongs to one service',
    manifest: 'railway.json',
    fixedStopSeconds: null,
    maxStopSeconds: null,
  },
};

/** The chosen topology and the sentence that explains it. */
export interface TopologyChoice {
  readonly topology: Topology;
  readonly reason: string;
}

/**
 * Chooses the topology. A split topology on a platform without a shared disk would strand jobs
 * (the worker never sees what the web process writes), so it is refused unless forced.
 */
export function chooseTopology(platform: Platform, requested: Topology | undefined, force: boolean): TopologyChoice {
  const info = PLATFORM_INFO[platform];
  if (requested === undefined) {
    return info.sharedDisk
      ? { topology: 'split', reason: `split: web and worker run as separate processes because on ${info.label} ${info.diskFact}.` }
      : { topology: 'all', reason: `all: one process runs web and worker together because on ${info.label} ${info.diskFact}.` };
  }
  if (requested === 'split' && !info.sharedDisk) {
    if (!force) {
      throw new ConfigError(
        `A split topology cannot work on ${info.label}: ${info.diskFact}, so jobs written by the web process would never reach a worker. ` +
          'Use the default all topology, or pass --force if this app points every process at the same spool some other way.',
      );
    }
    return { topology: 'split', reason: `split (forced): separate processes although on ${info.label} ${info.diskFact}; every process must reach the same spool.` };
  }
  if (requested === 'all') {
    return { topology: 'all', reason: `all (requested): one process runs web and worker together.` };
  }
  return { topology: 'split', reason: `split (requested): web and worker run as separate processes because on ${info.label} ${info.diskFact}.` };
}
