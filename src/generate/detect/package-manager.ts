/**
 * Detects the package manager from the lockfile (and package.json's `packageManager` field when
 * more than one lockfile exists), and derives the exact commands the image runs with it.
 */
import { ConfigError } from '../../errors.js';
import type { ProjectSnapshot } from '../project.js';

/** Package managers the generator supports. */
export type PackageManagerName = 'npm' | 'pnpm' | 'yarn';

/** A package manager and the commands the Dockerfile runs with it. */
export interface PackageManagerModel {
  readonly name: PackageManagerName;
  /** Yarn 2 or newer. */
  readonly berry: boolean;
  readonly lockfile: string;
  /** Shell command that makes the package manager available in the image, or null when node ships it. */
  readonly setup: string | null;
  /** Files copied before installing, so the dependency layer is cached until they change. */
  readonly manifestFiles: readonly string[];
  /** Installs every dependency, dev included, exactly from the lockfile. */
  readonly installAll: string;
  /** Installs production dependencies only, exactly from the lockfile. */
  readonly installProd: string;
  /** Removes dev dependencies after a build. */
  readonly prune: string;
  /** Runs a package.json script (used for the build step only, never to start a process). */
  readonly runScript: string;
  /** The package manager's download cache, for optional BuildKit cache mounts. */
  readonly cacheDir: string;
  /** How the choice was made, for the report. */
  readonly reason: string;
}

const LOCKFILES: readonly { file: string; pm: PackageManagerName }[] = [
  { file: 'package-lock.json', pm: 'npm' },
  { file: 'npm-shrinkwrap.json', pm: 'npm' },
  { file: 'pnpm-lock.yaml', pm: 'pnpm' },
  { file: 'yarn.lock', pm: 'yarn' },
];

/** The yarn 1 release installed when the image has no yarn and package.json names no version. */
export const YARN_CLASSIC_VERSION = '1.22.22';

/** Reads package.json's `packageManager` field ("pnpm@9.12.0+sha512..."), if any. */
export function parsePackageManagerField(value: unknown): { name: string; version: string } | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^(npm|pnpm|yarn|bun)@(\d+(?:\.\d+){0,2}(?:-[0-9A-Za-z.-]+)?)(?:\+.*)?$/.exec(value.trim());
  if (!m) {
    throw new ConfigError(`package.json "packageManager" must look like "pnpm@9.12.0"; got "${value}". Fix it (corepack use pnpm@9) and re-run.`);
  }
  return { name: m[1] as string, version: m[2] as string };
}

/** Picks the package manager and its commands. */
export function detectPackageManager(snapshot: ProjectSnapshot): PackageManagerModel {
  const field = parsePackageManagerField(snapshot.packageJson.packageManager);
  const present = LOCKFILES.filter((l) => snapshot.exists.has(l.file));
  if (present.length === 0) {
    throw new ConfigError(
      `No lockfile in ${snapshot.dir}: the image installs dependencies exactly from a lockfile. ` +
        'Run npm install (or pnpm install, or yarn install) and commit package-lock.json, pnpm-lock.yaml or yarn.lock.',
    );
  }
  let chosen = present[0] as { file: string; pm: PackageManagerName };
  let reason = `found ${chosen.file}`;
  const kinds = new Set(present.map((l) => l.pm));
  if (kinds.size > 1) {
    const match = field ? present.find((l) => l.pm === field.name) : undefined;
    if (!match) {
      throw new ConfigError(
        `Found more than one lockfile (${present.map((l) => l.file).join(', ')}), so the package manager is ambiguous. ` +
          'Delete the stale ones, or set "packageManager" in package.json (for example "pnpm@9.12.0").',
      );
    }
    chosen = match;
    reason = `found ${present.map((l) => l.file).join(' and ')}; package.json "packageManager" picks ${match.pm}`;
  } else if (field && field.name !== chosen.pm) {
    throw new ConfigError(
      `package.json "packageManager" says ${field.name} but the lockfile is ${chosen.file}. ` +
        `Install with ${field.name} to create its lockfile, or change "packageManager" to match.`,
    );
  }
  switch (chosen.pm) {
    case 'npm':
      return npmModel(snapshot, chosen.file, reason);
    case 'pnpm':
      return pnpmModel(snapshot, field?.version, reason);
    case 'yarn':
      return yarnModel(snapshot, field?.version, reason);
    default: {
      const never: never = chosen.pm;
      throw new ConfigError(`unsupported package manager ${String(never)}`);
    }
  }
}

function npmModel(snapshot: ProjectSnapshot, lockfile: string, reason: string): PackageManagerModel {
  return {
    name: 'npm',
    berry: false,
    lockfile,
    setup: null,
    manifestFiles: ['package.json', lockfile, ...(snapshot.exists.has('.npmrc') ? ['.npmrc'] : [])],
    installAll: 'npm ci --include=dev',
    installProd: 'npm ci --omit=dev',
    prune: 'npm prune --omit=dev',
    runScript: 'npm run',
    cacheDir: '/root/.npm',
    reason,
  };
}

function pnpmModel(snapshot: ProjectSnapshot, fieldVersion: string | undefined, reason: string): PackageManagerModel {
  let version = fieldVersion;
  if (version === undefined) {
    const m = /^lockfileVersion:\s*['"]?(\d+)(?:\.(\d+))?/m.exec(snapshot.texts['pnpm-lock.yaml'] ?? '');
    const major = m ? Number(m[1]) : NaN;
    // Lockfile format to the pnpm major that writes it.
    version = major >= 9 ? '9' : major === 6 ? '8' : major === 5 ? '7' : undefined;
    if (version === undefined) {
      throw new ConfigError('Cannot tell which pnpm wrote pnpm-lock.yaml; set "packageManager" in package.json (for example "pnpm@9.12.0").');
    }
  }
  return {
    name: 'pnpm',
    berry: false,
    lockfile: 'pnpm-lock.yaml',
    setup: `npm install -g pnpm@${version}`,
    manifestFiles: ['package.json', 'pnpm-lock.yaml', ...(snapshot.exists.has('.npmrc') ? ['.npmrc'] : [])],
    installAll: 'pnpm install --frozen-lockfile --prod=false',
    installProd: 'pnpm install --frozen-lockfile --prod',
    prune: 'pnpm prune --prod',
    runScript: 'pnpm run',
    cacheDir: '/root/.local/share/pnpm/store',
    reason,
  };
}

function yarnModel(snapshot: ProjectSnapshot, fieldVersion: string | undefined, reason: string): PackageManagerModel {
  const lock = snapshot.texts['yarn.lock'] ?? '';
  const berry = /^__metadata:/m.test(lock) || (fieldVersion !== undefined && !fieldVersion.startsWith('1.'));
  if (!berry) {
    const version = fieldVersion ?? YARN_CLASSIC_VERSION;
    return {
      name: 'yarn',
      berry: false,
      lockfile: 'yarn.lock',
      // Official node images ship yarn 1; install it only where it is missing.
      setup: `command -v yarn >/dev/null || npm install -g yarn@${version}`,
      // .yarnrc may point yarn-path at a checked-in release under .yarn/releases.
      manifestFiles: ['package.json', 'yarn.lock', ...['.npmrc', '.yarnrc', '.yarn/releases'].filter((f) => snapshot.exists.has(f))],
      installAll: 'yarn install --frozen-lockfile --production=false',
      installProd: 'yarn install --frozen-lockfile --production',
      prune: 'yarn install --frozen-lockfile --production --ignore-scripts --prefer-offline',
      runScript: 'yarn run',
      cacheDir: '/usr/local/share/.cache/yarn',
      reason,
    };
  }
  if (fieldVersion === undefined) {
    throw new ConfigError('yarn.lock was written by yarn 2 or newer; set "packageManager" in package.json (run corepack use yarn@4) so the image installs the same yarn.');
  }
  const rc = snapshot.texts['.yarnrc.yml'] ?? '';
  const linker = /^nodeLinker:\s*["']?([\w-]+)/m.exec(rc)?.[1];
  if (linker !== 'node-modules') {
    throw new ConfigError(
      'Yarn Plug\'n\'Play installs no node_modules, so the container cannot find the spoolkit command. ' +
        'Add "nodeLinker: node-modules" to .yarnrc.yml, run yarn install, and re-run spoolkit init.',
    );
  }
  const manifest = ['package.json', 'yarn.lock', '.yarnrc.yml'];
  if (snapshot.exists.has('.yarn/releases')) manifest.push('.yarn/releases');
  return {
    name: 'yarn',
    berry: true,
    lockfile: 'yarn.lock',
    // Node 25 and later images no longer ship corepack: install it where it is missing.
    setup: 'command -v corepack >/dev/null || npm install -g corepack && corepack enable',
    manifestFiles: manifest,
    installAll: 'yarn install --immutable',
    installProd: 'yarn workspaces focus --all --production',
    prune: 'yarn workspaces focus --all --production',
    runScript: 'yarn run',
    cacheDir: '/root/.yarn/berry/cache',
    reason,
  };
}
