/**
 * Detects how the app runs: its build script, the command that starts the web process, the
 * processors module the worker loads, and whether it declares job schedulers.
 *
 * The web command is exec'd by `spoolkit entrypoint web` without a shell or a package manager
 * (signals would not arrive through `npm run`). It is read with the runtime's own splitter, so
 * init accepts exactly what the entrypoint runs: quotes and `$PORT` yes, pipes and `&&` no.
 */
import { posix } from 'node:path';
import { splitCommandLine } from '../../entrypoint/command-line.js';
import { ConfigError } from '../../errors.js';
import { PROCESSOR_CANDIDATES, type ProjectSnapshot } from '../project.js';

/** The app's build step, run in the image's build stage. */
export interface BuildModel {
  readonly script: string;
}

/** The web command and where it came from. */
export interface WebCommandModel {
  /** As the user wrote it (an argv array is shown joined by spaces). */
  readonly command: string;
  /** What `spoolkit.web` must hold: the command line as written, or the argv array as written. */
  readonly saved: string | readonly string[];
  /** The argv with every variable unset (defaults applied); what the entry file is read from. */
  readonly argv: readonly string[];
  readonly source: 'spoolkit.web' | 'scripts.start' | 'main';
  /** The JavaScript file it runs, when one can be named (scanned for schedulers). */
  readonly entryFile: string | undefined;
}

/** The processors module. */
export interface ProcessorsModel {
  readonly path: string;
  readonly source: 'spoolkit.processors' | 'detected';
  readonly exists: boolean;
}

/** Whether the app declares schedulers, and where that was seen. */
export interface SchedulersModel {
  readonly detected: boolean;
  readonly foundIn: readonly string[];
}

const PACKAGE_RUNNERS = new Set(['npm', 'npx', 'pnpm', 'pnpx', 'yarn', 'bun', 'bunx']);

/** The build script, when package.json has one. */
export function detectBuild(snapshot: ProjectSnapshot): BuildModel | null {
  const scripts = objectField(snapshot.packageJson, 'scripts');
  return typeof scripts?.build === 'string' && scripts.build.trim() !== '' ? { script: 'build' } : null;
}

/** The web command: `spoolkit.web`, else `scripts.start`, else `node <main>`. */
export function detectWebCommand(snapshot: ProjectSnapshot, explicit: string | undefined): WebCommandModel {
  const saved = objectField(snapshot.packageJson, 'spoolkit')?.web;
  if (explicit !== undefined) return webCommand(explicit, 'spoolkit.web', '--web');
  if (saved !== undefined) {
    if (Array.isArray(saved) && saved.length > 0 && saved.every((a): a is string => typeof a === 'string')) return webArgv(saved);
    if (typeof saved !== 'string') {
      throw new ConfigError('package.json spoolkit.web must be a command string such as "node server.js", or a non-empty argv array such as ["node", "server.js"].');
    }
    return webCommand(saved, 'spoolkit.web', 'package.json spoolkit.web');
  }
  const start = objectField(snapshot.packageJson, 'scripts')?.start;
  if (typeof start === 'string' && start.trim() !== '') return webCommand(start, 'scripts.start', 'package.json scripts.start');
  const main = snapshot.packageJson.main;
  if (typeof main === 'string' && main.trim() !== '') return webCommand(`node ${main.trim()}`, 'main', 'package.json main');
  throw new ConfigError(
    'Cannot tell how to start the web process: package.json has no spoolkit.web, scripts.start or main. ' +
      'Pass --web "node server.js" (it is saved as spoolkit.web).',
  );
}

// The release command is written into the Procfile, compose.yaml, fly.toml, render.yaml and systemd
// units, which quote and expand differently, so it stays plain words.
const RELEASE_NOT_PLAIN = /[|&;<>()$`\\"'*?{}[\]~!#]/;

/** A release command (run once per deploy, before the new processes start): plain words, no quotes or variables. */
export function releaseCommand(command: string): readonly string[] {
  const { argv } = webCommand(command, 'spoolkit.web', '--release');
  if (RELEASE_NOT_PLAIN.test(command)) {
    throw new ConfigError(
      `--release ("${command.trim()}") uses quotes, variables or shell syntax, but it is written into the Procfile and every platform manifest, ` +
        'which quote and expand differently. Put that logic in a script and pass a plain command, for example --release "node migrate.js".',
    );
  }
  return argv;
}

function webCommand(command: string, source: WebCommandModel['source'], where: string): WebCommandModel {
  const trimmed = command.trim();
  if (trimmed === '') throw new ConfigError(`${where} is empty; pass --web "node server.js".`);
  // Variables are expanded when the entrypoint starts the command; here they are all unset, and a
  // `${VAR?}` the deployment will set is no error yet.
  const argv = splitCommandLine(trimmed, {}, where, { requireSet: false });
  checkProgram(argv, trimmed, where);
  return { command: trimmed, saved: trimmed, argv, source, entryFile: entryFileOf(argv) };
}

/** `spoolkit.web` as an argv array: run as written, with no splitting or expansion. */
function webArgv(argv: readonly string[]): WebCommandModel {
  const where = 'package.json spoolkit.web';
  checkProgram(argv, argv.join(' '), where);
  return { command: argv.join(' '), saved: argv, argv, source: 'spoolkit.web', entryFile: entryFileOf(argv) };
}

function entryFileOf(argv: readonly string[]): string | undefined {
  const entryFile = argv[0] === 'node' ? argv.slice(1).find((a) => !a.startsWith('-') && /\.(?:c|m)?(?:j|t)s$/.test(a)) : undefined;
  return entryFile === undefined ? undefined : normalizeRelative(entryFile);
}

function checkProgram(argv: readonly string[], trimmed: string, where: string): void {
  const first = (argv[0] ?? '').split('/').pop() ?? '';
  if (first === '') throw new ConfigError(`${where} is empty; pass --web "node server.js".`);
  if (PACKAGE_RUNNERS.has(first)) {
    throw new ConfigError(
      `${where} ("${trimmed}") starts the app through ${first}, which does not pass SIGTERM on, so jobs and requests would be cut off. ` +
        `Pass ${where === '--release' ? '--release' : '--web'} with the node command it ends up running, for example "node server.js".`,
    );
  }
}

/** The processors module: `spoolkit.processors` (or --processors), else the first conventional file found. */
export function detectProcessors(snapshot: ProjectSnapshot, explicit: string | undefined, hasBuild: boolean): ProcessorsModel {
  const saved = objectField(snapshot.packageJson, 'spoolkit')?.processors;
  const given = explicit ?? saved;
  if (given !== undefined) {
    if (typeof given !== 'string' || given.trim() === '') {
      throw new ConfigError('package.json spoolkit.processors must be a relative path such as "processors.js".');
    }
    const path = checkRelativePath(given.trim(), explicit !== undefined ? '--processors' : 'package.json spoolkit.processors');
    return { path, source: 'spoolkit.processors', exists: snapshot.exists.has(path) };
  }
  for (const candidate of PROCESSOR_CANDIDATES) {
    if (!snapshot.exists.has(candidate)) continue;
    if (candidate.endsWith('.ts')) {
      throw new ConfigError(
        `Found ${candidate}, but the container runs compiled JavaScript. ` +
          `Pass --processors with the file your ${hasBuild ? 'build writes (for example dist/processors.js)' : 'app runs'}.`,
      );
    }
    return { path: candidate, source: 'detected', exists: true };
  }
  throw new ConfigError(
    'No processors module found (looked for spoolkit.processors in package.json, then ' +
      `${PROCESSOR_CANDIDATES.filter((c) => !c.endsWith('.ts')).join(', ')}). ` +
      'Pass --processors <file> with the module that exports your queue processors.',
  );
}

function checkRelativePath(value: string, where: string): string {
  const normalized = normalizeRelative(value);
  if (posix.isAbsolute(value) || normalized.startsWith('../') || normalized === '..' || value.includes('\\')) {
    throw new ConfigError(`${where} must be a path inside the app, relative to package.json; got "${value}".`);
  }
  return normalized;
}

function normalizeRelative(value: string): string {
  return posix.normalize(value).replace(/^\.\//, '');
}

/** Looks for scheduler declarations in the processors module and the web entry file. */
export function detectSchedulers(snapshot: ProjectSnapshot, files: readonly (string | undefined)[]): SchedulersModel {
  const foundIn: string[] = [];
  for (const file of new Set(files)) {
    if (file === undefined) continue;
    const text = snapshot.texts[file];
    if (text !== undefined && /\bupsertJobScheduler\s*\(|\bschedulers\s*:/.test(text)) foundIn.push(file);
  }
  return { detected: foundIn.length > 0, foundIn };
}

function objectField(obj: Readonly<Record<string, unknown>>, key: string): Record<string, unknown> | undefined {
  const v = obj[key];
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
