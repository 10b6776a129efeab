/**
 * `spoolkit status`: a table of queues (counts per state, oldest waiting age, throughput over
 * the last minute) and workers; `--json` for scripts; `--watch` redraws it until interrupted.
 */
import type { Command } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import { UsageError } from '../../errors.js';
import { integerOption, listOption } from '../options.js';
import { existingSpoolRoot, readStatus } from '../spool-access.js';
import type { SetExitCode } from './index.js';

interface StatusFlags {
  spool?: string;
  queues?: string[];
  json?: boolean;
  watch?: boolean;
  intervalMs: number;
  count?: number;
}

/** Registers `spoolkit status`. */
export function register(program: Command, setExitCode: SetExitCode): void {
  program
    .command('status')
    .description('Show queues (counts per state, oldest waiting age, last-minute throughput) and live workers')
    .option('-s, --spool <path>', 'spool directory or file:// URL (default: SPOOLKIT_SPOOL, then ./.spool)')
    .option('-q, --queues <names>', 'only these queues (comma-separated)', listOption)
    .option('--json', 'print the status as one JSON object')
    .option('-w, --watch', 'redraw every --interval-ms until interrupted')
    .option('--interval-ms <ms>', 'refresh interval for --watch', integerOption('--interval-ms', 100), 2000)
    .option('--count <n>', 'with --watch: stop after this many refreshes', integerOption('--count', 1))
    .action(async (flags: StatusFlags) => {
      if (flags.count !== undefined && flags.watch !== true) throw new UsageError('--count only counts the refreshes of --watch; add --watch, or leave --count out.');
      const root = existingSpoolRoot(flags.spool);
      const { formatStatus } = await import('../../status/index.js');
      const render = async (): Promise<string> => {
        const status = await readStatus(root, flags.queues);
        return flags.json ? `${JSON.stringify(status)}\n` : formatStatus(status);
      };
      if (!flags.watch) {
        process.stdout.write(await render());
        setExitCode(0);
        return;
      }
      // Ctrl-C ends the wait between refreshes at once.
      const interrupted = new AbortController();
      const onSigint = (): void => interrupted.abort();
      process.once('SIGINT', onSigint);
      const clear = process.stdout.isTTY && !flags.json ? '\u001b[2J\u001b[H' : '';
      try {
        for (let i = 0; !interrupted.signal.aborted && (flags.count === undefined || i < flags.count); i++) {
          if (i > 0) await sleep(flags.intervalMs, undefined, { signal: interrupted.signal }).catch(() => undefined);
          if (interrupted.signal.aborted) break;
          const text = await render();
          process.stdout.write(flags.json ? text : `${clear}${new Date().toISOString()}\n${text}${clear ? '' : '\n'}`);
        }
      } finally {
        process.off('SIGINT', onSigint);
      }
      setExitCode(0);
    });
}
