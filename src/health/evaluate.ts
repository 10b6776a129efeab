/**
 * The health verdict, computed from what the spool says (no I/O here). Three states:
 *
 * - `unhealthy` (exit 1): the spool is missing, unwritable, on a wrong mount or holds corrupt
 *   files; or this container runs a worker and its own heartbeat (same hostname) is stale or
 *   absent. These are what a restart or an operator must fix.
 * - `backlogged` (exit 0, or 1 with `--strict`): more waiting jobs than `maxWaiting`, the oldest
 *   waiting longer than `maxAgeMs`, or jobs waiting with no live worker anywhere. A backlog alone
 *   never makes a container unhealthy by default: restarting busy workers makes it worse.
 * - `ok` (exit 0).
 */

import type { JobCounts } from '../spool/counts.js';
import { liveAndStale, ofKind, type WorkerHeartbeat } from '../spool/heartbeat.js';
import type { QueueStatus, SpoolStatus } from '../spool/status.js';

/** Job counts per state, as the spool status reports them. */
export type StateCounts = JobCounts;

/** One queue in the spool status (`countsAgeMs` may be left out: counted now). */
export type QueueStatusInput = Omit<QueueStatus, 'countsAgeMs'> & { countsAgeMs?: number };

/** One heartbeat file in the spool status (the fields health reads). */
export type HeartbeatInput = Pick<
  WorkerHeartbeat,
  'workerId' | 'kind' | 'hostname' | 'pid' | 'queues' | 'heartbeatAt' | 'ageMs' | 'concurrency' | 'running' | 'processed' | 'failed' | 'meta'
>;

/** What the spool status reader returns (the subset health uses). */
export type SpoolStatusInput = Pick<SpoolStatus, 'root' | 'formatVersion'> & { queues: Record<string, QueueStatusInput>; workers: HeartbeatInput[] };

/** A problem from the spool check. */
export interface SpoolProblemInput {
  code: string;
  message: string;
  fix: string;
}

/** Thresholds and identity for one health evaluation. */
export interface HealthThresholds {
  /** Waiting jobs (all queues) above which the spool counts as backlogged. */
  maxWaiting: number;
  /** Oldest waiting age above which the spool counts as backlogged. */
  maxAgeMs: number;
  /** A heartbeat older than this is stale. */
  staleAfterMs: number;
  /** Backlog fails the check too (CI). */
  strict: boolean;
}

/** The one JSON line `spoolkit health` prints. */
export interface HealthReport {
  status: 'ok' | 'backlogged' | 'unhealthy';
  role: string;
  hostname: string;
  spool: string;
  checkedAt: string;
  formatVersion: number | null;
  totals: StateCounts;
  /**
   * Age of the oldest counts in the report: 0 when every queue was counted for this check, else
   * the age of the counts live Workers published for a big queue (counting it would stat
   * every leaf of its backlog).
   */
  countsAgeMs: number;
  oldestWaitingAgeMs: number | null;
  queues?: Record<string, StateCounts & { oldestWaitingAgeMs: number | null; paused: boolean; corrupt: number }>;
  queuesOmitted?: number;
  workers: { live: number; stale: number };
  /** Scheduler loops (the scheduler role) seen through their heartbeats. */
  schedulers: { live: number; stale: number };
  /** Age of this container's freshest heartbeat (of its role's kind); null when it has none. */
  heartbeatAgeMs: number | null;
  reasons?: string[];
  backlog?: string[];
  thresholds: { maxWaiting: number; maxAgeMs: number; staleAfterMs: number; strict: boolean };
}

/** Roles whose container must show its own heartbeat, and the kind of heartbeat each writes. */
const HEARTBEAT_KIND: Record<string, HeartbeatInput['kind']> = { worker: 'worker', all: 'worker', scheduler: 'scheduler' };

/** Docker keeps only the start of probe output; the line is trimmed below this size. */
export const MAX_REPORT_BYTES = 3500;

const ZERO: StateCounts = { waiting: 0, active: 0, delayed: 0, prioritized: 0, completed: 0, failed: 0, 'waiting-children': 0 };

/** Inputs of {@link evaluateHealth}. */
export interface HealthInputs {
  spool: string;
  status: SpoolStatusInput | undefined;
  /** The spool's format version when `status` could not be read (default null). */
  formatVersion?: number | null;
  /** Why the status could not be read, when it could not. */
  statusError: string | undefined;
  problems: SpoolProblemInput[];
  /** Role from the flag or SPOOLKIT_ROLE; undefined lets the heartbeats tell. */
  role: string | undefined;
  hostname: string;
  nowMs: number;
  thresholds: HealthThresholds;
  /** Extra unhealthy reasons found before evaluation (e.g. bad flags). */
  extraReasons?: string[];
}

/** Computes the report and the exit code. */
export function evaluateHealth(input: HealthInputs): { report: HealthReport; exitCode: 0 | 1 } {
  const reasons: string[] = [...(input.extraReasons ?? [])];
  const backlog: string[] = [];
  for (const p of input.problems) reasons.push(`${p.message} Fix: ${p.fix}`);
  if (input.statusError) reasons.push(`The spool status could not be read: ${input.statusError}`);

  const status = input.status;
  const totals: StateCounts = { ...ZERO };
  let oldest: number | null = null;
  let countsAgeMs = 0;
  const queues: NonNullable<HealthReport['queues']> = {};
  for (const [name, q] of Object.entries(status?.queues ?? {})) {
    countsAgeMs = Math.max(countsAgeMs, q.countsAgeMs ?? 0);
    for (const key of Object.keys(totals) as (keyof StateCounts)[]) totals[key] += q.counts[key] ?? 0;
    if (q.oldestWaitingAgeMs !== null && (oldest === null || q.oldestWaitingAgeMs > oldest)) oldest = q.oldestWaitingAgeMs;
    queues[name] = { ...q.counts, oldestWaitingAgeMs: q.oldestWaitingAgeMs, paused: q.paused, corrupt: q.corrupt };
    if (q.corrupt > 0) {
      const kept = status ? `${status.root}/queues/${name}/corrupt/` : `queues/${name}/corrupt/ in the spool`;
      reasons.push(`Queue "${name}" has ${q.corrupt} corrupt job file(s), kept in ${kept} (each has a failed job saying why). Fix: inspect them ("spoolkit jobs list ${name} --state failed"), then delete the files from ${kept}.`);
    }
  }

  const heartbeats = status?.workers ?? [];
  const fresh = (w: HeartbeatInput): boolean => w.ageMs <= input.thresholds.staleAfterMs;
  const workers = liveAndStale(ofKind(heartbeats, 'worker'), input.thresholds.staleAfterMs);
  const role = input.role ?? roleFromHeartbeats(heartbeats.filter((w) => w.hostname === input.hostname)) ?? 'unknown';
  const kind = HEARTBEAT_KIND[role];
  const own = heartbeats.filter((w) => w.hostname === input.hostname && (kind === undefined || w.kind === kind));
  const heartbeatAgeMs = own.length > 0 ? Math.min(...own.map((w) => w.ageMs)) : null;

  if (kind && status) {
    const program = kind === 'worker' ? 'spoolkit worker' : 'spoolkit scheduler';
    if (own.length === 0) {
      reasons.push(`This ${role} container (hostname ${input.hostname}) has no ${kind} heartbeat in the spool. Fix: check that "${program}" is running here and uses the same spool (SPOOLKIT_SPOOL).`);
    } else if (!own.some(fresh)) {
      const fix =
        kind === 'worker'
          ? 'restart the container; look for a processor that blocks the event loop and run it sandboxed'
          : 'restart the container; its logs show the last scheduler pass';
      reasons.push(`This container's ${kind} heartbeat is stale (${heartbeatAgeMs} ms old, limit ${input.thresholds.staleAfterMs} ms): the ${kind === 'worker' ? 'worker' : 'scheduler loop'} is stuck or gone. Fix: ${fix}.`);
    }
  }

  // Ready to run: waiting and prioritized alike (a worker takes both).
  const ready = totals.waiting + totals.prioritized;
  if (ready > input.thresholds.maxWaiting) backlog.push(`${ready} jobs waiting (more than ${input.thresholds.maxWaiting})`);
  if (oldest !== null && oldest > input.thresholds.maxAgeMs) backlog.push(`the oldest waiting job has waited ${oldest} ms (more than ${input.thresholds.maxAgeMs} ms)`);
  if (workers.live === 0 && status) {
    // `oldest` also counts delayed jobs past their due time, which only a worker promotes.
    if (ready > 0) backlog.push(`${ready} jobs waiting and no live worker`);
    else if (oldest !== null) backlog.push(`delayed jobs are due (the oldest for ${oldest} ms) and no live worker`);
  }

  const unhealthy = reasons.length > 0 || (input.thresholds.strict && backlog.length > 0);
  if (input.thresholds.strict && backlog.length > 0) reasons.push(...backlog.map((b) => `Backlog (--strict): ${b}.`));
  const report: HealthReport = {
    status: unhealthy ? 'unhealthy' : backlog.length > 0 ? 'backlogged' : 'ok',
    role,
    hostname: input.hostname,
    spool: input.spool,
    checkedAt: new Date(input.nowMs).toISOString(),
    formatVersion: status ? status.formatVersion : (input.formatVersion ?? null),
    totals,
    countsAgeMs,
    oldestWaitingAgeMs: oldest,
    queues,
    workers,
    schedulers: liveAndStale(ofKind(heartbeats, 'scheduler'), input.thresholds.staleAfterMs),
    heartbeatAgeMs,
    ...(reasons.length > 0 ? { reasons } : {}),
    ...(backlog.length > 0 ? { backlog } : {}),
    thresholds: { ...input.thresholds },
  };
  return { report: fitReport(report), exitCode: unhealthy ? 1 : 0 };
}

function roleFromHeartbeats(own: HeartbeatInput[]): string | undefined {
  const newest = [...own].sort((a, b) => a.ageMs - b.ageMs)[0];
  const role = newest?.meta.role;
  return typeof role === 'string' ? role : undefined;
}

/** Drops per-queue detail (keeping totals), then trims reasons, until the line fits. */
function fitReport(report: HealthReport): HealthReport {
  if (JSON.stringify(report).length <= MAX_REPORT_BYTES) return report;
  const { queues, ...rest } = report;
  const trimmed: HealthReport = { ...rest, queuesOmitted: Object.keys(queues ?? {}).length };
  while (JSON.stringify(trimmed).length > MAX_REPORT_BYTES && trimmed.reasons && trimmed.reasons.length > 1) {
    trimmed.reasons = trimmed.reasons.slice(0, -1);
  }
  if (JSON.stringify(trimmed).length > MAX_REPORT_BYTES && trimmed.reasons?.[0]) trimmed.reasons[0] = trimmed.reasons[0].slice(0, 1000);
  return trimmed;
}
