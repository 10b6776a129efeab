/**
 * `spoolkit queue ...`: pause and resume a queue (workers stop and start claiming its jobs), and
 * clean old finished jobs.
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { integerOption } from '../options.js';
import { existingSpoolRoot, withQueue } from '../spool-access.js';
import type { SetExitCode } from './index.js';

const CLEANABLE = ['completed', 'failed', 'delayed', 'waiting', 'prioritized'] as const;
type Cleanable = (typeof CLEANABLE)[number];

function parseCleanState(value: string): Cleanable {
  if ((CLEANABLE as readonly string[]).includes(value)) return value as Cleanable;
  throw new UsageError(`--state must be one of ${CLEANABLE.join(', ')}; got "${value}".`);
}

/** Registers `spoolkit queue` and its subcommands. */
export function register(program: Command, setExitCode: SetExitCode): void {
  const queueCmd = program.command('queue').description('Pause, resume and clean queues');
  const spoolOption = ['-s, --spool <path>', 'spool directory or file:// URL (default: SPOOLKIT_SPOOL, then ./.spool)'] as const;

  queueCmd
    .command('pause <queue>')
    .description('Stop workers from claiming new jobs of the queue (running jobs finish; new jobs still queue up)')
    .option(...spoolOption)
    .action(async (name: string, flags: { spool?: string }) => {
      await withQueue(existingSpoolRoot(flags.spool), name, (q) => q.pause(), { create: true });
      process.stdout.write(`Queue "${name}" is paused.\n`);
      setExitCode(0);
    });

  queueCmd
    .command('resume <queue>')
    .description('Let workers claim jobs of the queue again')
    .option(...spoolOption)
    .action(async (name: string, flags: { spool?: string }) => {
      await withQueue(existingSpoolRoot(flags.spool), name, (q) => q.resume(), { create: true });
      process.stdout.write(`Queue "${name}" is running.\n`);
      setExitCode(0);
    });

  queueCmd
    .command('clean <queue>')
    .description('Remove jobs in a state that finished (or were added) longer ago than --grace-ms')
    .option(...spoolOption)
    .option('--state <state>', `one of ${CLEANABLE.join(', ')}`, parseCleanState, 'completed' as Cleanable)
    .option('--grace-ms <ms>', 'keep jobs younger than this', integerOption('--grace-ms'), 3_600_000)
    .option('-n, --limit <n>', 'remove at most this many (0 = no limit)', integerOption('--limit'), 0)
    .option('--json', 'print the removed ids as a JSON array')
    .action(async (name: string, flags: { spool?: string; state: Cleanable; graceMs: number; limit: number; json?: boolean }) => {
      const ids = await withQueue(existingSpoolRoot(flags.spool), name, (q) => q.clean(flags.graceMs, flags.limit, flags.state));
      process.stdout.write(flags.json ? `${JSON.stringify(ids)}\n` : `Removed ${ids.length} ${flags.state} job(s) older than ${flags.graceMs} ms from queue "${name}".\n`);
      setExitCode(0);
    });
}
