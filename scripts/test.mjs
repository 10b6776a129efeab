#!/usr/bin/env node
// @ts-check
// The whole test suite, as CI runs it: build, provision what the tests need (Docker engine,
// Compose v2, offline base image, redis-server), then the unit, process and container tests.
// Ends with one line CI can read: "N passed, N failed".
import { $, fs, path } from 'zx';

$.verbose = true;
const root = path.resolve(import.meta.dirname, '..');
$.cwd = root;

const steps = [];
const results = { passed: 0, failed: 0, skipped: 0 };

async function step(name, fn) {
  const started = Date.now();
  console.log(`\n=== ${name}`);
  try {
    await fn();
    steps.push({ name, ok: true, seconds: (Date.now() - started) / 1000 });
  } catch (err) {
    steps.push({ name, ok: false, seconds: (Date.now() - started) / 1000 });
    console.error(`step failed: ${name}: ${err instanceof Error ? err.message : String(err)}`);
    results.failed += 1;
  }
}

async function vitestProject(project) {
  const out = path.join(root, '.tmp', `vitest-${project}.json`);
  await fs.mkdirp(path.dirname(out));
  await fs.remove(out);
  const run = await $`npx vitest run --project ${project} --reporter=default --reporter=json --outputFile=${out}`.nothrow();
  if (await fs.pathExists(out)) {
    const report = await fs.readJson(out);
    results.passed += report.numPassedTests ?? 0;
    results.failed += report.numFailedTests ?? 0;
    results.skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
    // A suite that failed to load has no tests to count; count it as a failure.
    results.failed += (report.testResults ?? []).filter((r) => r.status === 'failed' && (r.assertionResults ?? []).length === 0).length;
  } else if (run.exitCode !== 0) {
    results.failed += 1;
  }
}

const provisioners = ['docker-engine.mjs', 'base-image.mjs', 'redis.mjs'];

await step('build', () => $`npx tsc -p tsconfig.json`);
await step('typecheck tests', () => $`npx tsc -p test/tsconfig.json`);
for (const script of provisioners) {
  if (await fs.pathExists(path.join(root, 'scripts', script))) {
    await step(`provision: ${script}`, () => $`node ${path.join('scripts', script)}`);
  }
}
for (const project of ['unit', 'process', 'container']) {
  await step(`tests: ${project}`, () => vitestProject(project));
}

console.log('\n=== summary');
for (const s of steps) console.log(`${s.ok ? 'ok  ' : 'FAIL'} ${s.name} (${s.seconds.toFixed(1)} s)`);
console.log(`${results.passed} passed, ${results.failed} failed${results.skipped ? `, ${results.skipped} skipped` : ''}`);
process.exitCode = results.failed === 0 && results.passed > 0 ? 0 : 1;
