/**
 * The role the entrypoint of this container actually runs, for `spoolkit health`.
 *
 * The healthcheck is a separate process the engine starts in the container (`docker exec`), with
 * the image's environment: `docker run <worker image> scheduler` or compose `command: scheduler`
 * runs a scheduler while the healthcheck still sees the image's `SPOOLKIT_ROLE=worker`. Nothing
 * the entrypoint could write would be safe to read back by place alone (a host running several
 * entrypoints shares /tmp and the spool), so health asks the processes themselves, through /proc:
 *
 * - a process in this pid namespace (a container's processes, or a host's),
 * - running this same spoolkit's CLI (the script path, resolved against the process's working
 *   directory, is this installation's `cli/main.js`) with `entrypoint` as its command,
 * - started with the same `SPOOLKIT_ROLE` as this health check: then the health check's
 *   `SPOOLKIT_ROLE` is the default that entrypoint's argument overrode, not a choice of its own
 *   (a health check on a host given `SPOOLKIT_ROLE=worker` for a worker started some other way
 *   keeps it),
 * - whose first argument is a role other than `health` (or, with no argument, whose
 *   `SPOOLKIT_ROLE` is one).
 *
 * When every such process runs the same role, that is the role; when there is none, or they run
 * different roles (several entrypoints on one host), health keeps `SPOOLKIT_ROLE`. Reading
 * /proc costs well under a millisecond in a container; at most `MAX_PROCESSES` are looked at.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRole, type Role } from '../config.js';

/** Processes looked at, at most (a container has a handful; a busy host a few hundred). */
const MAX_PROCESSES = 4096;

function readOr<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

/** Real paths of this installation's CLI main module (built, or the source when run through tsx). */
function ownMainPaths(): Set<string> {
  const out = new Set<string>();
  for (const ext of ['js', 'ts']) {
    const p = readOr(() => fs.realpathSync(fileURLToPath(new URL(`../cli/main.${ext}`, import.meta.url))), '');
    if (p) out.add(p);
  }
  return out;
}

/** `SPOOLKIT_ROLE` in a process's initial environment ('' when unset), or undefined when it cannot be read. */
function roleVariableOf(pidDir: string): string | undefined {
  const environ = readOr(() => fs.readFileSync(path.join(pidDir, 'environ'), 'latin1'), undefined);
  if (environ === undefined) return undefined;
  const entry = environ.split('\0').find((e) => e.startsWith('SPOOLKIT_ROLE='));
  return entry === undefined ? '' : entry.slice('SPOOLKIT_ROLE='.length);
}

/** What one entrypoint runs: its role, and the spool its role's `--spool` names (absolute), if any. */
export interface RunningEntrypoint {
  role: Role;
  spool?: string;
}

/**
 * The last `--spool` / `--spool=` / `-s` / `-s<path>` among a role's arguments, as the worker and
 * scheduler commands read it (an empty value is no flag), resolved against `cwd`.
 */
export function spoolFlagOf(args: readonly string[], cwd: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--') break;
    if (a === '--spool' || a === '-s') value = args[++i];
    else if (a.startsWith('--spool=')) value = a.slice('--spool='.length);
    else if (a.startsWith('-s') && !a.startsWith('--')) value = a.slice(2);
  }
  return value === undefined || value === '' ? undefined : value.startsWith('file:') ? value : path.resolve(cwd, value);
}

/** What one process runs as this installation's entrypoint, or undefined when it is not one (see the module comment). */
function entrypointOf(pidDir: string, argv: string[], mains: Set<string>, ownRoleVariable: string): RunningEntrypoint | undefined {
  const k = argv.indexOf('entrypoint', 1);
  if (k < 1) return undefined;
  const script = argv[k - 1] as string;
  const cwd = readOr(() => fs.readlinkSync(path.join(pidDir, 'cwd')), '');
  if (!path.isAbsolute(script) && cwd === '') return undefined;
  if (!mains.has(readOr(() => fs.realpathSync(path.resolve(cwd, script)), ''))) return undefined;
  const roleVariable = roleVariableOf(pidDir);
  if (roleVariable !== ownRoleVariable) return undefined;
  const role = k + 1 < argv.length ? argv[k + 1] : roleVariable;
  if (role === undefined || !isRole(role) || role === 'health') return undefined;
  // The worker's (or scheduler's) own --spool: `docker run <image> worker --spool /data/spool`.
  const spool = role === 'worker' || role === 'all' || role === 'scheduler' ? spoolFlagOf(argv.slice(k + 2), cwd) : undefined;
  return spool === undefined ? { role } : { role, spool };
}

/**
 * The role this container's spoolkit entrypoint runs, with the spool its arguments name, or
 * undefined when health cannot tell (see the module comment). `procDir` is for tests.
 */
export function runningEntrypoint(env: NodeJS.ProcessEnv, procDir = '/proc'): RunningEntrypoint | undefined {
  const ownNamespace = readOr(() => fs.readlinkSync(path.join(procDir, 'self', 'ns', 'pid')), '');
  if (ownNamespace === '') return undefined;
  const mains = ownMainPaths();
  if (mains.size === 0) return undefined;
  const ownRoleVariable = env.SPOOLKIT_ROLE ?? '';
  const found = new Map<string, RunningEntrypoint>();
  let seen = 0;
  for (const name of readOr(() => fs.readdirSync(procDir), [] as string[])) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    if (++seen > MAX_PROCESSES) break;
    const pidDir = path.join(procDir, name);
    // The command line first: anyone may read it, and it rules out nearly every process.
    const argv = readOr(() => fs.readFileSync(path.join(pidDir, 'cmdline'), 'utf8'), '').split('\0');
    if (!argv.includes('entrypoint')) continue;
    if (argv.at(-1) === '') argv.pop();
    // A process of a container below this namespace shows here too; its paths are not ours.
    if (readOr(() => fs.readlinkSync(path.join(pidDir, 'ns', 'pid')), '') !== ownNamespace) continue;
    const entry = entrypointOf(pidDir, argv, mains, ownRoleVariable);
    if (entry !== undefined) found.set(`${entry.role}\0${entry.spool ?? ''}`, entry);
  }
  // Several entrypoints of one role and spool (tini's child and the `all` role's worker) agree.
  return found.size === 1 ? [...found.values()][0] : undefined;
}

/** The role alone (see {@link runningEntrypoint}). */
export function runningEntrypointRole(env: NodeJS.ProcessEnv, procDir = '/proc'): Role | undefined {
  return runningEntrypoint(env, procDir)?.role;
}
