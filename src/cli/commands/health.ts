/**
 * `spoolkit health`. Its arguments are parsed by the health module itself, not by commander, so
 * a bad flag is reported in the JSON line with exit 1 (Docker reserves exit 2 for healthchecks).
 */
import type { Command } from 'commander';
import { argsAfterCommand } from '../self.js';
import type { SetExitCode } from './index.js';

/** Registers `spoolkit health`. */
export function register(program: Command, setExitCode: SetExitCode): void {
  program
    .command('health')
    .description('Container healthcheck: one JSON line; exit 0 ok or backlogged, 1 unhealthy (never 2)')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[options...]', 'see spoolkit health --help')
    .action(async (_options: string[], _flags: unknown, command: Command) => {
      const rawArgs = ((command.parent ?? command) as unknown as { rawArgs?: string[] }).rawArgs ?? process.argv;
      const { runHealth } = await import('../../health/index.js');
      const run = await runHealth(argsAfterCommand(rawArgs, 'health'), process.env);
      process.stdout.write(run.output);
      setExitCode(run.exitCode);
    });
}
