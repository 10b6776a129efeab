/**
 * Reads what the generator needs to know about an app from its directory: package.json, which
 * lockfiles and config files exist, and the text of a few small files. This is the only module
 * of the generator that reads the app; everything after it is a pure function of the snapshot.
 */
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { ConfigError } from '../errors.js';

/** The parts of an app directory the generator looks at. */
export interface ProjectSnapshot {
  /** Absolute directory of the app. */
  readonly dir: string;
  /** package.json, parsed. */
  readonly packageJson: Readonly<Record<string, unknown>>;
  /** package.json as it is on disk (to merge saved options without reformatting it needlessly). */
  readonly packageJsonText: string;
  /** Relative paths that exist, among those probed. */
  readonly exists: ReadonlySet<string>;
  /** Text of the small files that were read, by relative path. */
  readonly texts: Readonly<Record<string, string>>;
  /**
   * When the app is a package inside a workspace (an enclosing directory's package.json has
   * `workspaces`, or it holds pnpm-workspace.yaml): the path from the app to that root, e.g. "../..".
   */
  readonly workspaceRoot?: string;
  /**
   * When the app is in a git work tree and git answered: the paths of `exists` that git ignores
   * (any .gitignore up to the repository root, .git/info/exclude, the global excludesfile; a
   * tracked file is never listed). Absent otherwise: the app's own .gitignore is read instead.
   */
  readonly gitIgnored?: ReadonlySet<string>;
}

/** How many directories above the app are searched for an enclosing workspace root. */
const WORKSPACE_SEARCH_DEPTH = 5;

/** Files whose presence decides something (lockfiles, package manager and workspace config). */
export const PROBED_PATHS = [
  'package-lock.json',
  'npm-shrinkwrap.json',
  'pnpm-lock.yaml',
  'yarn.lock',
  'pnpm-workspace.yaml',
  '.npmrc',
  '.yarnrc',
  '.yarnrc.yml',
  '.yarn/releases',
  // Compose files that a new compose.yaml would hide (Compose prefers compose.yaml).
  'compose.yml',
  'docker-compose.yaml',
  'docker-compose.yml',
  '.yarn/patches',
  '.yarn/plugins',
  '.pnpmfile.cjs',
] as const;

/** Small files whose text is read when present. */
export const TEXT_PATHS = ['.nvmrc', '.node-version', '.gitignore', '.npmrc', '.yarnrc', '.yarnrc.yml', 'pnpm-lock.yaml', 'yarn.lock'] as const;

/** Where a processors module is looked for when package.json does not name one. */
export const PROCESSOR_CANDIDATES = [
  'processors.js',
  'processors.mjs',
  'processors.cjs',
  'src/processors.js',
  'src/processors.mjs',
  'lib/processors.js',
  'dist/processors.js',
  'src/processors.ts',
] as const;

const MAX_TEXT_BYTES = 256 * 1024;
// Lockfiles can be large; only their first lines are needed (format version, yarn flavour).
const LOCKFILE_HEAD_BYTES = 4096;

/**
 * Reads an app directory. `extraTexts` are more relative paths whose text is wanted (the
 * processors module and the web entry file named by the options).
 */
export async function readProject(dir: string, extraTexts: readonly string[] = []): Promise<ProjectSnapshot> {
  const pkgPath = join(dir, 'package.json');
  let packageJsonText: string;
  try {
    packageJsonText = await readFile(pkgPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ConfigError(`No package.json in ${dir}: run spoolkit init in the root of a Node.js app (or pass --dir).`, { cause: err });
    }
    throw err;
  }
  let packageJson: unknown;
  try {
    packageJson = JSON.parse(packageJsonText);
  } catch (err) {
    throw new ConfigError(`${pkgPath} is not valid JSON (${(err as Error).message}); fix it and re-run.`, { cause: err });
  }
  if (typeof packageJson !== 'object' || packageJson === null || Array.isArray(packageJson)) {
    throw new ConfigError(`${pkgPath} must hold a JSON object.`);
  }
  const exists = new Set<string>();
  const texts: Record<string, string> = {};
  const probe = [...new Set([...PROBED_PATHS, ...TEXT_PATHS, ...PROCESSOR_CANDIDATES, ...extraTexts])];
  await Promise.all(
    probe.map(async (rel) => {
      const abs = join(dir, rel);
      const info = await stat(abs).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return undefined;
        throw err;
      });
      if (!info) return;
      exists.add(rel);
      const wanted = (TEXT_PATHS as readonly string[]).includes(rel) || extraTexts.includes(rel) || (PROCESSOR_CANDIDATES as readonly string[]).includes(rel);
      if (wanted && info.isFile()) {
        const limit = rel.endsWith('.lock') || rel.endsWith('-lock.yaml') ? LOCKFILE_HEAD_BYTES : MAX_TEXT_BYTES;
        texts[rel] = await readHead(abs, limit);
      }
    }),
  );
  const workspaceRoot = await findWorkspaceRoot(dir);
  const gitIgnored = await askGitIgnored(dir, [...exists].sort());
  return {
    dir,
    packageJson: packageJson as Record<string, unknown>,
    packageJsonText,
    exists,
    texts,
    ...(workspaceRoot === undefined ? {} : { workspaceRoot }),
    ...(gitIgnored === undefined ? {} : { gitIgnored }),
  };
}

/** How long git may take to answer before init falls back to reading .gitignore. */
const GIT_TIMEOUT_MS = 5_000;

/**
 * Which of `paths` (relative to `dir`) git ignores, by `git check-ignore`; undefined when `dir` is
 * not in a work tree, git is missing or fails. One process for all paths, so init stays fast.
 */
function askGitIgnored(dir: string, paths: readonly string[]): Promise<ReadonlySet<string> | undefined> {
  if (paths.length === 0) return Promise.resolve(new Set());
  return new Promise((done) => {
    const child = execFile('git', ['check-ignore', '-z', '--stdin'], { cwd: dir, timeout: GIT_TIMEOUT_MS, encoding: 'utf8' }, (err, stdout) => {
      // Exit 1: none is ignored. 128 (not a work tree) or no git: fall back.
      const code = (err as { code?: unknown } | null)?.code;
      if (err && code !== 1) return done(undefined);
      const listed = new Set(stdout.split('\0').filter((p) => p !== ''));
      done(new Set(paths.filter((p) => listed.has(p))));
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(paths.join('\0') + '\0');
  });
}

async function findWorkspaceRoot(dir: string): Promise<string | undefined> {
  let current = resolve(dir);
  for (let up = 1; up <= WORKSPACE_SEARCH_DEPTH; up++) {
    const parent = dirname(current);
    if (parent === current) return undefined;
    current = parent;
    if (await isFile(join(current, 'pnpm-workspace.yaml'))) return relative(dir, current).split(sep).join('/');
    const text = await readFile(join(current, 'package.json'), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    try {
      const pkg = JSON.parse(text) as unknown;
      if (typeof pkg === 'object' && pkg !== null && 'workspaces' in pkg) return relative(dir, current).split(sep).join('/');
    } catch {
      // An unreadable package.json above the app is not this app's concern.
    }
  }
  return undefined;
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

async function readHead(path: string, limit: number): Promise<string> {
  const buf = await readFile(path);
  return buf.subarray(0, limit).toString('utf8');
}

/** Builds a snapshot from in-memory files (tests and previews); `files` maps relative paths to text. */
export function snapshotFromFiles(dir: string, files: Readonly<Record<string, string>>): ProjectSnapshot {
  const text = files['package.json'];
  if (text === undefined) throw new ConfigError(`No package.json in ${dir}.`);
  const exists = new Set<string>();
  for (const rel of Object.keys(files)) {
    exists.add(rel);
    // A file under a probed directory means the directory exists too.
    for (const probed of PROBED_PATHS) if (rel.startsWith(`${probed}/`)) exists.add(probed);
  }
  return { dir, packageJson: JSON.parse(text) as Record<string, unknown>, packageJsonText: text, exists, texts: { ...files } };
}
