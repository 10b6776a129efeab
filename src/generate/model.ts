/**
 * The model of an app: every decision the generator makes, computed once from the project
 * snapshot and the options. Templates only lay this model out as text.
 */
import { posix } from 'node:path';
import { ConfigError } from '../errors.js';
import {
  detectBuild,
  detectProcessors,
  detectSchedulers,
  detectWebCommand,
  releaseCommand,
  type BuildModel,
  type ProcessorsModel,
  type SchedulersModel,
  type WebCommandModel,
} from './detect/app-commands.js';
import { detectNodeVersion, type NodeVersionModel } from './detect/node-version.js';
import { detectInstallInputs, REGISTRY_CONFIG_FILES, type InstallInputsModel } from './detect/install-inputs.js';
import { detectPackageManager, type PackageManagerModel } from './detect/package-manager.js';
import { DEFAULT_DOCKERIGNORE, reincludes, translateGitignore } from './dockerignore-rules.js';
import { isIgnored } from './ignore-match.js';
import { mergeInitOptions, parseInitOptions, resolveInitOptions, type InitOptions, type ResolvedInitOptions, type SchedulerMode } from './options.js';
import { chooseTopology, PLATFORM_INFO, type PlatformInfo, type TopologyChoice } from './platforms.js';
import type { ProjectSnapshot } from './project.js';

/** A role the spoolkit entrypoint runs. */
export type Role = 'web' | 'worker' | 'scheduler' | 'all';

/** One long-running process of the deployed app (a compose service, a Procfile line, a unit). */
export interface ProcessModel {
  /** Service / process-type name. */
  readonly name: string;
  readonly role: Role;
  /** Instances to run. */
  readonly replicas: number;
  /** Serves HTTP on the app port. */
  readonly http: boolean;
  /** Runs jobs, so stopping it must wait for the shutdown timeout. */
  readonly runsJobs: boolean;
  /** Image target it is built from. */
  readonly target: 'web' | 'worker' | 'all';
}

/** What the user asked for on this run, on top of any saved options. */
export interface InitRequest {
  readonly options?: InitOptions;
  /** --web: the web command (saved as spoolkit.web). */
  readonly web?: string;
  /** --processors: the processors module (saved as spoolkit.processors). */
  readonly processors?: string;
  /** --force: allows a split topology where the platform has no shared disk. */
  readonly force?: boolean;
}

/** Everything the templates need. */
export interface ProjectModel {
  readonly appName: string;
  /** package.json `name` (the image's dev.spoolkit.app label). */
  readonly packageName: string;
  readonly description: string | undefined;
  /** The app is spoolkit itself (its example app). */
  readonly self: boolean;
  /** The spoolkit CLI, relative to the app root. */
  readonly spoolkitBin: string;
  readonly packageManager: PackageManagerModel;
  readonly node: NodeVersionModel;
  /** Default of the BASE_IMAGE build argument. */
  readonly baseImage: string;
  readonly build: BuildModel | null;
  /** What the install needs besides the manifests, which prepare scripts it skips, which registry settings it reads. */
  readonly installInputs: InstallInputsModel;
  /**
   * The whole context is copied before installing: workspaces need every package.json, and root
   * install scripts may read any file.
   */
  readonly installFromWholeContext: boolean;
  readonly web: WebCommandModel;
  /** The one-off release command (migrations), as argv, or null. */
  readonly release: readonly string[] | null;
  readonly processors: ProcessorsModel;
  readonly schedulers: SchedulersModel & { readonly mode: SchedulerMode };
  readonly platform: PlatformInfo;
  readonly topology: TopologyChoice;
  readonly options: ResolvedInitOptions;
  readonly processes: readonly ProcessModel[];
  /** Compose `stop_grace_period` and platform kill timeouts: the shutdown timeout plus a margin. */
  readonly stopGraceSeconds: number;
  readonly paths: { readonly appDir: string; readonly spoolDir: string; readonly binInImage: string };
  /** Default uid and gid of the non-root user in the image. */
  readonly appUid: number;
  /** `reinclude`: install inputs the other patterns may exclude, put back with `!path`. */
  readonly dockerignore: { readonly defaults: readonly string[]; readonly fromGitignore: readonly string[]; readonly reinclude: readonly string[] };
  /**
   * The Procfile creates the spool before each process starts. True where a Procfile runner starts
   * the processes through a shell on a disk no volume is mounted on (Heroku's dyno, a VPS run by
   * foreman or honcho): nothing else creates `./.spool` there, and no mount can be missing. Where a
   * volume is mounted (Dokku, the Docker platforms) the directory must already be there, so the
   * entrypoint's SPOOL_MISSING check still catches a volume mounted at the wrong path.
   */
  readonly procfileCreatesSpool: boolean;
  /** Paths and names for systemd units. */
  readonly vps: {
    readonly appDir: string;
    readonly user: string;
    /** systemd StateDirectory= entries (under /var/lib), created for the user before a unit starts; the last is the spool. */
    readonly stateDirectories: readonly string[];
    readonly spoolDir: string;
    readonly nodePath: string;
  };
  /** The CI workflow's commands: install, then the app's tests (or a compose smoke run without them). */
  readonly ci: { readonly setup: readonly string[]; readonly install: string; readonly test: string | null };
  /**
   * Compose files the app already has that `docker compose` would stop reading once compose.yaml
   * exists (it prefers compose.yaml and only warns). init will not hide them silently.
   */
  readonly composeShadows: readonly string[];
  /** What package.json's `spoolkit` key must hold afterwards. */
  readonly saved: { readonly web: string | readonly string[]; readonly processors: string; readonly init: InitOptions };
  /** Facts worth telling the user: what was detected and what to do by hand. */
  readonly notes: readonly string[];
}

/** Lockfiles of every package manager; a workspace package has none of its own. */
const LOCKFILE_NAMES = ['package-lock.json', 'npm-shrinkwrap.json', 'pnpm-lock.yaml', 'yarn.lock'] as const;

/** Compose file names `docker compose` reads only when there is no compose.yaml. */
export const COMPOSE_SHADOWED = ['compose.yml', 'docker-compose.yaml', 'docker-compose.yml'] as const;

/** Seconds added to the shutdown timeout before a platform may kill a stopping process. */
export const STOP_GRACE_MARGIN_SECONDS = 5;
/** Where the spool lives inside the image. */
export const IMAGE_SPOOL_DIR = '/var/spool/spoolkit';
/** The app's directory inside the image. */
export const IMAGE_APP_DIR = '/app';
/** Default uid/gid of the image's app user (the official node images' `node` user). */
export const DEFAULT_APP_UID = 1000;

/** Builds the model. Throws ConfigError when something cannot be detected, naming the fix. */
export function createModel(snapshot: ProjectSnapshot, request: InitRequest = {}): ProjectModel {
  const pkg = snapshot.packageJson;
  const spoolkitKey = pkg.spoolkit;
  if (spoolkitKey !== undefined && (typeof spoolkitKey !== 'object' || spoolkitKey === null || Array.isArray(spoolkitKey))) {
    throw new ConfigError('package.json "spoolkit" must be an object such as {"processors": "processors.js"}.');
  }
  const savedInit = parseInitOptions((spoolkitKey as Record<string, unknown> | undefined)?.init, 'package.json spoolkit.init');
  const given = parseInitOptions(request.options ?? {}, 'option');
  const merged = mergeInitOptions(savedInit, given);
  const force = request.force === true || merged.forceTopology === true;
  const options = resolveInitOptions(merged);
  const platform = PLATFORM_INFO[options.platform];
  const topology = chooseTopology(options.platform, options.topology, force);
  const init: InitOptions = topology.reason.startsWith('split (forced)') ? { ...merged, forceTopology: true } : merged;

  const self = pkg.name === 'spoolkit';
  const spoolkitBin = self ? selfBin(pkg) : 'node_modules/spoolkit/dist/cli/main.js';
  if (!self) checkSpoolkitDependency(pkg, pkg.workspaces !== undefined || snapshot.exists.has('pnpm-workspace.yaml'));

  checkWorkspaceMember(snapshot);
  // Only committed files decide: gitignored build output (dist/) and registry settings kept out of
  // git (a .npmrc holding a token) are absent from a fresh clone, where `init --check` must
  // reproduce the same files and the image must build.
  // git itself answers when the app is in a work tree (a .gitignore above the app, info/exclude, a
  // global excludesfile); otherwise the app's own .gitignore is read.
  const gitignored = translateGitignore(snapshot.texts['.gitignore'], []);
  const ignored = (f: string): boolean => (snapshot.gitIgnored === undefined ? isIgnored(f, gitignored) : snapshot.gitIgnored.has(f));
  const localOnly = (f: string): boolean => (REGISTRY_CONFIG_FILES as readonly string[]).includes(f) && ignored(f);
  const committed: ProjectSnapshot = { ...snapshot, exists: new Set([...snapshot.exists].filter((f) => !localOnly(f))) };
  const packageManager = detectPackageManager(committed);
  const installInputs = detectInstallInputs(committed, packageManager);
  const node = detectNodeVersion(snapshot, options.nodeVersion);
  const build = detectBuild(snapshot);
  const web = detectWebCommand(snapshot, request.web);
  const processors = detectProcessors(snapshot, request.processors, build !== null);
  const scanned = [processors.path, web.entryFile].filter((f): f is string => f !== undefined);
  const uncommitted = scanned.filter(ignored);
  const detectedSchedulers = detectSchedulers(
    snapshot,
    scanned.filter((f) => !uncommitted.includes(f)),
  );
  const schedulers = {
    ...(options.schedulers === undefined ? detectedSchedulers : { detected: options.schedulers, foundIn: options.schedulers ? ['package.json spoolkit.init.schedulers'] : [] }),
    mode: options.scheduler,
  };
  const schedulerNotes = options.schedulers === undefined ? uncommittedSchedulerNotes(snapshot, uncommitted) : [];

  if (platform.fixedStopSeconds !== null && options.shutdownTimeoutMs / 1000 + STOP_GRACE_MARGIN_SECONDS > platform.fixedStopSeconds) {
    throw new ConfigError(
      `${platform.label} kills a stopping process ${platform.fixedStopSeconds} s after SIGTERM, so a shutdown timeout of ` +
        `${options.shutdownTimeoutMs} ms leaves no margin. Pass --shutdown-timeout-ms ${(platform.fixedStopSeconds - STOP_GRACE_MARGIN_SECONDS) * 1000} or less.`,
    );
  }
  if (platform.maxStopSeconds !== null && Math.ceil(options.shutdownTimeoutMs / 1000) + STOP_GRACE_MARGIN_SECONDS > platform.maxStopSeconds) {
    throw new ConfigError(
      `${platform.label} accepts a stop delay of at most ${platform.maxStopSeconds} s, so a shutdown timeout of ${options.shutdownTimeoutMs} ms ` +
        `(plus a ${STOP_GRACE_MARGIN_SECONDS} s margin) cannot be honoured. Pass --shutdown-timeout-ms ${(platform.maxStopSeconds - STOP_GRACE_MARGIN_SECONDS) * 1000} or less.`,
    );
  }
  if (options.systemd && !platform.sharedDisk) {
    throw new ConfigError(`--systemd writes units for one machine; it does not apply to ${platform.label}. Use --platform vps.`);
  }

  const stopGraceSeconds = Math.ceil(options.shutdownTimeoutMs / 1000) + STOP_GRACE_MARGIN_SECONDS;
  const processes = processList(topology.topology, options.workers, schedulers.detected && schedulers.mode === 'service');
  const appName = appNameOf(pkg, snapshot.dir);
  const workspaces = pkg.workspaces !== undefined || snapshot.exists.has('pnpm-workspace.yaml');
  const gitignore = translateGitignore(snapshot.texts['.gitignore']);
  const composeShadows = COMPOSE_SHADOWED.filter((f) => snapshot.exists.has(f));

  return {
    appName,
    packageName: typeof pkg.name === 'string' && pkg.name !== '' ? pkg.name : appName,
    description: typeof pkg.description === 'string' ? pkg.description : undefined,
    self,
    spoolkitBin,
    packageManager,
    node,
    baseImage: `node:${node.major}-bookworm-slim`,
    build,
    installInputs,
    installFromWholeContext: workspaces || installInputs.wholeContextReasons.length > 0,
    web,
    release: options.release === undefined ? null : releaseCommand(options.release),
    processors,
    schedulers,
    platform,
    topology,
    options,
    processes,
    stopGraceSeconds,
    paths: { appDir: IMAGE_APP_DIR, spoolDir: IMAGE_SPOOL_DIR, binInImage: posix.join(IMAGE_APP_DIR, spoolkitBin) },
    appUid: DEFAULT_APP_UID,
    dockerignore: {
      defaults: DEFAULT_DOCKERIGNORE,
      fromGitignore: gitignore,
      reinclude: reincludes([...DEFAULT_DOCKERIGNORE, ...gitignore], [...packageManager.manifestFiles, ...installInputs.copy]),
    },
    procfileCreatesSpool: platform.name === 'heroku' || platform.name === 'vps',
    vps: {
      appDir: `/srv/${appName}`,
      user: appName,
      stateDirectories: [appName, `${appName}/spool`],
      spoolDir: `/var/lib/${appName}/spool`,
      nodePath: '/usr/bin/node',
    },
    ci: ciCommands(packageManager, pkg),
    composeShadows,
    saved: { web: web.saved, processors: processors.path, init },
    notes: [
      ...notesFor({ packageManager, installInputs, node, build, web, processors, schedulers, platform, appName, processes, workspaces }),
      ...buildNotes(pkg, build, workspaces || installInputs.wholeContextReasons.length > 0),
      ...ignoredRegistryConfigNotes(snapshot, committed),
      ...platformTimeoutNotes(platform, appName, options.shutdownTimeoutMs, stopGraceSeconds),
      ...(options.release === undefined ? [] : [releaseNote(platform, options.release)]),
      ...schedulerNotes,
      ...excludedFileNotes(web, processors, build, [...DEFAULT_DOCKERIGNORE, ...gitignore]),
      ...(composeShadows.length === 0 ? [] : [composeShadowNote(composeShadows)]),
    ],
  };
}

function selfBin(pkg: Readonly<Record<string, unknown>>): string {
  const bin = pkg.bin;
  const path = typeof bin === 'object' && bin !== null ? (bin as Record<string, unknown>).spoolkit : undefined;
  return typeof path === 'string' ? posix.normalize(path).replace(/^\.\//, '') : 'dist/cli/main.js';
}

/** A workspace package has no lockfile of its own: the image can only be built from the workspace root. */
function checkWorkspaceMember(snapshot: ProjectSnapshot): void {
  const root = snapshot.workspaceRoot;
  if (root === undefined || LOCKFILE_NAMES.some((f) => snapshot.exists.has(f))) return;
  // The app's path from the root: as many trailing directory names as the root is levels up.
  const app = snapshot.dir.replace(/\\/g, '/').replace(/\/+$/, '').split('/').slice(-root.split('/').length).join('/');
  throw new ConfigError(
    `${snapshot.dir} is a package of the workspace at ${root} (its lockfile is there, so this directory never gets one). ` +
      `spoolkit init builds the image from the workspace root: add spoolkit to the root package.json dependencies, then run spoolkit init in ${root} ` +
      `with the app's commands, for example --web "node ${app}/server.js" --processors ${app}/processors.js.`,
  );
}

function checkSpoolkitDependency(pkg: Readonly<Record<string, unknown>>, workspaces: boolean): void {
  const deps = pkg.dependencies as Record<string, unknown> | undefined;
  if (deps && typeof deps === 'object' && 'spoolkit' in deps) return;
  const dev = pkg.devDependencies as Record<string, unknown> | undefined;
  if (dev && typeof dev === 'object' && 'spoolkit' in dev) {
    throw new ConfigError(
      'spoolkit is a devDependency, but the runtime image prunes dev dependencies and its entrypoint is spoolkit. ' +
        'Move it to dependencies: npm install --save spoolkit (or pnpm add / yarn add spoolkit).',
    );
  }
  if (workspaces) {
    throw new ConfigError(
      'spoolkit is not in this workspace root\'s package.json dependencies. spoolkit init builds the image from the workspace root, ' +
        'so the root must depend on spoolkit even when a workspace package uses it: npm install spoolkit at the root (pnpm add -w / yarn add at the root), ' +
        'then pass the app\'s commands, for example --web "node packages/api/server.js" --processors packages/api/processors.js.',
    );
  }
  throw new ConfigError('spoolkit is not in package.json dependencies; install it first: npm install spoolkit (or pnpm add / yarn add spoolkit).');
}

function processList(topology: 'split' | 'all', workers: number, schedulerService: boolean): ProcessModel[] {
  if (topology === 'all') return [{ name: 'web', role: 'all', replicas: 1, http: true, runsJobs: true, target: 'all' }];
  const list: ProcessModel[] = [
    { name: 'web', role: 'web', replicas: 1, http: true, runsJobs: false, target: 'web' },
    { name: 'worker', role: 'worker', replicas: workers, http: false, runsJobs: true, target: 'worker' },
  ];
  if (schedulerService) list.push({ name: 'scheduler', role: 'scheduler', replicas: 1, http: false, runsJobs: false, target: 'worker' });
  return list;
}

/** A name usable for a compose project, a Fly app, a Unix user and a unit: lowercase letters, digits, dashes. */
export function appNameOf(pkg: Readonly<Record<string, unknown>>, dir: string): string {
  const raw = typeof pkg.name === 'string' && pkg.name !== '' ? pkg.name.replace(/^@[^/]+\//, '') : posix.basename(dir.replace(/\\/g, '/'));
  const name = raw
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .replace(/^(\d)/, 'app-$1')
    .slice(0, 30)
    .replace(/-+$/, '');
  return name === '' ? 'app' : name;
}

interface NoteFacts {
  packageManager: PackageManagerModel;
  installInputs: InstallInputsModel;
  node: NodeVersionModel;
  build: BuildModel | null;
  web: WebCommandModel;
  processors: ProcessorsModel;
  schedulers: SchedulersModel & { mode: SchedulerMode };
  platform: PlatformInfo;
  appName: string;
  processes: readonly ProcessModel[];
  workspaces: boolean;
}

function notesFor(f: NoteFacts): string[] {
  const notes = [
    `package manager: ${f.packageManager.name}${f.packageManager.berry ? ' (berry)' : ''} (${f.packageManager.reason})`,
    `node: ${f.node.major} (from ${f.node.source})`,
    f.build ? `build: ${f.packageManager.runScript} ${f.build.script}, then dev dependencies are pruned` : 'build: none (no build script); production dependencies only',
    `web command: ${f.web.command} (from ${f.web.source})`,
    `processors: ${f.processors.path} (${f.processors.source === 'detected' ? 'found' : 'from spoolkit.processors'})`,
  ];
  if (!f.processors.exists) notes.push(`processors: ${f.processors.path} does not exist yet; it must exist once the image is built.`);
  if (f.workspaces) notes.push('workspaces: the whole context is copied before installing, so every workspace package.json is present.');
  const inputs = f.installInputs;
  if (inputs.wholeContextReasons.length > 0 && !f.workspaces) {
    notes.push(
      `install: the whole context is copied before installing (the dependency layer is rebuilt on every source change): ${inputs.wholeContextReasons.join('; ')}.`,
    );
  }
  if (inputs.copy.length > 0 && !f.workspaces && inputs.wholeContextReasons.length === 0) notes.push(`install: also copies ${inputs.copy.join(', ')} before installing, as the install reads them.`);
  if (inputs.skippedScripts.length > 0) {
    notes.push(
      `install: the image deletes the ${inputs.skippedScripts.join(', ')} script${inputs.skippedScripts.length > 1 ? 's' : ''} before installing: a development or publish hook (husky, an old-style prepublish build) ` +
        'whose tool a production install lacks. Anything the image needs built belongs in the build script.',
    );
  }
  if (inputs.registryConfigs.length > 0) {
    notes.push(`install: the image installs with ${inputs.registryConfigs.join(', ')} and removes it from what ships (a registry token must not reach the runtime image).`);
    if (inputs.registryArgs.length > 0) {
      const flags = inputs.registryArgs.map((n) => `--build-arg ${n}="$${n}"`).join(' ');
      notes.push(
        `install: ${inputs.registryConfigs.join(', ')} read${inputs.registryConfigs.length === 1 ? 's' : ''} ${inputs.registryArgs.join(', ')}, declared as build arguments of the install stages: ` +
          `pass ${flags} to docker build or docker compose build (a CI build needs it too). A build argument shows in those stages' history, not in the runtime image.`,
      );
    }
  }
  if (f.schedulers.detected) {
    const runner = f.processes.some((p) => p.role === 'scheduler')
      ? 'a dedicated scheduler process runs them'
      : f.processes.some((p) => p.role === 'all')
        ? 'the all role runs them'
        : 'every worker runs them';
    notes.push(`schedulers: found in ${f.schedulers.foundIn.join(', ')}; ${runner} (each tick is enqueued once, whatever the replica count).`);
  }
  notes.push(...platformNotes(f.platform, f.appName));
  return notes;
}

function platformNotes(platform: PlatformInfo, app: string): string[] {
  const uid = `${DEFAULT_APP_UID}:${DEFAULT_APP_UID}`;
  switch (platform.name) {
    case 'compose':
      return ['compose: docker compose up --wait starts the stack; docker compose up --scale worker=N changes the worker count.'];
    case 'dokku':
      return [
        `dokku: mount one directory into every process: dokku storage:ensure-directory ${app} && dokku storage:mount ${app} /var/lib/dokku/data/storage/${app}:${IMAGE_SPOOL_DIR}`,
        `dokku: with the Dockerfile builder (dokku builder-dockerfile:set ${app} dockerfile-path docker/Dockerfile) the directory must belong to uid ${uid}; with buildpacks also run dokku config:set ${app} SPOOLKIT_SPOOL=${IMAGE_SPOOL_DIR}.`,
        'dokku: app.json "formation" starts the workers; Dokku starts only web by default.',
      ];
    case 'vps':
      return [
        'vps: run the Procfile with a process manager (foreman, honcho) from the app directory, or install the systemd units (--systemd); every process must share SPOOLKIT_SPOOL.',
        'vps: each Procfile line creates the spool first (SPOOLKIT_SPOOL, else ./.spool) and then execs the entrypoint; the systemd units get it from StateDirectory (/var/lib/<app>/spool).',
      ];
    case 'heroku':
      return [
        'heroku: a dyno loses its disk when it restarts (at least daily), so jobs still queued at that moment are lost; keep queues short, or move to BullMQ on Redis (same API).',
        'heroku: Heroku sends SIGTERM and kills 30 s later; the worker drains within the shutdown timeout.',
        "heroku: the Procfile line creates the dyno's spool (./.spool, or SPOOLKIT_SPOOL when set) before it execs the entrypoint, since the slug never holds it.",
      ];
    case 'fly':
      return [
        `fly: create the volume once: fly volumes create spool --size 1`,
        `fly: Fly mounts volumes owned by root; make it writable by the app user once: fly ssh console -C "chown ${uid} ${IMAGE_SPOOL_DIR}"`,
        'fly: auto_stop_machines is off, because a stopped Machine runs no jobs.',
      ];
    case 'render':
      return ['render: a service with a disk runs one instance and has no zero-downtime deploys; the disk keeps the spool across deploys.'];
    case 'railway':
      return [
        `railway: railway.json cannot declare volumes: add one to the service mounted at ${IMAGE_SPOOL_DIR} (railway volume add), owned by uid ${uid}.`,
      ];
    default: {
      const never: never = platform.name;
      return [String(never)];
    }
  }
}

/**
 * Warnings for files the processes need that the generated .dockerignore keeps out of the image:
 * an `--env-file` (never in the image: .env is excluded so secrets stay out), or the web entry
 * and processors module when they are ignored output and no build script recreates them.
 */
function excludedFileNotes(web: WebCommandModel, processors: ProcessorsModel, build: BuildModel | null, dockerignore: readonly string[]): string[] {
  const notes: string[] = [];
  for (const envFile of envFilesOf(web.argv)) {
    if (!isIgnored(envFile, dockerignore)) continue;
    notes.push(
      `warning: the web command loads ${envFile} (--env-file), but the generated .dockerignore excludes it so secrets stay out of the image, and the web container would exit at once. ` +
        'Remove --env-file from the web command and set the variables in the environment instead (compose environment: or env_file:, or the platform config).',
    );
  }
  if (build === null) {
    const needed = [...new Set([web.entryFile, processors.path].filter((f): f is string => f !== undefined))];
    for (const file of needed.filter((f) => isIgnored(f, dockerignore))) {
      notes.push(
        `warning: ${file} is excluded by the generated .dockerignore (it matches .gitignore or a default exclusion), and package.json has no "build" script to recreate it in the image, so the container could not find it. ` +
          'Name the script that writes it "build" (for example "build": "tsc"), or commit the file and stop ignoring it.',
      );
    }
  }
  return notes;
}

/** The files named by `--env-file` options of a node command (`--env-file-if-exists` tolerates a missing file). */
function envFilesOf(argv: readonly string[]): string[] {
  if (argv[0] !== 'node') return [];
  const files: string[] = [];
  argv.forEach((arg, i) => {
    const m = /^--env-file(?:=(.*))?$/.exec(arg);
    if (!m) return;
    const file = m[1] ?? argv[i + 1];
    if (file !== undefined && file !== '') files.push(file.replace(/^\.\//, ''));
  });
  return files;
}

function uncommittedSchedulerNotes(snapshot: ProjectSnapshot, uncommitted: readonly string[]): string[] {
  if (uncommitted.length === 0) return [];
  const seen = detectSchedulers(snapshot, uncommitted);
  const files = uncommitted.join(' and ');
  return [
    seen.detected
      ? `schedulers: found in ${seen.foundIn.join(', ')}, which is gitignored (build output), so a fresh clone and init --check would not see them; pass --schedulers to save that the app has them (--no-schedulers if not).`
      : `schedulers: ${files} ${uncommitted.length === 1 ? 'is' : 'are'} gitignored (build output), so init does not look there for job schedulers; if the app declares any, pass --schedulers (saved), or --no-schedulers to silence this.`,
  ];
}

function composeShadowNote(files: readonly string[]): string {
  const names = files.join(' and ');
  return (
    `compose: ${names} already exist${files.length === 1 ? 's' : ''}, and docker compose reads compose.yaml instead once it exists, so its services would silently stop starting. ` +
    `Move them into compose.yaml (or the generated services into ${files[0] ?? names}) and remove ${names}; until then init reports compose.yaml as a conflict (--force writes it anyway, --skip leaves it out).`
  );
}

/** Registry settings present here but gitignored: a fresh clone and the image do without them. */
function ignoredRegistryConfigNotes(snapshot: ProjectSnapshot, committed: ProjectSnapshot): string[] {
  const ignored = REGISTRY_CONFIG_FILES.filter((f) => snapshot.exists.has(f) && !committed.exists.has(f));
  if (ignored.length === 0) return [];
  const names = ignored.join(' and ');
  return [
    `install: ${names} ${ignored.length === 1 ? 'is' : 'are'} gitignored, so a fresh clone (CI) has no such file and the image installs without ${ignored.length === 1 ? 'it' : 'them'}. ` +
      'If the install needs a private registry, commit a .npmrc that reads the token from the environment (//registry.example.com/:_authToken=${NPM_TOKEN}) and re-run init: ' +
        'the install stages then declare ARG NPM_TOKEN, and docker build --build-arg NPM_TOKEN="$NPM_TOKEN" (or docker compose build --build-arg NPM_TOKEN="$NPM_TOKEN") passes it.',
  ];
}

/**
 * With a build and the manifests-only install, the runtime ships node_modules pruned from the
 * deps stage, not the build's: a build step that writes into node_modules is lost, so say so
 * for the common one.
 */
function buildNotes(pkg: Readonly<Record<string, unknown>>, build: BuildModel | null, wholeContext: boolean): string[] {
  if (build === null || wholeContext) return [];
  const scripts = pkg.scripts as Record<string, unknown> | undefined;
  const text = scripts?.[build.script];
  if (typeof text !== 'string' || !/\bprisma\s+generate\b/.test(text)) return [];
  return [
    `build: "${text}" runs prisma generate, which writes into node_modules, but the image ships node_modules from the install, not from the build; ` +
      'run prisma generate in a postinstall script instead (or set an output path outside node_modules in the Prisma schema).',
  ];
}

/**
 * The image does not set SPOOLKIT_SHUTDOWN_TIMEOUT_MS (a plain docker stop kills after 10 s);
 * platforms whose manifest cannot set it are told how.
 */
function platformTimeoutNotes(platform: PlatformInfo, app: string, timeoutMs: number, graceSeconds: number): string[] {
  switch (platform.name) {
    case 'dokku':
      return [
        `dokku: app.json cannot set the environment; give the workers their shutdown timeout and a longer stop timeout: dokku config:set ${app} SPOOLKIT_SHUTDOWN_TIMEOUT_MS=${timeoutMs} && dokku ps:set ${app} stop-timeout-seconds ${graceSeconds} (without the variable a stopping worker drains for 8 s, the runtime default).`,
      ];
    case 'railway':
      return [`railway: railway.json cannot set the environment; set the service variable SPOOLKIT_SHUTDOWN_TIMEOUT_MS=${timeoutMs} (without it a stopping worker drains for 8 s, the runtime default).`];
    default:
      return [];
  }
}

function releaseNote(platform: PlatformInfo, command: string): string {
  switch (platform.name) {
    case 'railway':
      return `release: railway.json does not carry it; set "${command}" as the service's pre-deploy command.`;
    case 'vps':
      return `release: "${command}" runs before each start of the web process (ExecStartPre) and as the Procfile release line.`;
    default:
      return `release: "${command}" runs once per deploy, to completion, before the new processes start.`;
  }
}

function ciCommands(pm: PackageManagerModel, pkg: Readonly<Record<string, unknown>>): ProjectModel['ci'] {
  const scripts = pkg.scripts as Record<string, unknown> | undefined;
  const hasTest = typeof scripts?.test === 'string' && !/no test specified/.test(scripts.test);
  const setup = pm.setup === null ? [] : [pm.setup];
  return { setup, install: pm.installAll, test: hasTest ? `${pm.name} test` : null };
}
