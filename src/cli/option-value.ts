/**
 * Reads one option's value from a subcommand's arguments the way commander will parse them when
 * the subcommand runs, without running it: the entrypoint needs the `--spool` that
 * `spoolkit worker|scheduler [args]` will use, to check that spool before it starts.
 */
import { Command, Option } from 'commander';

/**
 * The value `command` will see for its option `attribute` (e.g. `spool`) in `args`: `{ value }`
 * (undefined when the option is not given), or undefined when commander will refuse the
 * arguments (an option without its value); the command then reports that itself.
 */
export function optionValueIn(command: Command, attribute: string, args: readonly string[]): { value: string | undefined } | undefined {
  // A copy of the command's options without their value parsers, defaults or actions: only where
  // each option's value comes from (`-s x`, `-sx`, `--spool x`, `--spool=x`, the last one wins,
  // nothing after `--`, and which flags take a value) matters here.
  const probe = new Command()
    .exitOverride()
    .configureOutput({ writeErr: () => {}, writeOut: () => {}, outputError: () => {} })
    .allowUnknownOption()
    .allowExcessArguments();
  for (const o of command.options) probe.addOption(new Option(o.flags));
  try {
    probe.parseOptions([...args]);
  } catch {
    return undefined;
  }
  const value: unknown = probe.opts()[attribute];
  return { value: typeof value === 'string' ? value : undefined };
}
