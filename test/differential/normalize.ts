/**
 * Turns what a backend did into a comparable value: ids become labels, timestamps disappear,
 * and documented divergences are checked and set aside.
 */
import type { Divergence, KnownDifference } from './scenario.js';

/** One QueueEvents or Worker event about a job, with ids replaced by labels and times removed. */
export type EventRecord = { event: string } & Record<string, unknown>;

/** Everything the runner observed, in a form that is equal across backends that behave alike. */
export interface RunResult {
  /** For each add (by its label), the label of the job it resolved to (duplicates resolve to the first). */
  adds: Record<string, string>;
  /** Processor invocations in start order: `<label>#<attemptsMade at start>`. */
  order: string[];
  /** Final state of every job, or null when it no longer exists. */
  jobs: Record<string, JobSnapshot | null>;
  /** Final `getJobCounts()`. */
  counts: Record<string, number>;
  /** QueueEvents per job label, in arrival order. */
  events: Record<string, EventRecord[]>;
  /** Queue-wide QueueEvents (paused, resumed), in arrival order. */
  queueEvents: string[];
  /** Worker events per job label, in emission order. */
  workerEvents: Record<string, EventRecord[]>;
  /** Job lists recorded by `list` steps, and jobs removed by `clean` steps, as labels. */
  lists: Record<string, string[]>;
  /** Named snapshots taken by `snapshot` steps. */
  snapshots: Record<string, { counts: Record<string, number>; states: Record<string, string> }>;
  /**
   * `exportPrometheusMetrics` lines recorded by `prometheus` steps (only in scenarios that have
   * one, so the other recordings stay as they were).
   */
  prometheus?: Record<string, string[]>;
}

export interface JobSnapshot {
  name: string;
  data: unknown;
  state: string;
  returnvalue: unknown;
  failedReason: string | null;
  attemptsMade: number;
  progress: unknown;
}

/** Keys of event arguments that carry times and so never compare across runs. */
const TIME_KEYS = new Set(['delay', 'timestamp', 'processedOn', 'finishedOn']);

/** Normalizes one event's arguments: drops `jobId`, maps job ids to labels, blanks times. */
export function normalizeArgs(event: string, args: Record<string, unknown>, label: (id: unknown) => string): EventRecord {
  const out: EventRecord = { event };
  for (const [key, value] of Object.entries(args ?? {})) {
    if (key === 'jobId') continue;
    if (TIME_KEYS.has(key)) out[key] = '<time>';
    else if (key === 'deduplicatedJobId' || key === 'existingJobId') {
      // The id of an add that was dropped never names a job, and each backend numbers it its own way.
      const named = label(value);
      out[key] = named.startsWith('?') ? '<id of the dropped add>' : named;
    }
    else out[key] = value;
  }
  return out;
}

function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function setPath(obj: unknown, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = obj as Record<string, unknown>;
  for (const part of parts.slice(0, -1)) cur = cur[part] as Record<string, unknown>;
  cur[parts[parts.length - 1] as string] = value;
}

/**
 * Checks that `result` holds exactly the documented value at each divergence path for its side,
 * and returns a copy with those paths replaced by a marker naming the doc, so the remainder can be
 * compared with plain deep equality. Throws when a divergence no longer matches reality.
 */
export function setAsideDivergences(
  result: RunResult,
  side: 'bullmq' | 'spoolkit',
  divergences: Divergence[] = [],
  known: KnownDifference[] = [],
): RunResult {
  const copy = structuredClone(result);
  const entries = [
    ...divergences.map((d) => ({ path: d.path, value: d[side], why: `documented divergence, ${d.doc}` })),
    ...known.map((k) => ({ path: k.path, value: k[side], why: `known difference: ${k.note}` })),
  ];
  for (const e of entries) {
    const actual = getPath(copy, e.path);
    if (JSON.stringify(actual) !== JSON.stringify(e.value)) {
      throw new Error(
        `${e.why}\nat ${e.path} no longer holds for ${side}:\n  expected ${JSON.stringify(e.value)}\n  actual   ${JSON.stringify(actual)}`,
      );
    }
    setPath(copy, e.path, `<set aside: ${e.why}>`);
  }
  return copy;
}
