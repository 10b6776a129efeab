/**
 * `spoolkit entrypoint [role] [args...]`: the container entrypoint (after tini). The rules for
 * choosing the role are in src/entrypoint/plan.ts and docs/runtime.md.
 */
import type { Command } from 'commander';
import { parseInteger, spoolRootFrom } from '../../config.js';
import { MAX_TIMER_MS } from '../options.js';
import { optionValueIn } from '../option-value.js';
import { shutdownTimeoutFrom } from './worker.js';
import { spoolkitCliArgv } from '../self.js';
import type { SetExitCode } from './index.js';

/** Registers `spoolkit entrypoint`. */
export function register(program: Command, setExitCode: SetExitCode): void {
  // Options after the role belong to the role, not to spoolkit.
  program.enablePositionalOptions();
  program
    .command('entrypoint')
    .description('Container entrypoint: run a role (web, worker, all, scheduler, health) or pass a command through')
    .argument('[role]', 'web | worker | all | scheduler | health, a spoolkit command, or any program (default: SPOOLKIT_ROLE)')
    .argument('[args...]', 'arguments for the role or the program')
    .passThroughOptions()
    .allowUnknownOption()
    .addHelpText(
      'after',
      `
The first argument picks what runs: a role; else a spoolkit command (status, jobs, ...); else a
program run unchanged (e.g. sh). With no argument, SPOOLKIT_ROLE must name a role. Before web,
worker, all and scheduler the spool is checked (exists, writable by this uid, one filesystem);
a problem exits 2 with the fix. Exit code: the program's, or 128 + signal; 127 when the first
argument is neither a role, a spoolkit command nor a program; 127 (not found) or 126 (not
executable) when the web command cannot be started. In all, the worker drains if the entrypoint
is killed; the web command is the app's and is not stopped then.`,
    )
    .action(async (role: string | undefined, args: string[]) => {
      const { runEntrypoint } = await import('../../entrypoint/index.js');
      const code = await runEntrypoint(role === undefined ? [] : [role, ...args], {
        env: process.env,
        cwd: process.cwd(),
        spoolkitCommands: program.commands.map((c) => c.name()),
        runCli: async (cliArgs) => {
          const { runCliInProcess } = await import('../in-process.js');
          return runCliInProcess(cliArgs);
        },
        cliArgv: spoolkitCliArgv(),
        spoolRoot: (flag) => spoolRootFrom(flag, process.env),
        spoolFlag: (command, cliArgs) => {
          const cmd = program.commands.find((c) => c.name() === command);
          return cmd === undefined ? { value: undefined } : optionValueIn(cmd, 'spool', cliArgs);
        },
        checkSpool: async (root) => {
          const { checkSpool } = await import('../../spool/check.js');
          // Once per start, so it may look further below the state directories than health does (at most about 0.1 s).
          return checkSpool(root, { maxBucketDirs: 20_000 });
        },
        warn: (text) => process.stderr.write(text),
        // In the all role, the worker drains for up to its shutdown timeout before it exits.
        // Read only there: health, web and passthrough commands must run whatever it is set to.
        stopTimeoutMs: (workerArgs) => allRoleStopTimeoutMs(program, workerArgs, process.env),
      });
      setExitCode(code);
    });
}


/**
 * How long the `all` role's children get after a stop before they are killed: the worker's own
 * shutdown timeout (its --shutdown-timeout-ms among `workerArgs`, read as the worker command will
 * read it, else SPOOLKIT_SHUTDOWN_TIMEOUT_MS, else the default) plus 5 s to hand jobs back.
 */
export function allRoleStopTimeoutMs(program: Command, workerArgs: readonly string[], env: NodeJS.ProcessEnv): number {
  const worker = program.commands.find((c) => c.name() === 'worker');
  const flag = worker === undefined ? undefined : optionValueIn(worker, 'shutdownTimeoutMs', workerArgs)?.value;
  const ms = flag === undefined ? undefined : parseInteger(flag, '--shutdown-timeout-ms', { max: MAX_TIMER_MS });
  return Math.min(shutdownTimeoutFrom(ms, env) + 5000, MAX_TIMER_MS);
}
