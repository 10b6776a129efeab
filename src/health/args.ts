/**
 * Arguments of `spoolkit health`, parsed without commander so a healthcheck starts fast, and
 * without ever failing as a usage error: a bad flag becomes an unhealthy reason (exit 1), since
 * Docker reserves exit code 2 for healthchecks.
 */
import { parseArgs } from 'node:util';
import { isRole, parseInteger, ROLES } from '../config.js';
import { STALE_HEARTBEAT_MS } from '../spool/defaults.js';

/** Parsed health options. */
export interface HealthArgs {
  role: string | undefined;
  spool: string | undefined;
  queues: string[] | undefined;
  maxWaiting: number;
  maxAgeMs: number;
  staleAfterMs: number;
  strict: boolean;
  help: boolean;
  /** Problems with the arguments, reported as unhealthy reasons. */
  errors: string[];
}

/** Defaults: generous, because a backlog alone is not a failure unless --strict asks. */
export const HEALTH_DEFAULTS = { maxWaiting: 1000, maxAgeMs: 60_000, staleAfterMs: STALE_HEARTBEAT_MS } as const;

/** The `--help` text of `spoolkit health`. */
export const HEALTH_HELP = `Usage: spoolkit health [options]

Container healthcheck: prints one JSON line (status ok | backlogged | unhealthy, counts per state,
oldest waiting age, live workers, this container's role and heartbeat age, reasons when unhealthy).
Exit 0 for ok and backlogged, 1 for unhealthy; never 2, even for bad flags.

Options:
  --role <role>            this container's role (${ROLES.join(', ')}); default the role its
                           spoolkit entrypoint runs (docker run <image> scheduler), then
                           SPOOLKIT_ROLE, then the role in this host's heartbeat
  -s, --spool <path>       spool directory or file:// URL (default SPOOLKIT_SPOOL, then ./.spool)
  --queues <names>         only these queues (comma-separated)
  --max-waiting <n>        backlogged above this many jobs ready to run, waiting and prioritized
                           (default ${HEALTH_DEFAULTS.maxWaiting})
  --max-age-ms <ms>        backlogged when the oldest waiting job is older (default ${HEALTH_DEFAULTS.maxAgeMs})
  --stale-after-ms <ms>    a heartbeat older than this is stale (default ${HEALTH_DEFAULTS.staleAfterMs})
  --strict                 a backlog is unhealthy too (for CI)
  -h, --help               show this help
`;

/** The flags of `spoolkit health`: string flags take a value, boolean flags none. */
const HEALTH_OPTIONS = {
  role: { type: 'string' },
  spool: { type: 'string', short: 's' },
  queues: { type: 'string' },
  'max-waiting': { type: 'string' },
  'max-age-ms': { type: 'string' },
  'stale-after-ms': { type: 'string' },
  strict: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type HealthFlag = keyof typeof HEALTH_OPTIONS;

function isHealthFlag(name: string): name is HealthFlag {
  return Object.hasOwn(HEALTH_OPTIONS, name);
}

/**
 * Reads the flags one by one, so that a mistyped flag is reported while every other value is
 * still used (a healthcheck with a typo must not fall back to the default spool).
 */
function readFlags(argv: readonly string[], errors: string[]): Partial<Record<HealthFlag, string | boolean>> {
  const fix = 'Fix the healthcheck command (see spoolkit health --help).';
  const values: Partial<Record<HealthFlag, string | boolean>> = {};
  const { tokens } = parseArgs({ args: [...argv], strict: false, allowPositionals: true, tokens: true, options: HEALTH_OPTIONS });
  let afterUnknown = false;
  for (const t of tokens) {
    if (t.kind === 'option-terminator') continue;
    if (t.kind === 'positional') {
      // The value of a mistyped flag (`--max-wait 5`) is not reported a second time.
      if (!afterUnknown) errors.push(`Bad arguments for spoolkit health: unexpected argument "${t.value}". ${fix}`);
      afterUnknown = false;
      continue;
    }
    afterUnknown = false;
    if (!isHealthFlag(t.name)) {
      const near = Object.keys(HEALTH_OPTIONS).find((n) => n.startsWith(t.name) || t.name.startsWith(n));
      errors.push(`Bad arguments for spoolkit health: unknown option ${t.rawName}${near ? ` (did you mean --${near}?)` : ''}. ${fix}`);
      afterUnknown = t.value === undefined;
    } else if (HEALTH_OPTIONS[t.name].type === 'string' && (t.value === undefined || (!t.inlineValue && t.value.startsWith('-')))) {
      // `--spool --strict`: the next flag is not taken as the value (write --spool=-x for that).
      errors.push(`Bad arguments for spoolkit health: ${t.rawName} needs a value${t.value === undefined ? '' : ` (got the flag ${t.value}; write ${t.rawName}=${t.value} if that is the value)`}. ${fix}`);
    } else if (HEALTH_OPTIONS[t.name].type === 'boolean' && t.value !== undefined) {
      errors.push(`Bad arguments for spoolkit health: ${t.rawName} takes no value. ${fix}`);
    } else {
      values[t.name] = t.value ?? true;
    }
  }
  return values;
}

/**
 * Parses the arguments after `health`. Never throws: bad arguments become `errors`, and the other
 * values are kept. The role is `--role`, else `entrypoint()`'s (the role this container's
 * entrypoint runs, when it can be told: see `entrypoint-role.ts`), else `SPOOLKIT_ROLE`; the spool
 * is `--spool`, else the one that entrypoint's role was given with `--spool`, else the default.
 */
export function parseHealthArgs(argv: readonly string[], env: NodeJS.ProcessEnv, entrypoint: () => { role: string; spool?: string } | undefined = () => undefined): HealthArgs {
  const out: HealthArgs = { role: undefined, spool: undefined, queues: undefined, ...HEALTH_DEFAULTS, strict: false, help: false, errors: [] };
  const values = readFlags(argv, out.errors);
  out.help = values.help === true;
  out.strict = values.strict === true;
  if (typeof values.queues === 'string') out.queues = values.queues.split(',').map((s) => s.trim()).filter(Boolean);
  // Asked once, and only when the flags leave the role or the spool open.
  let running: { role: string; spool?: string } | undefined;
  let asked = false;
  const runningEntrypoint = (): { role: string; spool?: string } | undefined => {
    if (!asked) running = entrypoint();
    asked = true;
    return running;
  };
  const role = (typeof values.role === 'string' ? values.role : undefined) ?? runningEntrypoint()?.role ?? (env.SPOOLKIT_ROLE || undefined);
  // The spool the entrypoint's role was given (`worker --spool /x`) is the one its container uses.
  if (typeof values.spool === 'string') out.spool = values.spool;
  else if (typeof values.role !== 'string' || runningEntrypoint()?.role === values.role) out.spool = runningEntrypoint()?.spool;
  if (role !== undefined) {
    if (isRole(role)) out.role = role;
    else out.errors.push(`${values.role !== undefined ? '--role' : 'SPOOLKIT_ROLE'} must be one of ${ROLES.join(', ')}; got "${role}". Fix the healthcheck command or the variable.`);
  }
  const num = (flag: 'max-waiting' | 'max-age-ms' | 'stale-after-ms', key: 'maxWaiting' | 'maxAgeMs' | 'staleAfterMs', min: number): void => {
    const raw = values[flag];
    if (typeof raw !== 'string') return;
    try {
      out[key] = parseInteger(raw, `--${flag}`, { min });
    } catch (err) {
      out.errors.push(`${(err as Error).message} Fix the healthcheck command.`);
    }
  };
  num('max-waiting', 'maxWaiting', 0);
  num('max-age-ms', 'maxAgeMs', 0);
  num('stale-after-ms', 'staleAfterMs', 1);
  return out;
}
