import type { Command } from 'commander';
import { register as registerInit } from './init.js';
import { register as registerPs } from './ps.js';
import { register as registerScheduler } from './scheduler.js';
import { register as registerWorker } from './worker.js';
import { register as registerHealth } from './health.js';
import { register as registerStatus } from './status.js';
import { register as registerMetrics } from './metrics.js';
import { register as registerJobs } from './jobs.js';
import { register as registerQueue } from './queue.js';
import { register as registerEntrypoint } from './entrypoint.js';

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
  registerWorker(program, setExitCode);
  registerHealth(program, setExitCode);
  registerStatus(program, setExitCode);
  registerMetrics(program, setExitCode);
  registerJobs(program, setExitCode);
  registerQueue(program, setExitCode);
  registerEntrypoint(program, setExitCode);
}
