/**
 * `spoolkit jobs ...`: job operations for the person on call. list, show, add, retry, remove,
 * promote. Each prints a short confirmation (or JSON with --json) on stdout; a job that does not
 * exist exits 1; bad input (JSON, state names) exits 2.
 */
import type { Command } from 'commander';
import { parseJsonArgument } from '../../config.js';
import { SpoolkitError, UsageError } from '../../errors.js';
import { integerOption } from '../options.js';
import { existingSpoolRoot, withQueue } from '../spool-access.js';
import type { SetExitCode } from './index.js';

/** States a job can be listed by. */
export const LISTABLE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed', 'waiting-children'] as const;
type ListableState = (typeof LISTABLE_STATES)[number];

function parseState(value: string): ListableState {
  if ((LISTABLE_STATES as readonly string[]).includes(value)) return value as ListableState;
  throw new UsageError(`--state must be one of ${LISTABLE_STATES.join(', ')}; got "${value}".`);
}

function parseFinishedState(value: string): 'failed' | 'completed' {
  if (value === 'failed' || value === 'completed') return value;
  throw new UsageError(`--state must be failed or completed; got "${value}".`);
}

function notFound(queue: string, id: string): SpoolkitError {
  return new SpoolkitError('ERR_JOB_NOT_FOUND', `No job "${id}" in queue "${queue}"; list jobs with "spoolkit jobs list ${queue} --state <state>".`);
}

type JobView = Record<string, unknown> & { id?: string; name: string; data: unknown; opts: Record<string, unknown> };

function summary(job: JobView, state: string, now: number): (string | number)[] {
  const finished = typeof job.finishedOn === 'number' ? job.finishedOn : undefined;
  const at = finished ?? (typeof job.processedOn === 'number' ? job.processedOn : (job.timestamp as number));
  const reason = typeof job.failedReason === 'string' ? job.failedReason : '';
  return [String(job.id), job.name, state, `${String(job.attemptsMade ?? 0)}/${maxAttempts(job.opts)}`, `${now - at >= 0 ? fmtAge(now - at) : '-'}`, reason];
}

/** Attempts a job gets, as BullMQ counts them: `attempts`, at least 1 (0 or none means one). */
function maxAttempts(opts: Record<string, unknown> | undefined): number {
  const n = opts?.attempts;
  return typeof n === 'number' && n > 1 ? n : 1;
}

let fmtAge: (ms: number) => string = (ms) => `${ms}ms`;

/** Registers `spoolkit jobs` and its subcommands. */
export function register(program: Command, setExitCode: SetExitCode): void {
  const jobs = program.command('jobs').description('List, show, add, retry, remove and promote jobs');
  const spoolOption = ['-s, --spool <path>', 'spool directory or file:// URL (default: SPOOLKIT_SPOOL, then ./.spool)'] as const;

  jobs
    .command('list <queue>')
    .description('List jobs of a queue in one state, newest first')
    .option(...spoolOption)
    .option('--state <state>', `one of ${LISTABLE_STATES.join(', ')}`, parseState, 'waiting' as ListableState)
    .option('-n, --limit <n>', 'at most this many jobs', integerOption('--limit', 1), 20)
    .option('--json', 'print the jobs as a JSON array')
    .action(async (queueName: string, flags: { spool?: string; state: ListableState; limit: number; json?: boolean }) => {
      const root = existingSpoolRoot(flags.spool);
      const { formatTable, formatAge, truncate } = await import('../../status/index.js');
      fmtAge = formatAge;
      await withQueue(root, queueName, async (queue) => {
        const list = (await queue.getJobs([flags.state], 0, flags.limit - 1, false)) as unknown as JobView[];
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(list.map((j) => toJson(j)))}\n`);
        } else if (list.length === 0) {
          process.stdout.write(`No ${flags.state} jobs in queue "${queueName}".\n`);
        } else {
          const now = Date.now();
          process.stdout.write(formatTable(['ID', 'NAME', 'STATE', 'ATTEMPTS', 'AGE', 'REASON'], list.map((j) => summary(j, flags.state, now).map((c, i) => (i === 5 ? truncate(String(c), 60) : c)))));
        }
      });
      setExitCode(0);
    });

  jobs
    .command('show <queue> <id>')
    .description('Show one job: state, data, options, progress, attempts, result, failure and stack trace, logs')
    .option(...spoolOption)
    .option('--json', 'print the job as JSON')
    .action(async (queueName: string, id: string, flags: { spool?: string; json?: boolean }) => {
      const root = existingSpoolRoot(flags.spool);
      await withQueue(root, queueName, async (queue) => {
        const job = (await queue.getJob(id)) as unknown as (JobView & { getState(): Promise<string> }) | undefined;
        if (!job) throw notFound(queueName, id);
        const state = await job.getState();
        const logs = await queue.getJobLogs(id, 0, 99, true);
        const view = { ...toJson(job), state, logs: logs.logs, logCount: logs.count };
        process.stdout.write(flags.json ? `${JSON.stringify(view)}\n` : formatJob(view));
      });
      setExitCode(0);
    });

  jobs
    .command('add <queue> <name> [data]')
    .description('Add a job; data is JSON (default {})')
    .option(...spoolOption)
    .option('--opts <json>', 'job options as JSON (attempts, backoff, delay, priority, jobId, ...)')
    .option('--delay-ms <ms>', 'run no earlier than this many ms from now', integerOption('--delay-ms'))
    .option('--attempts <n>', 'attempts before the job fails for good', integerOption('--attempts', 1))
    .option('--priority <n>', 'priority (1 is highest; 0 = none)', integerOption('--priority'))
    .option('--job-id <id>', 'custom job id (adding an id that exists is a no-op)')
    .option('--json', 'print the added job as JSON')
    .action(async (queueName: string, name: string, dataText: string | undefined, flags: { spool?: string; opts?: string; delayMs?: number; attempts?: number; priority?: number; jobId?: string; json?: boolean }) => {
      const data = dataText === undefined ? {} : parseJsonArgument(dataText, 'The job data');
      const optsValue = flags.opts === undefined ? {} : parseJsonArgument(flags.opts, '--opts');
      if (typeof optsValue !== 'object' || optsValue === null || Array.isArray(optsValue)) throw new UsageError('--opts must be a JSON object, e.g. \'{"attempts":3}\'.');
      const opts: Record<string, unknown> = { ...(optsValue as Record<string, unknown>) };
      if (flags.delayMs !== undefined) opts.delay = flags.delayMs;
      if (flags.attempts !== undefined) opts.attempts = flags.attempts;
      if (flags.priority !== undefined) opts.priority = flags.priority;
      if (flags.jobId !== undefined) opts.jobId = flags.jobId;
      const root = existingSpoolRoot(flags.spool);
      await withQueue(root, queueName, async (queue) => {
        // An id that exists makes the add a no-op (as in BullMQ): say so rather than "Added".
        const existed = flags.jobId !== undefined && (await queue.getJob(flags.jobId)) !== undefined;
        const job = (await queue.add(name, data as never, opts as never)) as unknown as JobView;
        const text = existed
          ? `Job ${String(job.id)} already exists in queue "${queueName}"; nothing was added (the job keeps its own name and data).`
          : `Added job ${String(job.id)} ("${name}") to queue "${queueName}".`;
        process.stdout.write(flags.json ? `${JSON.stringify(toJson(job))}\n` : `${text}\n`);
      }, { create: true });
      setExitCode(0);
    });

  jobs
    .command('retry <queue> [id]')
    .description('Retry one failed job, or every failed job with --all')
    .option(...spoolOption)
    .option('--all', 'retry every job in --state')
    .option('--state <state>', 'failed or completed', parseFinishedState, 'failed' as const)
    .action(async (queueName: string, id: string | undefined, flags: { spool?: string; all?: boolean; state: 'failed' | 'completed' }) => {
      if ((id === undefined) === (flags.all !== true)) throw new UsageError('Give a job id, or --all (not both).');
      const root = existingSpoolRoot(flags.spool);
      await withQueue(root, queueName, async (queue) => {
        if (id !== undefined) {
          const job = await queue.getJob(id);
          if (!job) throw notFound(queueName, id);
          await job.retry(flags.state);
          process.stdout.write(`Job ${id} in queue "${queueName}" is waiting again.\n`);
        } else {
          const before = (await queue.getJobCounts(flags.state))[flags.state] ?? 0;
          await queue.retryJobs({ state: flags.state });
          process.stdout.write(`Retried ${before} ${flags.state} job(s) in queue "${queueName}".\n`);
        }
      });
      setExitCode(0);
    });

  jobs
    .command('remove <queue> <ids...>')
    .description('Remove jobs (an active job under a live lease cannot be removed)')
    .option(...spoolOption)
    .action(async (queueName: string, ids: string[], flags: { spool?: string }) => {
      const root = existingSpoolRoot(flags.spool);
      let failed = 0;
      await withQueue(root, queueName, async (queue) => {
        for (const id of ids) {
          // remove() answers 1 for a missing job, as BullMQ does: look first.
          if ((await queue.getJobState(id)) === 'unknown') {
            failed++;
            process.stderr.write(`spoolkit: no job "${id}" in queue "${queueName}".\n`);
          } else if (await queue.remove(id)) {
            process.stdout.write(`Removed job ${id} from queue "${queueName}".\n`);
          } else {
            failed++;
            process.stderr.write(`spoolkit: job "${id}" in queue "${queueName}" is held by a running worker; try again once it finishes.\n`);
          }
        }
      });
      setExitCode(failed > 0 ? 1 : 0);
    });

  jobs
    .command('promote <queue> [id]')
    .description('Run a delayed job now, or every delayed job with --all')
    .option(...spoolOption)
    .option('--all', 'promote every delayed job')
    .action(async (queueName: string, id: string | undefined, flags: { spool?: string; all?: boolean }) => {
      if ((id === undefined) === (flags.all !== true)) throw new UsageError('Give a job id, or --all (not both).');
      const root = existingSpoolRoot(flags.spool);
      await withQueue(root, queueName, async (queue) => {
        if (id !== undefined) {
          const job = await queue.getJob(id);
          if (!job) throw notFound(queueName, id);
          await job.promote();
          process.stdout.write(`Job ${id} in queue "${queueName}" is waiting now.\n`);
        } else {
          const before = (await queue.getJobCounts('delayed')).delayed ?? 0;
          await queue.promoteJobs();
          process.stdout.write(`Promoted ${before} delayed job(s) in queue "${queueName}".\n`);
        }
      });
      setExitCode(0);
    });
}

function toJson(job: JobView): Record<string, unknown> {
  const keys = ['id', 'name', 'data', 'opts', 'progress', 'attemptsMade', 'attemptsStarted', 'stalledCounter', 'timestamp', 'delay', 'priority', 'processedOn', 'finishedOn', 'returnvalue', 'failedReason', 'stacktrace', 'processedBy'];
  const out: Record<string, unknown> = {};
  for (const k of keys) if (job[k] !== undefined) out[k] = job[k];
  return out;
}

function formatJob(view: Record<string, unknown>): string {
  const iso = (v: unknown): string => (typeof v === 'number' ? new Date(v).toISOString() : '-');
  const lines = [
    `Job ${String(view.id)} ("${String(view.name)}") in state ${String(view.state)}`,
    `  added:      ${iso(view.timestamp)}${typeof view.delay === 'number' && view.delay > 0 ? ` (delay ${view.delay} ms)` : ''}`,
    `  processed:  ${iso(view.processedOn)}`,
    `  finished:   ${iso(view.finishedOn)}`,
    `  attempts:   ${String(view.attemptsMade ?? 0)} made of ${maxAttempts(view.opts as Record<string, unknown> | undefined)}`,
    `  progress:   ${JSON.stringify(view.progress ?? 0)}`,
    `  data:       ${JSON.stringify(view.data)}`,
    `  options:    ${JSON.stringify(view.opts)}`,
  ];
  if (view.returnvalue !== undefined && view.returnvalue !== null) lines.push(`  result:     ${JSON.stringify(view.returnvalue)}`);
  if (view.failedReason) lines.push(`  failed:     ${String(view.failedReason)}`);
  const stack = Array.isArray(view.stacktrace) ? (view.stacktrace as string[]) : [];
  if (stack.length > 0) lines.push('  stacktrace:', ...stack.flatMap((s, i) => [`    [attempt ${i + 1}]`, ...String(s).split('\n').map((l) => `      ${l}`)]));
  const logs = Array.isArray(view.logs) ? (view.logs as string[]) : [];
  lines.push(`  logs (${String(view.logCount ?? logs.length)}):`, ...logs.map((l) => `    ${l}`));
  return `${lines.join('\n')}\n`;
}
