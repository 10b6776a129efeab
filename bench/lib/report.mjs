// @ts-check
// Renders benchmark results: a full plain-text table for the terminal, and the headline Markdown
// table for the README (bench/results/latest.md).

const fmtRate = (v) => (v == null ? 'n/a' : v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1));
const fmtMs = (v) => (v == null ? 'n/a' : v.toFixed(2));

/** The headline text of one case's median. */
function value(c) {
  const m = c.median;
  if (!m) return c.errors.length ? `failed (${c.errors.length})` : 'n/a';
  if (c.metric === 'opsPerSec') return `${fmtRate(m.opsPerSec)}/s`;
  if (c.metric === 'latency') return `p50 ${fmtMs(m.p50Ms)} ms, p99 ${fmtMs(m.p99Ms)} ms`;
  if (c.metric === 'health') {
    const first = m.spreadMs ? `; the first call, which counts ${m.leaves.toLocaleString('en-US')} leaves, ${Math.round(m.firstWallMs ?? 0).toLocaleString('en-US')} ms` : '';
    return `${m.wallMsMedian?.toFixed(0)} ms wall, ${m.rssMbMedian?.toFixed(0) ?? '?'} MB RSS, exit ${m.exitCode} (bare node ${m.nodeBareMs?.toFixed(0)} ms)${first}`;
  }
  if (c.metric === 'backlog') return `the worker's event loop stalled at most ${m.maxStallMs.toFixed(0)} ms; backlog gone in ${m.goneSeconds.toFixed(1)} s`;
  if (c.metric === 'big') {
    return `backlog built at ${fmtRate(m.buildPerSec)}/s; add ${fmtRate(m.atSmall.addPerSec)} -> ${fmtRate(m.atBig.addPerSec)}/s, addBulk ${fmtRate(m.atSmall.addBulkPerSec)} -> ${fmtRate(m.atBig.addBulkPerSec)}/s, drain(c8) ${fmtRate(m.atSmall.drainPerSec)} -> ${fmtRate(m.atBig.drainPerSec)}/s (${m.small} -> ${m.n} waiting)`;
  }
  return JSON.stringify(m);
}

/** Plain-text table of every case. */
export function fullTable(report) {
  const rows = report.cases.map((c) => [c.group, c.label, c.system, value(c), `${c.results.length}/${c.results.length + c.errors.length}`, c.params.n ?? '']);
  const head = ['group', 'case', 'system', 'median', 'runs ok', 'jobs'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((v, i) => String(v).padEnd(widths[i])).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function find(report, group, labelStart, system) {
  return report.cases.find((c) => c.group === group && c.label.startsWith(labelStart) && c.system === system);
}

/** Markdown: the headline comparison, the machine, and the extra measurements. */
export function headlineMarkdown(report) {
  const systems = [
    ['spoolkit-fast', 'spoolkit (fast)'],
    ['spoolkit-durable', 'spoolkit (durable)'],
    ['bullmq', 'BullMQ 6.7 + Redis (AOF everysec)'],
    ['raw-fs', 'raw fs ceiling'],
  ];
  const rate = (c) => (c?.median ? fmtRate(c.median.opsPerSec) : c?.errors?.length ? 'failed' : '–');
  const lat = (c, k) => (c?.median ? fmtMs(c.median[k]) : c?.errors?.length ? 'failed' : '–');
  const rows = [
    ['`add`, one at a time (jobs/s)', (s) => rate(find(report, 'enqueue', s === 'raw-fs' ? 'write+rename' : 'add (', s)), (s) => (s === 'raw-fs' ? 'write+rename' : '')],
    ['`add`, 8 callers at once (jobs/s)', (s) => (s === 'raw-fs' ? '–' : rate(find(report, 'enqueue', 'add from 8 callers', s)))],
    ['`add`, spool with spare files (jobs/s)', (s) => (s.startsWith('spoolkit') ? rate(find(report, 'enqueue', 'add into', s)) : '–')],
    ['`addBulk` (jobs/s)', (s) => (s === 'raw-fs' ? '–' : rate(find(report, 'enqueue', 'addBulk', s)))],
    ['`addBulk`, spool with spare files (jobs/s)', (s) => (s.startsWith('spoolkit') ? rate(find(report, 'enqueue', 'addBulk into', s)) : '–')],
    ['drain, concurrency 1 (jobs/s)', (s) => rate(find(report, 'drain', s === 'raw-fs' ? 'rename+read+unlink, 1' : 'concurrency 1', s))],
    ['drain, concurrency 8 (jobs/s)', (s) => (s === 'raw-fs' ? '–' : rate(find(report, 'drain', 'concurrency 8', s)))],
    ['drain, concurrency 64 (jobs/s)', (s) => (s === 'raw-fs' ? '–' : rate(find(report, 'drain', 'concurrency 64', s)))],
    ['drain, 2 processes (jobs/s)', (s) => rate(find(report, 'drain', s === 'raw-fs' ? 'rename+read+unlink, 2' : '2 worker', s))],
    ['enqueue-to-start p50 (ms)', (s) => (s === 'raw-fs' ? '–' : lat(find(report, 'latency', 'enqueue-to-start', s), 'p50Ms'))],
    ['enqueue-to-start p99 (ms)', (s) => (s === 'raw-fs' ? '–' : lat(find(report, 'latency', 'enqueue-to-start', s), 'p99Ms'))],
    ['enqueue-to-start p50 / p99, spool with spare files (ms)', (s) => {
      const c = s.startsWith('spoolkit') ? find(report, 'latency', 'spool with spare files', s) : undefined;
      return c ? `${lat(c, 'p50Ms')} / ${lat(c, 'p99Ms')}` : '–';
    }],
  ];
  const fsyncRaw = find(report, 'enqueue', 'write+fsync', 'raw-fs');
  const out = [];
  out.push(`| ${report.options.sizes.n.toLocaleString('en-US')} no-op jobs, medians of ${report.options.runs} runs | ${systems.map((s) => s[1]).join(' | ')} |`);
  out.push(`|---|${systems.map(() => '---:').join('|')}|`);
  for (const [title, get] of rows) out.push(`| ${title} | ${systems.map(([s]) => get(s)).join(' | ')} |`);
  out.push('');
  out.push(`Raw fs with fsync of file and directory (write+fsync+rename+fsync): ${rate(fsyncRaw)} jobs/s; spoolkit durable runs ${report.options.sizes.durableN.toLocaleString('en-US')} jobs per enqueue case.`);
  for (const health of report.cases.filter((c) => c.group === 'health' && c.median)) {
    const { n, spreadMs } = health.median;
    const backlog = spreadMs ? `${n.toLocaleString('en-US')} jobs delayed evenly over ${spreadMs / 3_600_000} h` : `${n.toLocaleString('en-US')} waiting jobs`;
    out.push(`\`spoolkit health\` with ${backlog}: ${value(health)}.`);
  }
  const backlog = report.cases.find((c) => c.group === 'backlog');
  if (backlog?.median) out.push(`Retention of ${backlog.median.n.toLocaleString('en-US')} finished jobs at once: ${value(backlog)}.`);
  for (const big of report.cases.filter((c) => c.group === 'big')) out.push(`${big.system}, ${big.label}: ${value(big)}.`);
  out.push('');
  const commits = [...new Set(report.cases.map((c) => c.commit ?? report.merged?.keptCommit ?? report.spoolkit?.commit).filter(Boolean).map((c) => String(c).slice(0, 7)))];
  const tail = `Redis: ${report.redis.version ?? `skipped: ${report.redis.skipped}`}, AOF everysec. Runs between ${report.startedAt} and ${report.finishedAt}; spoolkit commit ${commits.join(', ') || 'unknown'}.`;
  const machines = machineGroups(report);
  if (machines.length <= 1) out.push(`Machine: ${describe(machines[0]?.machine ?? report.machine)}. ${tail}`);
  else {
    // A merged report whose groups ran on different hardware says which ran where: their numbers do not compare.
    out.push(`Machines (groups measured on different hardware do not compare): ${machines.map((g) => `${describe(g.machine)} for ${g.groups.join(', ')}`).join('; ')}. ${tail}`);
  }
  return `${out.join('\n')}\n`;
}

/** One line for a machine: CPU, cores, memory, kernel, Node, and the benchmark's filesystem. */
function describe(m) {
  return `${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.kernel}, Node ${m.node}; ${m.filesystem.type} on ${m.filesystem.source} (${m.filesystem.options})`;
}

/**
 * The machines a report's cases ran on, each with its groups, in order of first appearance. A case
 * without its own `machine` (written before cases carried one) ran on the report's.
 */
export function machineGroups(report) {
  /** @type {Map<string, { machine: any; groups: string[] }>} */
  const byKey = new Map();
  for (const c of report.cases) {
    const machine = c.machine ?? report.machine;
    const key = `${machine.cpuModel}|${machine.cores}|${machine.kernel}|${machine.node}|${machine.filesystem?.type}|${machine.filesystem?.source}`;
    let g = byKey.get(key);
    if (!g) byKey.set(key, (g = { machine, groups: [] }));
    if (!g.groups.includes(c.group)) g.groups.push(c.group);
  }
  return [...byKey.values()];
}
