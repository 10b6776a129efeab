/**
 * `spoolkit metrics`: every queue's job counts by state and its completed and failed totals in the
 * Prometheus text format, with BullMQ's metric names (as `queue.exportPrometheusMetrics()` gives
 * them for one queue), plus how long the longest-waiting job has waited. For a node_exporter
 * textfile collector, a sidecar, or a look by hand.
 */
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { listOption } from '../options.js';
import { existingSpoolRoot, readStatus, withQueue } from '../spool-access.js';
import type { SetExitCode } from './index.js';

interface MetricsFlags {
  spool?: string;
  queues?: string[];
  label?: string[];
}

/** `--label env=prod` pairs as an object; a pair without `=` is refused. */
function parseLabels(pairs: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--label takes name=value, e.g. --label env=prod; got "${pair}".`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** Registers `spoolkit metrics`. */
export function register(program: Command, setExitCode: SetExitCode): void {
  program
    .command('metrics')
    .description('Print job counts, completed/failed totals and the oldest wait per queue in the Prometheus text format')
    .option('-s, --spool <path>', 'spool directory or file:// URL (default: SPOOLKIT_SPOOL, then ./.spool)')
    .option('-q, --queues <names>', 'only these queues (comma-separated)', listOption)
    .option('-l, --label <name=value>', 'a label added to every sample (repeatable)', (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .action(async (flags: MetricsFlags) => {
      const labels = parseLabels(flags.label);
      const root = existingSpoolRoot(flags.spool);
      const status = await readStatus(root, flags.queues);
      const { prometheusText } = await import('../../prometheus.js');
      const samples = [];
      for (const [name, qs] of Object.entries(status.queues)) {
        const [counts, completed, failed] = await withQueue(root, name, (q) => Promise.all([q.getJobCounts(), q.getMetrics('completed'), q.getMetrics('failed')]));
        samples.push({
          queue: name,
          counts,
          completedTotal: completed.meta.count,
          failedTotal: failed.meta.count,
          oldestWaitingAgeSeconds: (qs.oldestWaitingAgeMs ?? 0) / 1000,
        });
      }
      // The text format ends with a newline.
      process.stdout.write(`${prometheusText(samples, labels, 'spoolkit metrics --label')}\n`);
      setExitCode(0);
    });
}
