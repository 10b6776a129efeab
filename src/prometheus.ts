/**
 * The Prometheus text format of queue counts (BullMQ's `exportPrometheusMetrics`): the same
 * metric names, labels, help lines and order, so dashboards built on BullMQ read it unchanged.
 * Several queues (`spoolkit metrics`) share each metric's help and type lines, as the format asks.
 */
import { UsageError } from './errors.js';

/** What is exported of one queue. */
export interface QueueSample {
  queue: string;
  /** `getJobCounts()`: count per state, in BullMQ's order. */
  counts: Record<string, number>;
  completedTotal: number;
  failedTotal: number;
  /** spoolkit's own gauge: seconds the longest-waiting job has waited (omitted when undefined). */
  oldestWaitingAgeSeconds?: number;
}

/** A label value as the text format wants it: backslash, double quote and newline escaped. */
export function escapeLabelValue(value: unknown): string {
  return String(value).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A label name the text format accepts. */
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Labels every sample has already: an extra label of the same name would make it invalid. */
const OWN_LABELS = ['queue', 'state'];

/** `, name="value"` for each extra label, checked. */
function extraLabels(labels: Record<string, string> | undefined, caller: string): string {
  let extra = '';
  for (const [label, value] of Object.entries(labels ?? {})) {
    if (!LABEL_NAME_RE.test(label)) {
      throw new UsageError(`${caller}: \`${label}\` is not a Prometheus label name (letters, digits and _, not starting with a digit); rename that label.`);
    }
    if (OWN_LABELS.includes(label) || label.startsWith('__')) {
      throw new UsageError(`${caller}: \`${label}\` is a reserved label name (the samples carry ${OWN_LABELS.map((l) => `\`${l}\``).join(' and ')}, and names starting with __ are Prometheus's own); rename that label.`);
    }
    extra += `, ${label}="${escapeLabelValue(value)}"`;
  }
  return extra;
}

/**
 * `bullmq_job_count` per state, then `bullmq_job_completed_total` and `bullmq_job_failed_total`
 * (then `spoolkit_oldest_waiting_age_seconds` where given), with `labels` as extra labels of each
 * sample. Lines are joined by newlines, with none at the end (as BullMQ's).
 */
export function prometheusText(samples: QueueSample[], labels: Record<string, string> | undefined, caller: string): string {
  const extra = extraLabels(labels, caller);
  const q = (s: QueueSample): string => `queue="${escapeLabelValue(s.queue)}"`;
  const lines = ['# HELP bullmq_job_count Number of jobs in the queue by state', '# TYPE bullmq_job_count gauge'];
  for (const s of samples) {
    for (const [state, count] of Object.entries(s.counts)) lines.push(`bullmq_job_count{${q(s)}, state="${state}"${extra}} ${count}`);
  }
  lines.push('# HELP bullmq_job_completed_total Total number of completed jobs', '# TYPE bullmq_job_completed_total counter');
  for (const s of samples) lines.push(`bullmq_job_completed_total{${q(s)}${extra}} ${s.completedTotal}`);
  lines.push('# HELP bullmq_job_failed_total Total number of failed jobs', '# TYPE bullmq_job_failed_total counter');
  for (const s of samples) lines.push(`bullmq_job_failed_total{${q(s)}${extra}} ${s.failedTotal}`);
  const aged = samples.filter((s) => s.oldestWaitingAgeSeconds !== undefined);
  if (aged.length > 0) {
    lines.push('# HELP spoolkit_oldest_waiting_age_seconds Seconds the longest-waiting job of the queue has waited (0 when none waits)', '# TYPE spoolkit_oldest_waiting_age_seconds gauge');
    for (const s of aged) lines.push(`spoolkit_oldest_waiting_age_seconds{${q(s)}${extra}} ${s.oldestWaitingAgeSeconds}`);
  }
  return lines.join('\n');
}
