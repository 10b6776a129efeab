#!/usr/bin/env node
/**
 * The `spoolkit` command. The only place in the package that prints errors and sets exit codes:
 * 0 ok, 1 failure or unhealthy, 2 usage or configuration error.
 */
import { Command, CommanderError } from 'commander';
import { SpoolkitError } from '../errors.js';
import { registerCommands } from './commands/index.js';
import { packageVersion } from './version.js';

export async function main(argv: readonly string[] = process.argv): Promise<number> {
  const program = new Command('spoolkit')
    .description('Background jobs for Node.js on a shared spool directory, with a BullMQ-compatible API.')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) })
    .showHelpAfterError('(run with --help for usage)');

  let exitCode = 0;
  registerCommands(program, (code) => {
    exitCode = code;
  });

  try {
    await program.parseAsync([...argv]);
    return exitCode;
  } catch (err) {
    return exitCodeFor(err);
  }
}

/** Maps anything thrown by a command to an exit code, printing a one-line reason on stderr. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) {
    // Commander already printed its message; help and version exit 0.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    return 2;
  }
  if (err instanceof SpoolkitError) {
    process.stderr.write(`spoolkit: ${err.message}\n`);
    return err.code === 'ERR_CONFIG' || err.code === 'ERR_USAGE' ? 2 : 1;
  }
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`spoolkit: unexpected error: ${message}\n`);
  return 1;
}

const isMain = process.argv[1] !== undefined && import.meta.url === (await import('node:url')).pathToFileURL((await import('node:fs')).realpathSync(process.argv[1])).href;
if (isMain) {
  process.exitCode = await main();
}
