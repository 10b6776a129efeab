#!/usr/bin/env node
// @ts-check
// `npm run bench`: spoolkit against BullMQ (on a private redis-server with AOF everysec, started
// here) and against the raw filesystem ceiling, in one run on this machine. By default it measures
// the last commit (its src/ is built into .tmp/bench-build/), so a half-edited tree cannot skew or
// break a run. Every case runs in a fresh process, `--runs` times (default 3), in rounds (every
// case once, then every case again), so slow drift in the disk's state is shared by all systems;
// the table shows medians. Writes
// bench/results/latest.json (every run's numbers, the machine, the filesystem) and
// bench/results/latest.md (the headline table for the README).
//
// Flags:
//   --runs N        runs per case (default 3)
//   --quick         small sizes and one run: a smoke test of the harness (not for reporting)
//   --big           also measure with 1,000,000 jobs waiting (several minutes; --big-n to change)
//   --only a,b      only these groups: enqueue, drain, flows, cycle, latency, deletes, health, backlog, big
//   --no-bullmq     skip BullMQ even when redis-server is available
//   --worktree      measure the working tree (builds dist/) instead of the last commit
//   --no-build      with --worktree: use dist/ as it is
//   --settle-ms N   pause after `sync` before each timed part (default 1000); then the bench waits
//                   until creating files is quick again (bench/lib/settle.mjs)
//   --out DIR       where to write latest.json and latest.md (default bench/results)
//   --dir DIR       where runs create their spools and files (default .tmp/bench; e.g. /dev/shm/x
//                   to see the cost without the disk)
//   --report-only   rewrite latest.md (and the docs block) from latest.json without running
//   --merge         keep the cases of other groups from the existing latest.json (e.g. add --only big)
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { $, argv, fs, path, which } from 'zx';
import { startRedis } from '../bench/lib/redis-server.mjs';
import { briefMachine, describeMachine } from '../bench/lib/machine.mjs';
import { buildMatrix } from '../bench/lib/matrix.mjs';
import { median } from '../bench/lib/stats.mjs';
import { headlineMarkdown, fullTable, machineGroups } from '../bench/lib/report.mjs';

$.verbose = false;
const root = path.resolve(import.meta.dirname, '..');
$.cwd = root;

const quick = Boolean(argv.quick);
const runs = Number(argv.runs ?? (quick ? 1 : 3));
const only = argv.only ? String(argv.only).split(',') : null;
const settleMs = Number(argv['settle-ms'] ?? (quick ? 100 : 1000));
const outDir = path.resolve(root, String(argv.out ?? 'bench/results'));
const base = argv.dir ? path.resolve(String(argv.dir)) : path.join(root, '.tmp', 'bench');
const sizes = quick
  ? { n: 1000, durableN: 300, latencyCount: 200, rate: 200, healthN: 2000, backlogN: 2000, bigN: 20_000 }
  : { n: 10_000, durableN: 2_000, latencyCount: 1_000, rate: 200, healthN: 100_000, backlogN: 50_000, bigN: Number(argv['big-n'] ?? 1_000_000) };

function log(msg) {
  process.stderr.write(`${msg}\n`);
}

/** Runs one case in a fresh Node process and resolves its RESULT object. */
function runCase(caseName, params) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'bench', 'run-case.mjs'), caseName, JSON.stringify(params)], {
      cwd: root,
      env: { ...process.env, LOG_LEVEL: 'error' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => { out += c; });
    child.stderr.on('data', (c) => { err = (err + c).slice(-4000); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30 * 60_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code === 0 && line) resolve(JSON.parse(line.slice(7)));
      else reject(new Error(`case ${caseName} exited ${code ?? signal}: ${err.trim().split('\n').slice(-6).join(' | ')}`));
    });
  });
}

/** The headline value(s) of one result, by metric kind. */
function summarize(metric, results) {
  if (results.length === 0) return null;
  if (metric === 'opsPerSec') return { opsPerSec: median(results.map((r) => r.opsPerSec)) };
  if (metric === 'latency') {
    return {
      p50Ms: median(results.map((r) => r.p50Ms)),
      p99Ms: median(results.map((r) => r.p99Ms)),
      maxMs: median(results.map((r) => r.maxMs)),
    };
  }
  if (metric === 'backlog') {
    return { n: results[0].n, maxStallMs: median(results.map((r) => r.maxStallMs)), goneSeconds: median(results.map((r) => r.goneSeconds)) };
  }
  return results[0];
}

if (argv['report-only']) {
  const saved = await fs.readJson(path.join(outDir, 'latest.json'));
  await writeMarkdown(saved);
  console.log(fullTable(saved));
  process.exit(0);
}

/** Writes latest.md and refreshes the results block of docs/benchmarks.md. */
async function writeMarkdown(rep) {
  const markdown = headlineMarkdown(rep);
  await fs.writeFile(path.join(outDir, 'latest.md'), markdown);
  // docs/benchmarks.md carries the same table between two markers; refresh it in place.
  const doc = path.join(root, 'docs', 'benchmarks.md');
  if (!argv.out && (await fs.pathExists(doc))) {
    const text = await fs.readFile(doc, 'utf8');
    const begin = '<!-- bench:begin (written by npm run bench) -->';
    const end = '<!-- bench:end -->';
    const a = text.indexOf(begin);
    const b = text.indexOf(end);
    if (a >= 0 && b > a) await fs.writeFile(doc, `${text.slice(0, a + begin.length)}\n${markdown}${text.slice(b)}`);
  }
}

// --- set-up -----------------------------------------------------------------------------------
await fs.mkdirp(base);
const machine = describeMachine(base);
const machineBrief = briefMachine(machine);
log(`machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.kernel}, node ${machine.node}, ${machine.filesystem.type} (${machine.filesystem.options})`);

const commit = (await $`git rev-parse HEAD`.nothrow()).stdout.trim() || null;
const srcDirty = (await $`git status --porcelain -- src`.nothrow()).stdout.trim() !== '';
let entry;
if (argv.worktree) {
  if (!argv['no-build'] && argv.build !== false) {
    log('building dist/ from the working tree ...');
    const build = await $`npx tsc -p tsconfig.json --noEmitOnError false`.nothrow();
    if (build.exitCode !== 0) log(`tsc reported errors (dist/ was still emitted):\n${build.stdout.split('\n').slice(0, 10).join('\n')}`);
  }
  entry = path.join(root, 'dist', 'index.js');
} else {
  const buildDir = path.join(root, '.tmp', 'bench-build');
  log(`building the committed sources (${commit?.slice(0, 12)}) into ${path.relative(root, buildDir)} ...`);
  await fs.remove(buildDir);
  await fs.mkdirp(buildDir);
  await $`git archive --format=tar HEAD src tsconfig.json package.json | tar -x -C ${buildDir}`;
  const build = await $`npx tsc -p ${path.join(buildDir, 'tsconfig.json')} --noEmitOnError false`.nothrow();
  if (build.exitCode !== 0) log(`tsc reported errors (output was still emitted):\n${build.stdout.split('\n').slice(0, 10).join('\n')}`);
  entry = path.join(buildDir, 'dist', 'index.js');
}
if (!(await fs.pathExists(entry))) {
  log(`${entry} is missing: the spoolkit cases cannot run.`);
  process.exitCode = 1;
}
process.env.SPOOLKIT_BENCH_ENTRY = entry;
await fs.remove(base);
await fs.mkdirp(base);

let redis;
let bullmqSkipped = '';
const wantBullmq = argv.bullmq !== false && !argv['no-bullmq'];
if (!wantBullmq) bullmqSkipped = 'disabled with --no-bullmq';
else if (!(await which('redis-server', { nothrow: true }))) bullmqSkipped = 'redis-server is not installed (node scripts/redis.mjs installs it)';
else {
  try {
    redis = await startRedis({ appendonly: 'everysec' });
    log(`redis-server ${redis.version} on 127.0.0.1:${redis.port} (appendonly yes, appendfsync everysec)`);
  } catch (err) {
    bullmqSkipped = `redis-server did not start: ${err instanceof Error ? err.message : String(err)}`;
  }
}
if (bullmqSkipped) log(`BullMQ cases skipped: ${bullmqSkipped}`);

const matrix = buildMatrix({ ...sizes, big: Boolean(argv.big) || (only?.includes('big') ?? false), bullmq: Boolean(redis) }).filter(
  (c) => !only || only.includes(c.group),
);

// --- runs -------------------------------------------------------------------------------------
const startedAt = new Date().toISOString();
const cases = [];
// Runs go in rounds: round 1 runs every case once, round 2 again, and so on. The disk's state
// drifts over minutes (recent deletes, online discard), so back-to-back runs of one system would
// let that drift favour whichever system ran at a good moment; rounds spread it over all of them.
const tallies = matrix.map(() => ({ results: [], errors: [], loads: [] }));
try {
  const rounds = Math.max(0, ...matrix.map((spec) => spec.runs ?? runs));
  for (let i = 0; i < rounds; i++) {
    for (const [k, spec] of matrix.entries()) {
      const count = spec.runs ?? runs;
      if (i >= count) continue;
      const { results, errors, loads } = tallies[k];
      const params = { ...spec.params, base, settleMs, redisPort: redis?.port };
      loads.push(Math.round(loadavg()[0] * 100) / 100);
      const t0 = Date.now();
      try {
        const r = await runCase(spec.caseName, params);
        results.push(r);
        log(`${spec.group} | ${spec.label} | ${spec.system} | run ${i + 1}/${count}: ${brief(spec.metric, r)} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      } catch (err) {
        errors.push(err instanceof Error ? err.message : String(err));
        log(`${spec.group} | ${spec.label} | ${spec.system} | run ${i + 1}/${count}: FAILED ${errors[errors.length - 1]}`);
      }
    }
  }
  for (const [k, spec] of matrix.entries()) {
    const { results, errors, loads } = tallies[k];
    cases.push({ ...spec, commit, machine: machineBrief, results, errors, loadavg1m: loads, median: summarize(spec.metric, results) });
  }
} finally {
  await redis?.stop();
  await fs.remove(base);
}

function brief(metric, r) {
  if (metric === 'opsPerSec') return `${Math.round(r.opsPerSec)}/s`;
  if (metric === 'latency') return `p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms`;
  if (metric === 'health') return `${r.wallMsMedian?.toFixed(0)} ms, ${r.rssMbMedian?.toFixed(0)} MB, exit ${r.exitCode}`;
  if (metric === 'backlog') return `longest stall ${r.maxStallMs.toFixed(0)} ms, gone in ${r.goneSeconds.toFixed(1)} s`;
  if (metric === 'big') return `build ${Math.round(r.buildPerSec)}/s; at ${r.n}: add ${Math.round(r.atBig.addPerSec)}/s, drain ${Math.round(r.atBig.drainPerSec)}/s`;
  return JSON.stringify(r);
}

// --- report -----------------------------------------------------------------------------------
const report = {
  startedAt,
  finishedAt: new Date().toISOString(),
  machine,
  options: { runs, quick, settleMs, sizes, only },
  spoolkit: { commit, measured: argv.worktree ? 'working tree' : 'last commit', srcDirtyAtRun: srcDirty },
  redis: redis ? { version: redis.version, appendonly: 'yes', appendfsync: 'everysec' } : { skipped: bullmqSkipped },
  cases,
};
console.log(fullTable(report));
if (quick) {
  log('--quick: results are not written (sizes too small to report).');
} else {
  await fs.mkdirp(outDir);
  const latest = path.join(outDir, 'latest.json');
  if (argv.merge && (await fs.pathExists(latest))) {
    const previous = await fs.readJson(latest);
    const groups = new Set(cases.map((c) => c.group));
    // Kept cases keep the commit they measured (cases merged in before carry none of their own).
    const kept = previous.cases
      .filter((c) => !groups.has(c.group))
      .map((c) => ({ ...c, commit: c.commit ?? previous.merged?.keptCommit ?? previous.spoolkit?.commit ?? null, machine: c.machine ?? briefMachine(previous.machine) }));
    report.cases = [...kept, ...cases];
    report.merged = { from: previous.startedAt, keptGroups: [...new Set(kept.map((c) => c.group))], keptCommit: previous.spoolkit?.commit ?? null };
    if (machineGroups(report).length > 1) log('note: the kept groups ran on other hardware; latest.md names the machine of each group.');
    report.startedAt = previous.startedAt;
  }
  await fs.writeJson(latest, report, { spaces: 2 });
  await writeMarkdown(report);
  log(`wrote ${path.relative(root, path.join(outDir, 'latest.json'))} and latest.md`);
}
if (cases.some((c) => c.errors.length > 0)) process.exitCode = 1;
