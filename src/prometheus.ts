/**
 * The Prometheus text format of a queue's counts (BullMQ's `exportPrometheusMetrics`): the same
 * metric names, labels, help lines and order, so dashboards built on BullMQ read it unchanged.
 */

import { UsageError } from './errors.js';

/** A label value as the text format wants it: backslash, double quote and newline escaped. */
export function escapeLabelValue(value: unknown): string {
  return String(value).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A label name the text format accepts. */
const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * `bullmq_job_count` per state, then `bullmq_job_completed_total` and `bullmq_job_failed_total`,
 * with `globalVariables` as extra labels of each sample. Lines are joined by newlines, with no
 * newline at the end (as BullMQ's).
 */
export function prometheusText(
  queue: string,
  counts: Record<string, number>,
  completedTotal: number,
  failedTotal: number,
  globalVariables?: Record<string, string>,
): string {
  const name = escapeLabelValue(queue);
  let extra = '';
  for (const [label, value] of Object.entries(globalVariables ?? {})) {
    if (!LABEL_NAME_RE.test(label)) {
      throw new UsageError(`Queue.exportPrometheusMetrics: \`${label}\` is not a Prometheus label name (letters, digits and _, not starting with a digit); rename that key of globalVariables.`);
    }
    extra += `, ${label}="${escapeLabelValue(value)}"`;
  }
  const lines = ['# HELP bullmq_job_count Number of jobs in the queue by state', '# TYPE bullmq_job_count gauge'];
  for (const [state, count] of Object.entries(counts)) lines.push(`bullmq_job_count{queue="${name}", state="${state}"${extra}} ${count}`);
  lines.push('# HELP bullmq_job_completed_total Total number of completed jobs', '# TYPE bullmq_job_completed_total counter');
  lines.push(`bullmq_job_completed_total{queue="${name}"${extra}} ${completedTotal}`);
  lines.push('# HELP bullmq_job_failed_total Total number of failed jobs', '# TYPE bullmq_job_failed_total counter');
  lines.push(`bullmq_job_failed_total{queue="${name}"${extra}} ${failedTotal}`);
  return lines.join('\n');
}
