/**
 * `spoolkit entrypoint [role] [args...]`: the container's entrypoint (after tini). See
 * `plan.ts` for how the role is chosen and `docs/runtime.md` for the full behaviour.
 *
 * - `web`: the app's web command (`spoolkit.web` in package.json, else the Procfile's `web:`
 *   line), spawned without a shell or npm, signals forwarded, its exit code returned.
 * - `worker`, `scheduler`: `spoolkit worker|scheduler [args]` in this process.
 * - `all`: the web command and `spoolkit worker` as two children; when either ends, the other is
 *   stopped, and the exit code is the first one's. The worker is linked to this process by an IPC
 *   channel, so it drains if the entrypoint is killed outright; the web command is not (it is the
 *   app's own program), and outlives a SIGKILLed entrypoint unless something stops its group.
 * - `health`: `spoolkit health [args]` in this process (no spool check first: health reports).
 * - a spoolkit command: run in this process; anything else: spawned unchanged.
 *
 * Before web, worker, all and scheduler, the spool the role will use is checked (the `--spool` in
 * the worker's or scheduler's arguments, else SPOOLKIT_SPOOL); a problem exits 2 with its fix.
 *
 * A web command that cannot be started (no such program, not executable) is reported in one line
 * naming the program, where the command came from and the fix; the exit code is a shell's (127,
 * 126), and in `all` the worker is then not started at all.
 */
import { PARENT_LINK_ENV } from '../runtime/signal-echo.js';
import { SpoolkitError } from '../errors.js';
import { forwardSignals, runForwarded, runTogether, startChild, whenStarted, type RunningChild } from './children.js';
import { planEntrypoint, type EntrypointPlan } from './plan.js';
import { formatSpoolProblems, type SpoolCheckResult } from './preflight.js';
import { describeWebStartFailure, EXIT_NOT_EXECUTABLE, resolveWebCommand, withPackageBins, type WebCommand } from './web-command.js';

export { planEntrypoint, type EntrypointPlan } from './plan.js';
export { resolveWebCommand, readProcfileLine } from './web-command.js';
export { splitCommandLine } from './command-line.js';

/** What the entrypoint needs from its surroundings (the CLI provides it; tests may too). */
export interface EntrypointContext {
  env: NodeJS.ProcessEnv;
  /** The app directory: package.json and Procfile are read here. */
  cwd: string;
  /** Names of spoolkit's subcommands, for passthrough. */
  spoolkitCommands: readonly string[];
  /** Runs `spoolkit <args>` in this process and resolves its exit code. */
  runCli(args: string[]): Promise<number>;
  /** argv that starts `spoolkit` as a separate process (for the `all` role). */
  cliArgv: readonly string[];
  /** The spool root for the preflight check: `flag` (a `--spool` value), else SPOOLKIT_SPOOL, else ./.spool. */
  spoolRoot(flag?: string): string;
  /**
   * The `--spool` that `spoolkit <command> <args>` will use, read as that command parses its
   * arguments (undefined value: none given); undefined when the command will refuse `args`.
   */
  spoolFlag(command: 'worker' | 'scheduler', args: readonly string[]): { value: string | undefined } | undefined;
  checkSpool(root: string): Promise<SpoolCheckResult>;
  /** Writes a diagnostic line to stderr. */
  warn(text: string): void;
  /**
   * How long `all` waits for the second child after the first ended, given the worker's
   * arguments; asked only by `all` (a bad setting is a config error there, not in other roles).
   * At most 2^31 - 1. Default 30000.
   */
  stopTimeoutMs?(workerArgs: readonly string[]): number;
}

/** Exit code for a passthrough command that is not a program on PATH (what shells use). */
export const EXIT_COMMAND_NOT_FOUND = 127;

/** Runs the entrypoint with the arguments after `entrypoint`; resolves the exit code. */
export async function runEntrypoint(args: readonly string[], ctx: EntrypointContext): Promise<number> {
  const plan = planEntrypoint(args, ctx.env, ctx.spoolkitCommands);
  return runPlan(plan, ctx);
}

async function runPlan(plan: EntrypointPlan, ctx: EntrypointContext): Promise<number> {
  switch (plan.kind) {
    case 'spoolkit':
      return ctx.runCli(plan.args);
    case 'exec':
      return runPassthrough(plan.argv, ctx);
    case 'role':
      break;
    default: {
      const never: never = plan;
      return never;
    }
  }
  const { role, args } = plan;
  if (role === 'health') return ctx.runCli(['health', ...args]);

  // The role is recorded for children and for heartbeats (health reads it back).
  const env: NodeJS.ProcessEnv = { ...ctx.env, SPOOLKIT_ROLE: role };
  // The spool checked is the one the role will use: a mistyped --spool must not pass because
  // SPOOLKIT_SPOOL is fine (the worker would make a private spool there), nor a good one be refused.
  const command = role === 'web' ? undefined : role === 'all' ? 'worker' : role;
  const flag = command === undefined ? { value: undefined } : ctx.spoolFlag(command, args);
  // No flag: the command will refuse its arguments, with a better message than a spool check's.
  if (flag !== undefined) {
    const root = ctx.spoolRoot(flag.value);
    const check = await ctx.checkSpool(root);
    if (!check.ok) {
      ctx.warn(formatSpoolProblems(root, check, flag.value === undefined ? undefined : `${command} --spool`));
      return 2;
    }
    // In `all`, the web command works on the worker's spool too.
    if (role === 'all' && flag.value !== undefined) env.SPOOLKIT_SPOOL = root;
  }
  switch (role) {
    case 'web': {
      const web = resolveWebCommand(ctx.cwd, env);
      const child = startChild('web', [...web.argv, ...args], withPackageBins(env, ctx.cwd));
      const stop = forwardSignals([child]);
      try {
        const failure = await whenStarted(child);
        if (failure) return reportWebStartFailure({ ...web, argv: [...web.argv, ...args] }, failure, ctx);
        return await child.exited;
      } finally {
        stop();
      }
    }
    case 'worker':
    case 'scheduler':
      process.env.SPOOLKIT_ROLE = role;
      return ctx.runCli([role, ...args]);
    case 'all': {
      const stopTimeoutMs = ctx.stopTimeoutMs?.(args) ?? 30_000;
      const web = resolveWebCommand(ctx.cwd, env);
      const started = await startWeb(web, env, ctx);
      if (typeof started === 'number') return started;
      // The IPC channel is the worker's link to this process: if the entrypoint is killed, the
      // channel closes and the worker drains instead of running on as an orphan.
      const worker = startChild('worker', [...ctx.cliArgv, 'worker', ...args], { ...env, [PARENT_LINK_ENV]: '1' }, { ipc: true });
      return runTogether([started, worker], stopTimeoutMs);
    }
    default: {
      const never: never = role;
      return never;
    }
  }
}

/**
 * Starts the web command for `all` and waits until it runs, so that the worker is started only
 * next to a web command that could start. Resolves the child, or the exit code to end with: a
 * shell's code after a start failure (reported), or the web command's own when a signal stopped
 * the container while it was starting.
 */
async function startWeb(web: WebCommand, env: NodeJS.ProcessEnv, ctx: EntrypointContext): Promise<RunningChild | number> {
  const child = startChild('web', web.argv, withPackageBins(env, ctx.cwd));
  let signalled = false;
  const stop = forwardSignals([child], () => {
    signalled = true;
  });
  try {
    const failure = await whenStarted(child);
    if (failure) return reportWebStartFailure(web, failure, ctx);
    if (signalled) return await child.exited;
    return child;
  } finally {
    stop();
  }
}

function reportWebStartFailure(web: WebCommand, err: NodeJS.ErrnoException, ctx: EntrypointContext): number {
  const { code, message } = describeWebStartFailure(web, err, ctx.cwd);
  ctx.warn(message);
  return code;
}

async function runPassthrough(argv: string[], ctx: EntrypointContext): Promise<number> {
  try {
    return await runForwarded('command', argv, ctx.env);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      ctx.warn(
        `spoolkit: "${argv[0]}" is not a role (web, worker, all, scheduler, health), not a spoolkit command and not a program that can be run (${code}). ` +
          `Pass a role, or the full path of the program to run.\n`,
      );
      return EXIT_COMMAND_NOT_FOUND;
    }
    if (code === 'EACCES') {
      // Found but not executable: a shell's 126, as for the web command.
      ctx.warn(`spoolkit: "${argv[0]}" is not executable (EACCES). Make it executable (chmod +x) or run it through its interpreter (e.g. sh ${argv[0]}).\n`);
      return EXIT_NOT_EXECUTABLE;
    }
    throw new SpoolkitError('ERR_CONFIG', `Could not start "${argv.join(' ')}": ${(err as Error).message}`, { cause: err });
  }
}
