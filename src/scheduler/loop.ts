/**
 * The scheduler role's loop: scheduler passes for a set of queues until a signal aborts it.
 * Any number of these loops (and Workers, which run passes too) may share one spool.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spoolRootFrom } from '../config.js';
import { ConfigError } from '../errors.js';
import { DEFAULT_HEARTBEAT_INTERVAL_MS, MAX_TIMER_MS } from '../spool/defaults.js';
import { DEFAULT_SCHEDULER_POLL_MS } from './defaults.js';
import { SchedulerHeartbeat } from './heartbeat.js';
import { silentLogger, type Logger } from '../log.js';
import type { SchedulerHost } from './host.js';
import { hasSchedulers } from './presence.js';
import { runSchedulerPass } from './pass.js';
import { shown } from '../arg-value.js';

/** A host the loop opened and closes when it stops. */
export type ClosableSchedulerHost = SchedulerHost & { close?(): Promise<void> };

/** Options of {@link runSchedulerLoop}. */
export interface SchedulerLoopOptions {
  /** The spool (path or `file://` URL); `SPOOLKIT_SPOOL` or `./.spool` when absent. */
  spool?: string;
  /**
   * Queue names whose schedulers this loop runs. An empty list means every queue on the spool
   * that has schedulers, looked up again before each round so new queues are picked up.
   */
  queues: string[];
  /** Aborting it ends the loop; the promise then resolves once hosts are closed. */
  signal: AbortSignal;
  /** Longest sleep between passes, so schedulers added elsewhere are seen (default 1000 ms). */
  pollIntervalMs?: number;
  /**
   * How often the loop's heartbeat file is rewritten (`kind: "scheduler"` in the spool's
   * `workers/`), in ms; `spoolkit health` in a scheduler container reads it. Default 5000.
   */
  heartbeatIntervalMs?: number;
  /** Extra fields stored in the heartbeat file under `meta` (e.g. `{ role: 'scheduler' }`). */
  heartbeatMeta?: Record<string, unknown>;
  /** Where `scheduler:*` events go (default: nowhere). */
  logger?: Logger;
  /** Opens the host for a queue; defaults to a spoolkit `Queue` on `spool`. */
  hostFor?: (queueName: string, spool: string | undefined) => Promise<ClosableSchedulerHost>;
}

/**
 * Checks the loop's options where they enter. A string for `queues` was walked letter by letter
 * (a queue per letter); a poll interval below 1 ms or not a number made the loop spin; one past a
 * Node timer fired at once.
 */
function checkLoopOptions(opts: SchedulerLoopOptions): void {
  const example = 'e.g. runSchedulerLoop({ queues: [\'reports\'], signal: stop.signal }) with const stop = new AbortController()';
  const { queues, signal } = (opts ?? {}) as Partial<SchedulerLoopOptions>;
  if (!Array.isArray(queues) || !queues.every((q) => typeof q === 'string')) {
    throw new ConfigError(`runSchedulerLoop: queues must be an array of queue names ([] for every queue with schedulers), got ${JSON.stringify(queues) ?? 'undefined'}; ${example}.`);
  }
  if (typeof signal?.aborted !== 'boolean' || typeof signal.addEventListener !== 'function') throw new ConfigError(`runSchedulerLoop: signal must be an AbortSignal, which ends the loop when aborted; ${example}.`);
  for (const key of ['pollIntervalMs', 'heartbeatIntervalMs'] as const) {
    const v: unknown = opts[key];
    if (v !== undefined && !(typeof v === 'number' && v >= 1 && v <= MAX_TIMER_MS)) {
      throw new ConfigError(`runSchedulerLoop: ${key} must be a number of ms from 1 to ${MAX_TIMER_MS}, got ${shown(v)}; leave it out for the default.`);
    }
  }
}

/** Runs scheduler passes for `queues` until `signal` aborts. Resolves after the last pass ends. */
export async function runSchedulerLoop(opts: SchedulerLoopOptions): Promise<void> {
  checkLoopOptions(opts);
  const { queues, signal } = opts;
  const logger = opts.logger ?? silentLogger;
  const pollMs = opts.pollIntervalMs ?? DEFAULT_SCHEDULER_POLL_MS;
  const hostFor = opts.hostFor ?? queueHost;
  const hosts: ClosableSchedulerHost[] = [];
  const discover = queues.length === 0;
  const spoolRoot = spoolRootFrom(opts.spool);
  const heartbeat = new SchedulerHeartbeat(spoolRoot, opts.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS, opts.heartbeatMeta ?? {});
  let runs = 0;
  let failures = 0;
  const beat = (force = false): void => {
    try {
      heartbeat.beat(hosts.map((h) => h.queueName), runs, failures, force);
    } catch (err) {
      logger.error('scheduler:heartbeat-failed', { err });
    }
  };
  try {
    for (const name of queues) hosts.push(await hostFor(name, opts.spool));
    logger.info('scheduler:started', discover ? { queues: 'all', spool: spoolRoot } : { queues });
    beat(true);
    while (!signal.aborted) {
      if (discover) {
        for (const name of queuesWithSchedulers(spoolRoot)) {
          if (hosts.some((h) => h.queueName === name)) continue;
          hosts.push(await hostFor(name, opts.spool));
          logger.info('scheduler:queue-found', { queue: name });
        }
      }
      let next: number | null = null;
      for (const host of hosts) {
        if (signal.aborted) break;
        try {
          const r = await runSchedulerPass(host, { rescanMs: Infinity });
          runs += r.enqueued.length;
          failures += r.problems.length;
          for (const jobId of r.enqueued) logger.info('scheduler:enqueued', { queue: host.queueName, jobId });
          for (const [schedulerId, count] of Object.entries(r.skipped)) logger.warn('scheduler:runs-skipped', { queue: host.queueName, schedulerId, count });
          for (const p of r.problems) logger.error('scheduler:failed', { queue: host.queueName, schedulerId: p.schedulerId, err: p.error });
          if (r.nextRunMs !== null && (next === null || r.nextRunMs < next)) next = r.nextRunMs;
        } catch (err) {
          failures++;
          logger.error('scheduler:pass-failed', { queue: host.queueName, err });
        }
      }
      beat();
      const now = hosts[0]?.now() ?? Date.now();
      const waitMs = next === null ? pollMs : Math.min(pollMs, Math.max(0, next - now));
      // Never sleep past a due heartbeat, whatever the poll interval.
      await sleep(Math.min(waitMs, heartbeat.dueInMs()), signal);
    }
    logger.info('scheduler:stopped', { queues });
  } finally {
    for (const host of hosts) await host.close?.().catch(() => undefined);
    try {
      heartbeat.remove();
    } catch (err) {
      logger.error('scheduler:heartbeat-failed', { err });
    }
  }
}

/** Names of the queues under `<spoolRoot>/queues/` that have a `schedulers` directory. */
export function queuesWithSchedulers(spoolRoot: string): string[] {
  let names: string[];
  try {
    names = readdirSync(join(spoolRoot, 'queues'));
  } catch {
    return [];
  }
  return names.filter((name) => !name.startsWith('.') && hasSchedulers(join(spoolRoot, 'queues', name)));
}

/** Sleeps `ms`, waking early when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** A spoolkit Queue as the host; imported lazily because the Queue loads this module lazily too. */
async function queueHost(queueName: string, spool: string | undefined): Promise<ClosableSchedulerHost> {
  const { Queue } = await import('../queue.js');
  return new Queue(queueName, spool === undefined ? { inline: false } : { spool, inline: false });
}
