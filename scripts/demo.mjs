#!/usr/bin/env node
// @ts-check
// The main job on a fresh machine, no Docker needed: a local spool directory, one web process
// and two worker processes exchanging jobs. POSTs enqueue jobs; the worker processes run them;
// the web process reports their progress and results as they arrive.
import { $, fs, path, sleep } from 'zx';
import { spawn } from 'node:child_process';

const root = path.resolve(import.meta.dirname, '..');
const spool = path.join(root, '.spool', 'demo');
const port = Number(process.env.PORT ?? 3210);
const jobsToRun = Number(process.env.DEMO_JOBS ?? 6);

$.cwd = root;
$.verbose = false;
if (!(await fs.pathExists(path.join(root, 'dist', 'index.js'))) || process.env.DEMO_REBUILD !== '0') {
  console.log('building spoolkit (tsc)...');
  await $`npx tsc -p tsconfig.json`;
}
await fs.remove(spool);
await fs.mkdirp(spool);

const env = { ...process.env, SPOOLKIT_SPOOL: spool, PORT: String(port), LOG_FORMAT: 'pretty' };
const children = [];
function start(label, args) {
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'inherit', 'pipe'] });
  child.stderr.on('data', (chunk) => {
    for (const line of String(chunk).split('\n').filter(Boolean)) {
      if (/job:(completed|failed)|worker:(started|draining|stopped)|web:listening/.test(line)) console.log(`  [${label}] ${line}`);
    }
  });
  children.push(child);
  return child;
}

start('worker-1', ['dist/cli/main.js', 'worker', '--processors', 'example/processors.js']);
start('worker-2', ['dist/cli/main.js', 'worker', '--processors', 'example/processors.js']);
start('web', ['example/web.js']);

const base = `http://127.0.0.1:${port}`;
async function until(fn, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch {}
    if (Date.now() > deadline) throw new Error('timed out waiting for the demo web process');
    await sleep(50);
  }
}
try {
  await until(async () => (await fetch(`${base}/healthz`)).ok, 15_000);
  console.log(`\nweb listening on ${base}, spool at ${path.relative(root, spool)}\n`);
  const ids = [];
  for (let i = 0; i < jobsToRun; i++) {
    const name = i === jobsToRun - 1 ? 'flaky' : 'steps';
    const body = { name, data: { steps: 4, stepMs: 150, failTimes: 1 }, opts: { attempts: 3, backoff: { type: 'fixed', delay: 200 } } };
    const res = await fetch(`${base}/jobs`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    const { id } = await res.json();
    ids.push(id);
    console.log(`POST /jobs ${name} -> ${res.status} id=${id}`);
  }
  const seen = new Map();
  await until(async () => {
    let done = 0;
    for (const id of ids) {
      const job = await (await fetch(`${base}/jobs/${id}`)).json();
      const line = `job ${id}: ${job.state} progress=${JSON.stringify(job.progress)}${job.returnvalue ? ` result=${JSON.stringify(job.returnvalue)}` : ''}${job.failedReason ? ` lastError="${job.failedReason}"` : ''}`;
      if (seen.get(id) !== line) console.log(line);
      seen.set(id, line);
      if (job.state === 'completed' || job.state === 'failed') done++;
    }
    return done === ids.length;
  }, 60_000);
  const counts = await (await fetch(`${base}/counts`)).json();
  console.log(`\nall ${ids.length} jobs finished; counts: ${JSON.stringify(counts)}`);
  const status = await $({ env })`node dist/cli/main.js status`.nothrow();
  console.log(`\n$ spoolkit status\n${status.stdout}`);
} finally {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
}
