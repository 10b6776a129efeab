/**
 * `spoolkit ps`: one row per container of a compose project (or of every container started from
 * a spoolkit image) with its service, role, state, health and the backlog its last healthcheck
 * reported. `--json` prints the rows as one JSON array on stdout.
 */
import type { Command } from 'commander';
import type { SetExitCode } from './index.js';

/** Registers `spoolkit ps`. Exits 0 when rows were listed, 1 when the engine cannot be reached. */
export function register(program: Command, setExitCode: SetExitCode): void {
  program
    .command('ps')
    .description('Show each spoolkit container with its role, health and the backlog its last healthcheck reported')
    .option('-p, --project <name>', 'only this compose project (default: every container from a spoolkit image)', process.env.COMPOSE_PROJECT_NAME)
    .option('--running', 'hide stopped containers')
    .option('--json', 'print the rows as a JSON array')
    .action(async (opts: { project?: string; running?: boolean; json?: boolean }) => {
      // dockerode is loaded only here: every other command (worker, entrypoint) starts without it.
      const { connectDocker, listContainerRows, formatRows } = await import('../../docker/index.js');
      const docker = connectDocker();
      const rows = await listContainerRows(docker, { project: opts.project, all: !opts.running });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(rows)}\n`);
      } else {
        process.stdout.write(formatRows(rows));
      }
      setExitCode(0);
    });
}
