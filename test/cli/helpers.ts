/**
 * Helpers for tests that run the built CLI (dist/) as a user would: child processes, real temp
 * spools, bounded waits. Build first: `npx tsc -p tsconfig.json` (scripts/test.mjs does).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
/** The built CLI. */
export const cliPath = join(repoRoot, 'dist/cli/main.js');
/** The built standalone healthcheck. */
export const healthBinPath = join(repoRoot, 'dist/cli/health-bin.js');

/** Throws a clear error when dist/ has not been built. */
export function assertBuilt(): void {
  if (!existsSync(cliPath)) throw new Error(`${cliPath} is missing: build first with "npx tsc -p tsconfig.json --noEmitOnError false"`);
}

/** A finished CLI run. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A CLI process still running, with its output so far. */
export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Parsed JSON log lines from stderr. */
  logs(): Record<string, unknown>[];
  done: Promise<CliResult>;
}

/** Options for starting the CLI. */
export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the process after this long (default 30 s) so a stuck test cannot hang the run. */
  timeoutMs?: number;
  /** Run something other than the CLI (argv[0] is the program). */
  raw?: boolean;
}

/** Starts `node dist/cli/main.js ...args`. */
export function startCli(args: readonly string[], opts: CliOptions = {}): CliProcess {
  const [program, argv] = opts.raw ? [args[0] as string, args.slice(1)] : [process.execPath, [cliPath, ...args]];
  const child = spawn(program, argv, {
    cwd: opts.cwd ?? repoRoot,
    env: { ...process.env, LOG_LEVEL: 'debug', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so a test can end it together with any children it started.
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const killer = setTimeout(() => killGroup(child), opts.timeoutMs ?? 30_000);
  const done = new Promise<CliResult>((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    logs: () => parseLogs(stderr),
    done,
  };
}

/** SIGKILLs a started process and everything in its process group. */
export function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Ends a started CLI process (and its children) if it still runs, and waits for it. */
export async function stopCli(p: CliProcess): Promise<void> {
  killGroup(p.child);
  await p.done;
}

/** Runs the CLI to its end. */
export function runCli(args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  return startCli(args, opts).done;
}

/** JSON lines from a log stream; other lines are skipped. */
export function parseLogs(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a partial line at the end of a live stream
    }
  }
  return out;
}

/** Waits until `predicate` is true, checking every `intervalMs`, for at most `timeoutMs`. */
export async function waitFor(predicate: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000, intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A temp directory removed by `cleanup()`. */
export function tempDir(prefix = 'spoolkit-cli-'): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * A copy of the entrypoint's stand-in app (test/fixtures/runtime/entry-app: spoolkit.web and
 * spoolkit.processors in package.json) with an empty spool beside it, readable by every uid.
 */
export function entryApp(prefix: string): { dir: string; spool: string; cleanup(): void } {
  const d = tempDir(prefix);
  chmodSync(d.path, 0o755);
  const dir = join(d.path, 'app');
  cpSync(fileURLToPath(new URL('../fixtures/runtime/entry-app/', import.meta.url)), dir, { recursive: true });
  const spool = join(d.path, 'spool');
  mkdirSync(spool);
  return { dir, spool, cleanup: d.cleanup };
}

/** Every path under `dir` with its size and mtime, sorted: equal snapshots mean nothing was written. */
export function snapshotTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const st = statSync(p);
      out.push(`${relative(dir, p)} ${e.isDirectory() ? 'dir' : st.size} ${st.mtimeMs}`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** True while a process with this pid exists (a zombie counts). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
