/**
 * How the entrypoint decides what to run. The role is chosen explicitly, never guessed from the
 * shape of the command line:
 *
 * 1. The first argument, when it is a role (`web`, `worker`, `all`, `scheduler`, `health`): that
 *    role, with the remaining arguments passed to it.
 * 2. The first argument, when it names a spoolkit command (`status`, `jobs`, `queue`, ...):
 *    `spoolkit <args...>`.
 * 3. Any other first argument: a command passed through unchanged (`sh`, `node script.js`). When
 *    it is not a program on PATH either, the entrypoint exits 127 and lists the roles.
 * 4. No argument: SPOOLKIT_ROLE, which must be a role (anything else is a config error, exit 2).
 * 5. No argument and no SPOOLKIT_ROLE: a usage error (exit 2).
 */
import { isRole, parseRole, ROLES, type Role } from '../config.js';
import { UsageError } from '../errors.js';

/** What the entrypoint will do. */
export type EntrypointPlan =
  | { kind: 'role'; role: Role; args: string[]; source: 'argument' | 'SPOOLKIT_ROLE' }
  | { kind: 'spoolkit'; args: string[] }
  | { kind: 'exec'; argv: string[] };

/** Decides what to run from the arguments after `entrypoint`, the environment and the CLI's command names. */
export function planEntrypoint(args: readonly string[], env: NodeJS.ProcessEnv, spoolkitCommands: readonly string[]): EntrypointPlan {
  const [first, ...rest] = args;
  if (first !== undefined) {
    if (isRole(first)) return { kind: 'role', role: first, args: rest, source: 'argument' };
    if (spoolkitCommands.includes(first) && first !== 'entrypoint') return { kind: 'spoolkit', args: [...args] };
    return { kind: 'exec', argv: [...args] };
  }
  const fromEnv = env.SPOOLKIT_ROLE;
  if (fromEnv !== undefined && fromEnv !== '') return { kind: 'role', role: parseRole(fromEnv, 'SPOOLKIT_ROLE'), args: [], source: 'SPOOLKIT_ROLE' };
  throw new UsageError(`No role given: pass one as the first argument (${ROLES.join(', ')}) or set SPOOLKIT_ROLE, e.g. "spoolkit entrypoint worker".`);
}
