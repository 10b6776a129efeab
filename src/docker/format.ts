/**
 * Text rendering of `spoolkit ps` rows: a fixed-width table a person can scan.
 */
import type { ContainerRow } from './containers.js';

const COLUMNS = ['SERVICE', 'CONTAINER', 'ROLE', 'STATE', 'HEALTH', 'WAITING', 'ACTIVE', 'DELAYED', 'FAILED', 'OLDEST', 'WORKERS'] as const;

/** Renders rows as an aligned table with a header line; an empty list gives a one-line note. */
export function formatRows(rows: readonly ContainerRow[]): string {
  if (rows.length === 0) return 'no spoolkit containers found\n';
  const table = [Array.from(COLUMNS), ...rows.map(cells)];
  const widths = COLUMNS.map((_, i) => Math.max(...table.map((r) => (r[i] ?? '').length)));
  return table.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n') + '\n';
}

function cells(row: ContainerRow): string[] {
  const b = row.backlog;
  const num = (n: number | null | undefined): string => (n === null || n === undefined ? '-' : String(n));
  const state = row.exitCode === null ? row.state : `${row.state} (${row.exitCode})`;
  return [
    row.service,
    row.name,
    row.role ?? '-',
    state,
    row.health,
    num(b?.waiting),
    num(b?.active),
    num(b?.delayed),
    num(b?.failed),
    b?.oldestWaitingAgeMs == null ? '-' : formatAge(b.oldestWaitingAgeMs),
    num(b?.liveWorkers),
  ];
}

/** Formats a duration in milliseconds compactly: 850ms, 12.3s, 4m05s, 2h10m. */
export function formatAge(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.floor(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
