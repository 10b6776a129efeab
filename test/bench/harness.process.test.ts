/**
 * `npm run bench` itself: a quick run of every group that fits in a test (on tmpfs, without
 * BullMQ), and the report written from a saved run. Numbers are not checked, only that every case
 * ran and reported one; speed goals live in the bench, not here.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assertBuilt, repoRoot } from '../cli/helpers.js';

const bench = join(repoRoot, 'scripts', 'bench.mjs');
const made: string[] = [];

afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function tempDir(under: string): string {
  const dir = mkdtempSync(join(under, 'spoolkit-bench-test-'));
  made.push(dir);
  return dir;
}

function runBench(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bench, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Block between two markers in a Markdown file, trimmed. */
function between(file: string, begin: string, end: string): string {
  const text = readFileSync(file, 'utf8');
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  expect(a, `${begin} in ${file}`).toBeGreaterThan(-1);
  expect(b, `${end} in ${file}`).toBeGreaterThan(a);
  return text.slice(a + begin.length, b).trim();
}

describe('npm run bench', () => {
  it('a quick run measures every spoolkit and raw case of the fast groups and exits 0', async () => {
    assertBuilt();
    // tmpfs: the disk's state would only make the run slower, and this is not a measurement.
    const dir = tempDir(existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
    const groups = ['enqueue', 'drain', 'cycle', 'latency', 'health', 'backlog'];
    const r = await runBench(['--quick', '--worktree', '--no-build', '--no-bullmq', '--only', groups.join(','), '--dir', dir], 240_000);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const rows = r.stdout.split('\n').filter((line) => groups.some((g) => line.startsWith(`${g} `)));
    for (const g of groups) expect(rows.some((line) => line.startsWith(`${g} `)), `a row for ${g}`).toBe(true);
    for (const g of groups.filter((name) => name !== 'cycle')) {
      expect(rows.some((line) => line.startsWith(`${g} `) && /spoolkit/.test(line)), `a spoolkit row for ${g}`).toBe(true);
    }
    expect(rows.some((line) => line.startsWith('enqueue ') && line.includes('raw-fs'))).toBe(true);
    expect(rows.some((line) => line.includes('bullmq'))).toBe(false);
    for (const line of rows) {
      expect(line, 'every case ran once and succeeded').toMatch(/\s1\/1\s/);
      expect(line).not.toMatch(/\bNaN\b|undefined|null/);
    }
    // Throughput rows report a rate above zero.
    for (const line of rows.filter((l) => /^(enqueue|drain|cycle) /.test(l))) expect(line).toMatch(/\s[1-9][\d,]*\/s\s/);
    expect(r.stderr).toContain('--quick: results are not written');
  }, 300_000);

  it('--report-only rebuilds latest.md from latest.json exactly, and the README and docs carry that table', async () => {
    const out = tempDir(tmpdir());
    copyFileSync(join(repoRoot, 'bench', 'results', 'latest.json'), join(out, 'latest.json'));
    const r = await runBench(['--report-only', '--out', out], 60_000);
    expect(r.code, r.stderr).toBe(0);
    const rebuilt = readFileSync(join(out, 'latest.md'), 'utf8').trim();
    expect(rebuilt).toBe(readFileSync(join(repoRoot, 'bench', 'results', 'latest.md'), 'utf8').trim());
    expect(between(join(repoRoot, 'README.md'), '<!-- bench:start -->', '<!-- bench:end -->')).toBe(rebuilt);
    expect(between(join(repoRoot, 'docs', 'benchmarks.md'), '<!-- bench:begin (written by npm run bench) -->', '<!-- bench:end -->')).toBe(rebuilt);
  });
});
