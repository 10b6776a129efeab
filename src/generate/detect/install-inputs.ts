/**
 * What the image's dependency install needs from the app besides package.json and the lockfile,
 * read from package.json and the files next to it:
 *
 * - paths the install reads: `file:`/`link:`/`portal:` dependencies, pnpm `patchedDependencies`,
 *   yarn berry `patch:` files, `.yarn/patches` and `.yarn/plugins`, `.pnpmfile.cjs`; they are
 *   copied next to the manifests, so the dependency layer stays cached until they change;
 * - root lifecycle scripts that run at install (preinstall, install, postinstall): they may read
 *   any file (patch-package, prisma generate), so the whole context is copied before installing;
 * - a root `prepare` script: npm, pnpm and yarn 1 run it on every install, but it is a development
 *   hook (husky) whose tool a production install does not have, so the image deletes it first; so
 *   is a root `prepublish` (npm and yarn 1 still run it on a plain install; an old-style build
 *   hook, `"prepublish": "tsc"`, which finds only the manifests there);
 * - registry settings (`.npmrc`, `.yarnrc`, `.yarnrc.yml`), which may hold a token: the install
 *   uses them, and they are removed from everything the runtime stage copies.
 */
import { posix } from 'node:path';
import { ConfigError } from '../../errors.js';
import type { ProjectSnapshot } from '../project.js';
import type { PackageManagerModel } from './package-manager.js';

/** The install's inputs beyond the manifests. */
export interface InstallInputsModel {
  /** Files or directories (relative, sorted) copied next to the manifests before installing. */
  readonly copy: readonly string[];
  /**
   * Why the whole context is copied before installing, or empty: root scripts that run at install
   * may read any file, and a local directory dependency gets a node_modules of its own.
   */
  readonly wholeContextReasons: readonly string[];
  /** Root scripts (prepublish, preprepare, prepare, postprepare) the image deletes before installing. */
  readonly skippedScripts: readonly string[];
  /** Registry settings the install reads, which never reach the runtime stage. */
  readonly registryConfigs: readonly string[];
  /**
   * Environment variables those settings read (`${NPM_TOKEN}`), sorted: the stages that install
   * declare them as build arguments, so `--build-arg NPM_TOKEN=…` reaches the install.
   */
  readonly registryArgs: readonly string[];
}

/** Root scripts every supported package manager runs at install. */
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall'] as const;
/**
 * Root scripts npm (and yarn 1, or pnpm for prepare) run on a plain install that are development or
 * publish hooks (husky, an old-style `"prepublish": "tsc"`): the deps stage holds only the manifests.
 */
const PREPARE_SCRIPTS = ['prepublish', 'preprepare', 'prepare', 'postprepare'] as const;
/** Files holding registry settings, and possibly an auth token. */
export const REGISTRY_CONFIG_FILES = ['.npmrc', '.yarnrc', '.yarnrc.yml'] as const;

const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'resolutions'] as const;

/** Reads what the install needs; refuses a local dependency outside the build context. */
export function detectInstallInputs(snapshot: ProjectSnapshot, pm: PackageManagerModel): InstallInputsModel {
  const pkg = snapshot.packageJson;
  const scripts = record(pkg.scripts);
  const hasScript = (name: string): boolean => typeof scripts?.[name] === 'string' && (scripts[name] as string).trim() !== '';

  const paths: string[] = [];
  const reasons: string[] = [];
  const lifecycle = INSTALL_SCRIPTS.filter(hasScript);
  if (lifecycle.length > 0) reasons.push(`package.json runs ${lifecycle.join(', ')} at install, which may read any file`);
  for (const field of DEPENDENCY_FIELDS) {
    for (const [name, spec] of Object.entries(record(pkg[field]) ?? {})) {
      if (typeof spec !== 'string') continue;
      const found = localPath(spec);
      if (found === undefined) continue;
      const path = inContext(found, `package.json ${field} "${name}": "${spec}"`);
      // A tarball is read; a directory is linked and gets its own node_modules, like a workspace.
      if (spec.startsWith('patch:') || /\.(tgz|tar\.gz|tar)$/.test(path)) paths.push(path);
      else reasons.push(`the dependency ${name} is the directory ${path}, installed with its own dependencies`);
    }
  }
  for (const [name, patch] of Object.entries(record(record(pkg.pnpm)?.patchedDependencies) ?? {})) {
    if (typeof patch === 'string') paths.push(inContext(patch, `package.json pnpm.patchedDependencies "${name}": "${patch}"`));
  }
  for (const extra of ['.pnpmfile.cjs', '.yarn/patches', '.yarn/plugins']) {
    if (snapshot.exists.has(extra) && (pm.name === 'pnpm') === (extra === '.pnpmfile.cjs')) paths.push(extra);
  }

  const manifests = new Set(pm.manifestFiles);
  const registryConfigs = REGISTRY_CONFIG_FILES.filter((f) => manifests.has(f));
  return {
    copy: outermost(paths.filter((p) => !manifests.has(p))),
    wholeContextReasons: reasons,
    // Yarn 2+ never runs prepare or prepublish on install.
    skippedScripts: pm.berry ? [] : PREPARE_SCRIPTS.filter(hasScript),
    registryConfigs,
    registryArgs: [...new Set(registryConfigs.flatMap((f) => envReferences(snapshot.texts[f] ?? '')))].sort(),
  };
}

/** Names read as `${NAME}` (or `${NAME:-default}`, `${NAME-default}`) in npm or yarn settings. */
export function envReferences(text: string): string[] {
  return [...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:[:?-][^}]*)?\}/g)].map((m) => m[1] as string);
}

/** The local path a dependency spec points at (file:, link:, portal:, a bare path, a berry patch file), if any. */
export function localPath(spec: string): string | undefined {
  const s = spec.trim();
  if (s.startsWith('patch:')) {
    const m = /#([^#]+)$/.exec(s);
    const file = m?.[1]?.replace(/::.*$/, '');
    if (file === undefined || !/^(~\/|\.\.?\/)/.test(file)) return undefined;
    return file.replace(/^~\//, '');
  }
  const prefixed = /^(?:file|link|portal):(.*)$/.exec(s);
  if (prefixed) return (prefixed[1] as string).replace(/^\/\/(?=\/)/, '');
  if (/^(\.\.?\/|\/|~\/)/.test(s) || s === '.' || s === '..') return s;
  return undefined;
}

function inContext(path: string, what: string): string {
  const normalized = posix.normalize(path.replace(/\\/g, '/')).replace(/\/+$/, '');
  if (path.startsWith('/') || path.startsWith('~') || normalized === '..' || normalized.startsWith('../') || normalized === '.' || normalized === '') {
    throw new ConfigError(
      `${what} points outside the app directory, which is the image's build context, so docker build cannot copy it. ` +
        'Move it inside the app (for a package: npm pack it into vendor/ and depend on "file:vendor/<name>.tgz"), ' +
        'publish it to a registry, or make the app a workspace of a root that contains both; then re-run spoolkit init.',
    );
  }
  return normalized;
}

/** Sorted, without duplicates and without paths inside another listed path. */
function outermost(paths: readonly string[]): string[] {
  const sorted = [...new Set(paths)].sort();
  return sorted.filter((p) => !sorted.some((q) => q !== p && p.startsWith(`${q}/`)));
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
