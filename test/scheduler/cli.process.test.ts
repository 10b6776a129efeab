/**
 * `spoolkit scheduler` as a user runs it: help, usage errors (exit 2), and SIGTERM (exit 0).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');
let spool: string | undefined;

afterEach(() => {
  if (spool) rmSync(spool, { recursive: true, force: true });
  spool = undefined;
});

function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...env } });
}

describe('spoolkit scheduler', () => {
  it('--help describes the role and its options', () => {
    const r = cli(['scheduler', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('--queue <name>');
    expect(r.stdout).toContain('-s, --spool <path>');
    // One default, not commander's `(default: [])` after it.
    expect(r.stdout).not.toContain('(default: [])');
    expect(r.stdout).toContain('--poll-interval <ms>');
    expect(r.stdout).toContain('docs/scheduler.md');
  });

  it('refuses a bad --poll-interval with exit 2 and names the flag', () => {
    const r = cli(['scheduler', '--poll-interval', '10ms']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--poll-interval must be a whole number');
  });

  it('refuses a bad LOG_LEVEL with exit 2', () => {
    const r = cli(['scheduler'], { LOG_LEVEL: 'loud' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('LOG_LEVEL');
  });

  it.each([
    ['SIGTERM', ['SIGTERM']],
    ['SIGHUP (a closed terminal)', ['SIGHUP']],
  ] as const)('runs until %s, then exits 0 with JSON-lines logs on stderr, each naming its pid', async (_what, signals: readonly NodeJS.Signals[]) => {
    spool = mkdtempSync(join(tmpdir(), 'spoolkit-cli-sched-'));
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'scheduler', '-s', spool, '--poll-interval', '100'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LOG_LEVEL: 'info', LOG_FORMAT: 'json' },
    });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const started = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 20_000);
      const check = () => {
        if (stderr.includes('scheduler:started')) {
          clearTimeout(timer);
          child.stderr.off('data', check);
          resolve(true);
        }
      };
      child.stderr.on('data', check);
    });
    expect(started, stderr).toBe(true);
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(null);
      }, 10_000);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
      child.kill(signals[0]);
    });
    expect(code, stderr).toBe(0);
    expect(stdout).toBe('');
    const events = stderr
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { event: string; role?: string; pid?: number });
    expect(events.map((e) => e.event)).toEqual(['scheduler:started', 'scheduler:stopping', 'scheduler:stopped']);
    expect(events.every((e) => e.role === 'scheduler' && e.pid === child.pid)).toBe(true);
  });
});
