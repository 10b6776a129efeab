/**
 * `spoolkit status`: the spool at a glance. Per queue: counts per state, the oldest waiting
 * job's age, throughput over the last minute and whether it is paused; then the workers and
 * scheduler loops seen through their heartbeats (live or stale).
 */
import type { HeartbeatInput, QueueStatusInput, SpoolStatusInput } from '../health/evaluate.js';
import { liveAndStale, ofKind } from '../spool/heartbeat.js';
import { formatAge, formatTable } from './format.js';

export { formatAge, formatTable, truncate } from './format.js';

/** Heartbeats older than this show as stale in the table. */
export const STATUS_STALE_AFTER_MS = 30_000;

/** The status table as text. */
export function formatStatus(status: SpoolStatusInput, staleAfterMs = STATUS_STALE_AFTER_MS): string {
  const queueNames = Object.keys(status.queues).sort();
  let out = `spool ${status.root} (format ${status.formatVersion ?? 'none'})\n\n`;
  if (queueNames.length === 0) {
    out += 'No queues yet.\n';
  } else {
    out += formatTable(
      ['QUEUE', 'WAITING', 'ACTIVE', 'DELAYED', 'PRIORITIZED', 'COMPLETED', 'FAILED', 'OLDEST', 'DONE/1M', 'FAILED/1M', 'STATE'],
      queueNames.map((name) => queueRow(name, status.queues[name] as QueueStatusInput)),
    );
  }
  const workers = [...status.workers].sort((a, b) => a.hostname.localeCompare(b.hostname) || a.pid - b.pid);
  out += `\nWorkers: ${counted(ofKind(workers, 'worker'), staleAfterMs)}`;
  const schedulers = ofKind(workers, 'scheduler');
  out += schedulers.length > 0 ? `; schedulers: ${counted(schedulers, staleAfterMs)}\n` : '\n';
  if (workers.length > 0) {
    out += formatTable(
      ['WORKER', 'HOST', 'PID', 'ROLE', 'QUEUES', 'RUNNING', 'PROCESSED', 'FAILED', 'HEARTBEAT', 'STATE'],
      workers.map((w) => workerRow(w, staleAfterMs)),
    );
  }
  return out;
}

function counted(beats: HeartbeatInput[], staleAfterMs: number): string {
  const { live, stale } = liveAndStale(beats, staleAfterMs);
  return `${live} live, ${stale} stale`;
}

function queueRow(name: string, q: QueueStatusInput): (string | number)[] {
  const state = [q.paused ? 'paused' : 'running', q.corrupt > 0 ? `${q.corrupt} corrupt` : ''].filter(Boolean).join(', ');
  return [name, q.counts.waiting, q.counts.active, q.counts.delayed, q.counts.prioritized, q.counts.completed, q.counts.failed, formatAge(q.oldestWaitingAgeMs), q.completedLastMinute, q.failedLastMinute, state];
}

function workerRow(w: HeartbeatInput, staleAfterMs: number): (string | number)[] {
  const role = typeof w.meta.role === 'string' ? w.meta.role : '-';
  return [w.workerId, w.hostname, w.pid, role, w.queues.join(','), `${w.running}/${w.concurrency}`, w.processed, w.failed, `${formatAge(w.ageMs)} ago`, w.ageMs <= staleAfterMs ? 'live' : 'stale'];
}
