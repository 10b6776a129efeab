/**
 * How to start `spoolkit` again as a separate process (for the worker supervisor and the `all`
 * role): this Node binary, its flags, and the CLI's main module, run from TypeScript sources
 * through tsx when that is how this process runs.
 */
import { isSourceUrl, siblingPath } from '../thread-entry.js';

/** argv that starts the spoolkit CLI in a new process; append the subcommand and its arguments. */
export function spoolkitCliArgv(): string[] {
  const fromSource = isSourceUrl(import.meta.url);
  const main = siblingPath(import.meta.url, 'main');
  const flags = process.execArgv.filter((a) => !/^--(inspect|debug)/.test(a));
  if (fromSource && !flags.some((a, i) => a === 'tsx' && flags[i - 1] === '--import')) flags.push('--import', 'tsx');
  return [process.execPath, ...flags, main];
}

/**
 * The arguments given after `name` in this invocation (`spoolkit worker --max-jobs 5` gives
 * `['--max-jobs', '5']`), so a supervisor can start the same command again.
 */
export function argsAfterCommand(rawArgs: readonly string[], name: string): string[] {
  // The node binary and script come first when parsing process.argv; both are paths, never `name`.
  const i = rawArgs.indexOf(name);
  return i < 0 ? [] : rawArgs.slice(i + 1);
}
