/**
 * Exit codes of the spoolkit command: 0 ok, 1 failure, 2 usage or configuration error. Maps what a
 * command throws to its exit code and prints the one-line reason on stderr.
 */
import { CommanderError } from 'commander';
import { SpoolkitError, type SpoolkitErrorCode } from '../errors.js';

/**
 * Error codes that mean the input was wrong (a flag, an environment variable, job data or
 * options, a job option spoolkit does not support): the user fixes the command line, so exit 2.
 */
const INPUT_ERROR_CODES: ReadonlySet<SpoolkitErrorCode> = new Set<SpoolkitErrorCode>(['ERR_CONFIG', 'ERR_USAGE', 'ERR_INVALID_JOB', 'ERR_NOT_SUPPORTED']);

/** Maps anything thrown by a command to an exit code, printing a one-line reason on stderr. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) {
    // Commander already printed its message or the help. `--help`, `help` and `--version` exit 0;
    // help shown because no command was given (exitCode 1 from commander) is a usage error.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
    if (err.code === 'commander.help') return err.exitCode === 0 ? 0 : 2;
    return 2;
  }
  if (err instanceof SpoolkitError) {
    process.stderr.write(`spoolkit: ${err.message}\n`);
    return INPUT_ERROR_CODES.has(err.code) ? 2 : 1;
  }
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`spoolkit: unexpected error: ${message}\n`);
  return 1;
}
