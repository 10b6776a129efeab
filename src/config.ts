/**
 * Configuration for the CLI and the container runtime: environment variables and flags, parsed
 * strictly. A bad value is refused with an error that names the variable or flag, the value
 * received and what would be accepted, never silently replaced by a default.
 *
 * Variables (one prefix): SPOOLKIT_SPOOL, SPOOLKIT_ROLE, SPOOLKIT_CONCURRENCY,
 * SPOOLKIT_PROCESSORS, SPOOLKIT_SHUTDOWN_TIMEOUT_MS (written by the generator next to the stop
 * grace period it derives from it), plus LOG_LEVEL and LOG_FORMAT. Flags win over variables, variables over
 * package.json, package.json over defaults.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { ConfigError } from './errors.js';
import { assertNoEdgeBlanks, spoolPathFromUrl } from './spool/root.js';
import { loggerOptionsFromEnv, type LoggerOptions } from './log.js';

/** Container roles the entrypoint knows. */
export const ROLES = ['web', 'worker', 'all', 'scheduler', 'health'] as const;

/** One of {@link ROLES}. */
export type Role = (typeof ROLES)[number];

/** True when `value` names a role. */
export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

/** Parses a role from `source` (a variable or flag name, used in the error). */
export function parseRole(value: string, source: string): Role {
  if (isRole(value)) return value;
  throw new ConfigError(`${source} must be one of ${ROLES.join(', ')}; got "${value}". Set it to the role this container plays.`);
}

/** Bounds for {@link parseInteger}. */
export interface IntegerBounds {
  min?: number;
  max?: number;
}

/**
 * Parses a whole number from a flag or variable: digits only (no "10ms", no "1e3", no blanks),
 * within bounds. `source` names the flag or variable in the error.
 */
export function parseInteger(value: string, source: string, bounds: IntegerBounds = {}): number {
  const text = value.trim();
  const min = bounds.min ?? 0;
  const max = bounds.max ?? Number.MAX_SAFE_INTEGER;
  const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
  if (!/^-?\d+$/.test(text)) throw new ConfigError(`${source} must be a whole number ${range}; got "${value}".`);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new ConfigError(`${source} must be a whole number ${range}; got ${text}.`);
  return n;
}

/** Reads an optional integer variable, undefined when unset or empty. */
export function envInteger(env: NodeJS.ProcessEnv, name: string, bounds: IntegerBounds = {}): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  return parseInteger(raw, name, bounds);
}

/** Parses JSON given on the command line or in a variable; the error names the source and the fix. */
export function parseJsonArgument(text: string, source: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ConfigError(`${source} is not valid JSON (${(err as Error).message}). Quote it for the shell, e.g. '{"to":"a@example.com"}'.`, { cause: err });
  }
}

/** Logger options from LOG_LEVEL and LOG_FORMAT, as a ConfigError when either is wrong. */
export function loggerOptions(env: NodeJS.ProcessEnv = process.env): LoggerOptions {
  try {
    return loggerOptionsFromEnv(env);
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}. Fix or unset the variable.`, { cause: err });
  }
}

/**
 * The spool root as an absolute path: the flag, else SPOOLKIT_SPOOL, else `./.spool`, resolved
 * against `cwd`. Accepts a path or a `file:` URL (see `spoolPathFromUrl`); any other URL scheme is refused.
 */
export function spoolRootFrom(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  const source = flag !== undefined && flag !== '' ? '--spool' : 'SPOOLKIT_SPOOL';
  const raw = flag !== undefined && flag !== '' ? flag : env.SPOOLKIT_SPOOL;
  if (raw === undefined || raw === '') return resolve(cwd, '.spool');
  assertNoEdgeBlanks(raw, source);
  const fromUrl = spoolPathFromUrl(raw, source);
  if (fromUrl !== undefined) return fromUrl;
  return isAbsolute(raw) ? raw : resolve(cwd, raw);
}

/** The `spoolkit` key of an app's package.json. */
export interface AppPackageConfig {
  /** Absolute path of the package.json read, or undefined when there is none. */
  packageJson: string | undefined;
  /** Processors module path as written (relative to the package.json directory). */
  processors: string | undefined;
  /** The web command: a string (split without a shell) or an argv array. */
  web: string | string[] | undefined;
}

/** Reads the `spoolkit` key from `<dir>/package.json`; a missing file gives empty config. */
export function readAppPackageConfig(dir = process.cwd()): AppPackageConfig {
  const packageJson = join(dir, 'package.json');
  if (!existsSync(packageJson)) return { packageJson: undefined, processors: undefined, web: undefined };
  let pkg: unknown;
  try {
    pkg = JSON.parse(readFileSync(packageJson, 'utf8')) as unknown;
  } catch (err) {
    throw new ConfigError(`${packageJson} is not valid JSON (${(err as Error).message}); fix the file.`, { cause: err });
  }
  const section = (pkg as { spoolkit?: unknown } | null)?.spoolkit;
  if (section === undefined) return { packageJson, processors: undefined, web: undefined };
  if (typeof section !== 'object' || section === null || Array.isArray(section)) {
    throw new ConfigError(`The "spoolkit" key in ${packageJson} must be an object like { "processors": "src/processors.js", "web": "node server.js" }.`);
  }
  const { processors, web } = section as { processors?: unknown; web?: unknown };
  if (processors !== undefined && typeof processors !== 'string') {
    throw new ConfigError(`"spoolkit.processors" in ${packageJson} must be a path string; got ${JSON.stringify(processors)}.`);
  }
  if (web !== undefined && typeof web !== 'string' && !(Array.isArray(web) && web.length > 0 && web.every((a) => typeof a === 'string'))) {
    throw new ConfigError(`"spoolkit.web" in ${packageJson} must be a command string or a non-empty array of strings; got ${JSON.stringify(web)}.`);
  }
  return { packageJson, processors, web: web as string | string[] | undefined };
}

/**
 * The processors module as an absolute path: `--processors`, else SPOOLKIT_PROCESSORS, else
 * `spoolkit.processors` in the app's package.json. Throws a ConfigError naming all three when
 * none is set, or when the file does not exist.
 */
export function resolveProcessorsPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  let source: string;
  let path: string;
  if (flag) {
    source = '--processors';
    path = resolve(cwd, flag);
  } else if (env.SPOOLKIT_PROCESSORS) {
    source = 'SPOOLKIT_PROCESSORS';
    path = resolve(cwd, env.SPOOLKIT_PROCESSORS);
  } else {
    const app = readAppPackageConfig(cwd);
    if (!app.processors || !app.packageJson) {
      throw new ConfigError('No processors module given: pass --processors <file>, set SPOOLKIT_PROCESSORS, or add "spoolkit": { "processors": "<file>" } to package.json.');
    }
    source = `"spoolkit.processors" in ${app.packageJson}`;
    path = resolve(dirname(app.packageJson), app.processors);
  }
  if (!existsSync(path)) throw new ConfigError(`The processors module ${path} (from ${source}) does not exist; check the path (relative paths start at ${cwd}).`);
  return path;
}
