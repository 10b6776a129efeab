import type { Command } from 'commander';
import { register as registerInit } from './init.js';
import { register as registerPs } from './ps.js';
import { register as registerScheduler } from './scheduler.js';

/** Sets the process exit code a command wants once it returns (commands never call process.exit). */
export type SetExitCode = (code: number) => void;

/**
 * Every subcommand module exports `register(program, setExitCode)`. Add one import and one call
 * per command here; the command's own file holds its options, help and behaviour.
 */
export function registerCommands(program: Command, setExitCode: SetExitCode): void {
  void program;
  void setExitCode;
  registerInit(program, setExitCode);
  registerPs(program, setExitCode);
  registerScheduler(program, setExitCode);
}
