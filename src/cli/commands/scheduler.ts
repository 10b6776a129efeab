/**
 * `spoolkit scheduler`: the scheduler role. Runs scheduler passes (job schedulers created with
 * `queue.upsertJobScheduler`) for the app's queues until SIGTERM or SIGINT, then exits 0; a
 * second signal exits 1 at once. Workers run the same passes, so this role is only needed when
 * no worker runs (or to keep schedules going while workers are scaled to zero). Any number of
 * replicas may run: each run is enqueued exactly once.
 */
import type { Command } from 'commander';
import { loggerOptions, parseInteger, spoolRootFrom } from '../../config.js';
import { createLogger } from '../../log.js';
import { DEFAULT_SCHEDULER_POLL_MS } from '../../scheduler/defaults.js';
import { DEFAULT_HEARTBEAT_INTERVAL_MS } from '../../spool/defaults.js';
import { integerOption } from '../options.js';
import type { SetExitCode } from './index.js';

interface SchedulerCommandOptions {
  queue?: string[];
  spool?: string;
  pollInterval?: string;
  heartbeatIntervalMs?: number;
}

/** Registers `spoolkit scheduler`. */
export function register(program: Command, setExitCode: SetExitCode): void {
  program
    .command('scheduler')
    .description('Run job schedulers (cron patterns and intervals) for the app\'s queues until SIGTERM')
    .option('-q, --queue <name>', 'a queue to run schedulers for; repeat for several (default: every queue on the spool that has schedulers)', collect)
    .option('-s, --spool <path>', 'spool directory or file:// URL (default: SPOOLKIT_SPOOL, then ./.spool)')
    .option('--poll-interval <ms>', `longest wait between passes, so schedulers added elsewhere are seen (default ${DEFAULT_SCHEDULER_POLL_MS})`)
    .option('--heartbeat-interval-ms <ms>', `how often the heartbeat file that \`spoolkit health\` reads is rewritten (default ${DEFAULT_HEARTBEAT_INTERVAL_MS})`, integerOption('--heartbeat-interval-ms', 1))
    .addHelpText(
      'after',
      '\nEach run is enqueued once however many scheduler processes or workers run. Runs that fell due\nwhile nothing ran collapse into one (the latest); see docs/scheduler.md.',
    )
    .action(async (opts: SchedulerCommandOptions) => {
      // Every line names the process, as a worker's do: several schedulers may share one host.
      const logger = createLogger({ ...loggerOptions(), fields: { pid: process.pid } }).child({ role: 'scheduler' });
      const spool = spoolRootFrom(opts.spool);
      const pollIntervalMs = opts.pollInterval === undefined ? DEFAULT_SCHEDULER_POLL_MS : parseInteger(opts.pollInterval, '--poll-interval', { min: 10, max: 3_600_000 });
      const controller = new AbortController();
      let signals = 0;
      const onSignal = (signal: NodeJS.Signals): void => {
        signals += 1;
        if (signals === 1) {
          logger.info('scheduler:stopping', { signal });
          controller.abort();
        } else {
          logger.warn('scheduler:forced', { signal });
          process.exit(1);
        }
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      // A hang-up (a closed terminal) stops it cleanly too, instead of killing it.
      process.on('SIGHUP', onSignal);
      // Loaded here, not at the top: every other command would otherwise pay for the cron library.
      const { runSchedulerLoop } = await import('../../scheduler/loop.js');
      try {
        await runSchedulerLoop({ spool, queues: opts.queue ?? [], signal: controller.signal, pollIntervalMs, logger, heartbeatMeta: { role: 'scheduler' }, ...(opts.heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs: opts.heartbeatIntervalMs }) });
      } finally {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
        process.off('SIGHUP', onSignal);
      }
      setExitCode(0);
    });
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((v) => v.trim()).filter(Boolean)];
}
