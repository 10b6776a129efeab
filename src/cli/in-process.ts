/**
 * Runs a spoolkit command inside the current process, as the entrypoint does for the `worker`,
 * `scheduler` and `health` roles (one Node process per container instead of two). It builds a
 * fresh command tree, because the CLI's main module is still running when the entrypoint calls
 * this and cannot be imported again.
 */
import { Command } from 'commander';
import { registerCommands } from './commands/index.js';
import { exitCodeFor } from './exit-code.js';

/** Runs `spoolkit <args>` in this process; resolves the exit code (0, 1 or 2). */
export async function runCliInProcess(args: readonly string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command('spoolkit')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) })
    .showHelpAfterError('(run with --help for usage)');
  registerCommands(program, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...args], { from: 'user' });
    return exitCode;
  } catch (err) {
    return exitCodeFor(err);
  }
}
