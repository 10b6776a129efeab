// @ts-check
// `spoolkit health` cost with a large backlog: wall time and peak RSS of the built CLI
// (`node dist/cli/main.js health`) with SPOOLKIT_SPOOL pointed at a spool holding `n` waiting jobs,
// or with `spreadMs`, `n` delayed jobs due evenly over that span (one leaf directory per second:
// the shape whose count stats tens of thousands of leaves). The first call counts; later calls
// within a few seconds read the counts it published (published-counts.ts), so both are reported.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { openSystem, prefill } from '../lib/systems.mjs';
import { freshDir, retireDir, settle } from '../lib/settle.mjs';
import { median, nowNs } from '../lib/stats.mjs';

const repo = join(import.meta.dirname, '..', '..');
// The CLI of the same build the other cases load (see spoolkitEntry), else this repo's dist/.
const cli = process.env.SPOOLKIT_BENCH_ENTRY
  ? join(dirname(process.env.SPOOLKIT_BENCH_ENTRY), 'cli', 'main.js')
  : join(repo, 'dist', 'cli', 'main.js');
const gnuTime = '/usr/bin/time';

/**
 * @param {{ n: number; calls?: number; spreadMs?: number; base: string; settleMs?: number; spool?: string }} p
 */
export async function run(p) {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: build first (npx tsc -p tsconfig.json)`);
  const spool = freshDir(p.base, 'health');
  try {
    const sys = await openSystem({ system: 'spoolkit', mode: 'fast', spool });
    const queue = new sys.Queue('bench', sys.queueOpts);
    const t0 = nowNs();
    if (p.spreadMs) await prefillSpread(queue, p.n, p.spreadMs);
    else await prefill(queue, p.n, 5000);
    const prefillSeconds = Number(nowNs() - t0) / 1e9;
    await queue.close();
    await settle(p);
    const env = { ...process.env, SPOOLKIT_SPOOL: spool, LOG_LEVEL: 'error' };
    const calls = p.calls ?? 5;
    let leaves = 0;
    const wallMs = [];
    const rssKb = [];
    let last = { exitCode: -1, output: '' };
    const useTime = existsSync(gnuTime);
    const rssFile = join(spool, '..', `health-rss-${process.pid}.txt`);
    for (let i = 0; i < calls; i++) {
      const args = useTime ? ['-f', '%M', '-o', rssFile, process.execPath, cli, 'health'] : [cli, 'health'];
      const start = nowNs();
      const r = spawnSync(useTime ? gnuTime : process.execPath, args, { env, encoding: 'utf8', timeout: 60_000 });
      wallMs.push(Number(nowNs() - start) / 1e6);
      if (useTime && existsSync(rssFile)) rssKb.push(Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()));
      last = { exitCode: r.status ?? -1, output: (r.stdout ?? '').trim() };
      if (i === 0) leaves = publishedLeaves(spool);
    }
    rmSync(rssFile, { force: true });
    // For scale: a bare `node -e 0` on this machine.
    const bare = [];
    for (let i = 0; i < 3; i++) {
      const s = nowNs();
      execFileSync(process.execPath, ['-e', '0']);
      bare.push(Number(nowNs() - s) / 1e6);
    }
    let parsed;
    try { parsed = JSON.parse(last.output); } catch { parsed = undefined; }
    return {
      n: p.n,
      spreadMs: p.spreadMs ?? 0,
      leaves,
      prefillSeconds,
      firstWallMs: wallMs[0],
      wallMsMedian: median(wallMs),
      wallMs,
      rssMbMedian: rssKb.length ? /** @type {number} */ (median(rssKb)) / 1024 : null,
      nodeBareMs: median(bare),
      exitCode: last.exitCode,
      status: parsed?.status ?? null,
      countsAgeMs: parsed?.countsAgeMs ?? null,
      output: last.output.slice(0, 600),
    };
  } finally {
    retireDir(spool);
  }
}

/** `n` delayed jobs due evenly over `spreadMs`, starting in an hour (so none falls due during the run). */
async function prefillSpread(queue, n, spreadMs) {
  for (let i = 0; i < n; i += 5000) {
    const size = Math.min(5000, n - i);
    await queue.addBulk(Array.from({ length: size }, (_, k) => ({ name: 'noop', data: { i: i + k }, opts: { delay: 3_600_000 + Math.floor(((i + k) * spreadMs) / n) } })));
  }
}

/** Leaves the first call's count walked, from the counts it published (0 when it published none: a small spool). */
function publishedLeaves(spool) {
  try {
    return JSON.parse(readFileSync(join(spool, 'queues', 'bench', 'counts.json'), 'utf8')).leaves ?? 0;
  } catch {
    return 0;
  }
}
