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
  --role <role>            this container's role (${ROLES.join(', ')}); default SPOOLKIT_ROLE, then the
                           role in this host's heartbeat
  --spool <path>           spool directory or file:// URL (default SPOOLKIT_SPOOL, then ./.spool)
  --queues <names>         only these queues (comma-separated)
  --max-waiting <n>        backlogged above this many waiting jobs (default ${HEALTH_DEFAULTS.maxWaiting})
  --max-age-ms <ms>        backlogged when the oldest waiting job is older (default ${HEALTH_DEFAULTS.maxAgeMs})
  --stale-after-ms <ms>    a heartbeat older than this is stale (default ${HEALTH_DEFAULTS.staleAfterMs})
  --strict                 a backlog is unhealthy too (for CI)
  -h, --help               show this help
`;

/** Parses the arguments after `health`. Never throws. */
export function parseHealthArgs(argv: readonly string[], env: NodeJS.ProcessEnv): HealthArgs {
  const out: HealthArgs = { role: undefined, spool: undefined, queues: undefined, ...HEALTH_DEFAULTS, strict: false, help: false, errors: [] };
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        role: { type: 'string' },
        spool: { type: 'string' },
        queues: { type: 'string' },
        'max-waiting': { type: 'string' },
        'max-age-ms': { type: 'string' },
        'stale-after-ms': { type: 'string' },
        strict: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    out.errors.push(`Bad arguments for spoolkit health: ${(err as Error).message}. Fix the healthcheck command (see spoolkit health --help).`);
    return out;
  }
  out.help = values.help === true;
  out.strict = values.strict === true;
  out.spool = values.spool as string | undefined;
  if (typeof values.queues === 'string') out.queues = values.queues.split(',').map((s) => s.trim()).filter(Boolean);
  const role = (values.role as string | undefined) ?? (env.SPOOLKIT_ROLE || undefined);
  if (role !== undefined) {
    if (isRole(role)) out.role = role;
    else out.errors.push(`${values.role !== undefined ? '--role' : 'SPOOLKIT_ROLE'} must be one of ${ROLES.join(', ')}; got "${role}". Fix the healthcheck command or the variable.`);
  }
  const num = (flag: string, key: 'maxWaiting' | 'maxAgeMs' | 'staleAfterMs', min: number): void => {
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
