/**
 * `spoolkit worker`: runs the app's processors. The heavy modules (the queue core, the runtime)
 * are imported only when the command runs, so other commands start fast.
 */
import type { Command } from 'commander';
import { envInteger } from '../../config.js';
import { integerOption, listOption, MAX_TIMER_MS } from '../options.js';
import { argsAfterCommand, spoolkitCliArgv } from '../self.js';
import { creatableSpoolRoot } from '../spool-access.js';
import type { SetExitCode } from './index.js';

/** Default time running jobs get after SIGTERM: below Compose's default stop_grace_period of 10 s. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 8000;

/**
 * The shutdown timeout from `flag` (--shutdown-timeout-ms), else SPOOLKIT_SHUTDOWN_TIMEOUT_MS,
 * else the default; at most {@link MAX_TIMER_MS}, as it sets a timer. A bad value is a ConfigError.
 */
export function shutdownTimeoutFrom(flag: number | undefined, env: NodeJS.ProcessEnv): number {
  return flag ?? envInteger(env, 'SPOOLKIT_SHUTDOWN_TIMEOUT_MS', { max: MAX_TIMER_MS }) ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
}

interface WorkerFlags {
  processors?: string;
  spool?: string;
  queues?: string[];
  concurrency?: number;
  shutdownTimeoutMs?: number;
  jobTimeoutMs: number;
  killGraceMs: number;
  maxJobs: number;
  maxMemoryMb: number;
  watch?: boolean;
  logPayloads?: boolean;
  threads?: boolean;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  heartbeatIntervalMs?: number;
  pollIntervalMs?: number;
}

/** Registers `spoolkit worker`. */
export function register(program: Command, setExitCode: SetExitCode): void {
  program
    .command('worker')
    .description('Run the processors of this app: one process serving every queue of the processors module')
    .option('-p, --processors <file>', 'processors module (default: SPOOLKIT_PROCESSORS, then "spoolkit.processors" in package.json)')
    .option('-s, --spool <path>', 'spool directory or file:// URL (default: SPOOLKIT_SPOOL, then ./.spool)')
    .option('-q, --queues <names>', 'only these queues of the processors module (comma-separated)', listOption)
    .option('-c, --concurrency <n>', 'jobs at once per queue, for queues that set none (default: SPOOLKIT_CONCURRENCY, then 1)', integerOption('--concurrency', 1))
    .option('--shutdown-timeout-ms <ms>', `after SIGTERM, how long running jobs may finish before they are handed back; keep it below the stop grace period (default: SPOOLKIT_SHUTDOWN_TIMEOUT_MS, then ${DEFAULT_SHUTDOWN_TIMEOUT_MS})`, integerOption('--shutdown-timeout-ms', 0, MAX_TIMER_MS))
    .option('--job-timeout-ms <ms>', 'time limit per job, for queues that set no timeoutMs (0 = none)', integerOption('--job-timeout-ms', 0, MAX_TIMER_MS), 0)
    .option('--kill-grace-ms <ms>', 'after a time limit aborts a job, how long before a sandboxed processor is killed', integerOption('--kill-grace-ms', 0, MAX_TIMER_MS), 5000)
    .option('--max-jobs <n>', 'replace the worker process after this many jobs (0 = never)', integerOption('--max-jobs'), 0)
    .option('--max-memory-mb <mb>', 'replace the worker process when its resident memory exceeds this (0 = never)', integerOption('--max-memory-mb'), 0)
    .option('--watch', 'reload processors when files next to the processors module change (development)')
    .option('--log-payloads', 'include job data and results in logs (off by default)')
    .option('--threads', 'run file processors in worker threads instead of child processes')
    .option('--lock-duration-ms <ms>', 'lease length: a job whose lease is not renewed this long is taken back', integerOption('--lock-duration-ms', 1, MAX_TIMER_MS))
    .option('--stalled-interval-ms <ms>', 'how often expired leases are looked for', integerOption('--stalled-interval-ms', 1, MAX_TIMER_MS))
    .option('--heartbeat-interval-ms <ms>', 'how often the heartbeat file is rewritten', integerOption('--heartbeat-interval-ms', 1, MAX_TIMER_MS))
    .option('--poll-interval-ms <ms>', 'idle poll interval (file-change events only wake it early)', integerOption('--poll-interval-ms', 1, MAX_TIMER_MS))
    .addHelpText(
      'after',
      `
Signals: SIGTERM, SIGINT or SIGHUP stops claiming and lets running jobs finish within
--shutdown-timeout-ms (at most ${MAX_TIMER_MS}); jobs still running then are handed back to the
queue; the exit code is 0. A second signal hands them back at once and exits 1; the same signal
again within 1 s of the first is taken for a copy of it (a signal to the whole process group also
comes forwarded by the parent process). Logs are JSON lines on stderr (LOG_LEVEL, LOG_FORMAT).`,
    )
    .action(async (flags: WorkerFlags, command: Command) => {
      const env = process.env;
      const { runWorkerCommand } = await import('../../runtime/run-worker.js');
      const workerOptions: Record<string, unknown> = {};
      if (flags.lockDurationMs !== undefined) workerOptions.lockDuration = flags.lockDurationMs;
      if (flags.stalledIntervalMs !== undefined) workerOptions.stalledInterval = flags.stalledIntervalMs;
      if (flags.heartbeatIntervalMs !== undefined) workerOptions.heartbeatIntervalMs = flags.heartbeatIntervalMs;
      if (flags.pollIntervalMs !== undefined) workerOptions.pollIntervalMs = flags.pollIntervalMs;
      const rawArgs = ((command.parent ?? command) as unknown as { rawArgs?: string[] }).rawArgs ?? process.argv;
      const code = await runWorkerCommand(
        {
          processors: flags.processors,
          spool: creatableSpoolRoot(flags.spool, env),
          queues: flags.queues,
          concurrency: flags.concurrency ?? envInteger(env, 'SPOOLKIT_CONCURRENCY', { min: 1 }) ?? 1,
          shutdownTimeoutMs: shutdownTimeoutFrom(flags.shutdownTimeoutMs, env),
          jobTimeoutMs: flags.jobTimeoutMs,
          killGraceMs: flags.killGraceMs,
          maxJobs: flags.maxJobs,
          maxMemoryMb: flags.maxMemoryMb,
          watch: flags.watch === true,
          logPayloads: flags.logPayloads === true,
          role: env.SPOOLKIT_ROLE || 'worker',
          useWorkerThreads: flags.threads === true,
          workerOptions,
          selfArgv: [...spoolkitCliArgv(), 'worker', ...argsAfterCommand(rawArgs, 'worker')],
        },
        env,
      );
      setExitCode(code);
      // The drain is over: a late signal ends the process with the drain's code, not 143.
      for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(signal, () => process.exit(code));
      // Everything was closed; if a stray handle (a processor's timer or socket) would keep the
      // process alive, end it anyway so the container stops when the drain is done.
      setTimeout(() => process.exit(code), 2000).unref();
    });
}
