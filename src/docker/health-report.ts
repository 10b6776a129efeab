/**
 * Reading what a container's last healthcheck reported. `spoolkit health` prints one JSON line;
 * the engine keeps the last few probe outputs in `State.Health.Log`. This module turns such an
 * output into a backlog summary, tolerating extra lines and the total (`totals` or `counts`) and
 * per-queue (`queues.<name>` or `queues.<name>.counts`) shapes.
 */

/** Backlog numbers taken from one healthcheck output. */
export interface HealthBacklog {
  /** The status the probe printed (`ok`, `backlogged`, `unhealthy`, ...), or null when absent. */
  status: string | null;
  waiting: number;
  active: number;
  delayed: number;
  prioritized: number;
  completed: number;
  failed: number;
  /** Age of the oldest waiting job across queues, in milliseconds; null when nothing waits. */
  oldestWaitingAgeMs: number | null;
  /** Live workers the probe counted, or null when it did not say. */
  liveWorkers: number | null;
  /** The whole JSON object the probe printed. */
  raw: Record<string, unknown>;
}

const STATES = ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed'] as const;

/** One probe result as the engine records it in `State.Health.Log`. */
export interface HealthLogEntry {
  Start?: string;
  End?: string;
  ExitCode?: number;
  Output?: string;
}

/**
 * Parses a healthcheck's output: the last line that is a JSON object wins. Returns null when no
 * line is JSON (for instance a probe that timed out or a non-spoolkit healthcheck).
 */
export function parseHealthOutput(output: string): HealthBacklog | null {
  const lines = output.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.startsWith('{'));
  for (let i = lines.length - 1; i >= 0; i--) {
    let value: unknown;
    try {
      value = JSON.parse(lines[i] as string);
    } catch {
      continue;
    }
    if (isRecord(value)) return summarize(value);
  }
  return null;
}

/** The backlog from the newest entry of an engine health log, or null when there is none. */
export function backlogFromHealthLog(log: readonly HealthLogEntry[] | undefined): HealthBacklog | null {
  const last = log?.[log.length - 1];
  return last?.Output ? parseHealthOutput(last.Output) : null;
}

function summarize(raw: Record<string, unknown>): HealthBacklog {
  const out: HealthBacklog = {
    status: typeof raw.status === 'string' ? raw.status : null,
    waiting: 0,
    active: 0,
    delayed: 0,
    prioritized: 0,
    completed: 0,
    failed: 0,
    oldestWaitingAgeMs: null,
    liveWorkers: null,
    raw,
  };
  const add = (counts: unknown): void => {
    if (!isRecord(counts)) return;
    for (const s of STATES) {
      const n = counts[s];
      if (typeof n === 'number' && Number.isFinite(n)) out[s] += n;
    }
  };
  const oldest = (v: unknown): void => {
    if (typeof v === 'number' && Number.isFinite(v)) out.oldestWaitingAgeMs = Math.max(out.oldestWaitingAgeMs ?? 0, v);
  };
  // `totals` (what `spoolkit health` prints) or `counts` cover every queue; per-queue entries may be
  // trimmed to fit the engine's probe output limit, so they are only summed when no total exists.
  if (isRecord(raw.totals)) add(raw.totals);
  else if (isRecord(raw.counts)) add(raw.counts);
  else if (isRecord(raw.queues)) {
    for (const q of Object.values(raw.queues)) {
      if (!isRecord(q)) continue;
      add(isRecord(q.counts) ? q.counts : q);
      oldest(q.oldestWaitingAgeMs);
    }
  }
  oldest(raw.oldestWaitingAgeMs);
  out.liveWorkers = liveWorkers(raw);
  return out;
}

function liveWorkers(raw: Record<string, unknown>): number | null {
  for (const key of ['liveWorkers', 'workersLive']) {
    const v = raw[key];
    if (typeof v === 'number') return v;
  }
  const w = raw.workers;
  if (typeof w === 'number') return w;
  if (Array.isArray(w)) return w.length;
  if (isRecord(w) && typeof w.live === 'number') return w.live;
  return null;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
