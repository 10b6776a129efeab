/**
 * Detects how the app runs: its build script, the command that starts the web process, the
 * processors module the worker loads, and whether it declares job schedulers.
 *
 * The web command is exec'd by `spoolkit entrypoint web` without a shell or a package manager, so
 * it must be a plain argv: no pipes, variables or `npm run` in between (signals would not arrive).
 */
import { posix } from 'node:path';
import { ConfigError } from '../../errors.js';
import { PROCESSOR_CANDIDATES, type ProjectSnapshot } from '../project.js';

/** The app's build step, run in the image's build stage. */
export interface BuildModel {
  readonly script: string;
}

/** The web command and where it came from. */
export interface WebCommandModel {
  readonly command: string;
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

const SHELL_SYNTAX = /[|&;<>()$`\\"'*?{}[\]~!#]/;
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
    if (typeof saved !== 'string') throw new ConfigError('package.json spoolkit.web must be a string such as "node server.js".');
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

/** A release command (run once per deploy, before the new processes start): a plain argv, like the web command. */
export function releaseCommand(command: string): readonly string[] {
  return webCommand(command, 'spoolkit.web', '--release').argv;
}

function webCommand(command: string, source: WebCommandModel['source'], where: string): WebCommandModel {
  const trimmed = command.trim();
  const argv = trimmed.split(/\s+/).filter((t) => t.length > 0);
  const first = argv[0];
  if (first === undefined) throw new ConfigError(`${where} is empty; pass --web "node server.js".`);
  if (PACKAGE_RUNNERS.has(first)) {
    throw new ConfigError(
      `${where} ("${trimmed}") starts the app through ${first}, which does not pass SIGTERM on, so jobs and requests would be cut off. ` +
        `Pass ${where === '--release' ? '--release' : '--web'} with the node command it ends up running, for example "node server.js".`,
    );
  }
  if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(first)) {
    throw new ConfigError(`${where} ("${trimmed}") sets environment variables inline; set them in the environment instead and pass --web "node server.js".`);
  }
  if (SHELL_SYNTAX.test(trimmed)) {
    throw new ConfigError(
      `${where} ("${trimmed}") uses shell syntax, but the command is exec'd without a shell. ` +
        'Pass a plain command, for example --web "node server.js".',
    );
  }
  const entryFile = first === 'node' ? argv.slice(1).find((a) => !a.startsWith('-') && /\.(?:c|m)?(?:j|t)s$/.test(a)) : undefined;
  return { command: argv.join(' '), argv, source, entryFile: entryFile === undefined ? undefined : normalizeRelative(entryFile) };
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
