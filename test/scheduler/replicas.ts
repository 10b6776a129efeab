/** Starting and stopping scheduler replica processes for the process tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import type { Queue } from '../../src/index.js';

const REPLICA = fileURLToPath(new URL('./fixtures/replica.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Replica {
  child: ChildProcess;
  stderr: () => string;
}

const WORKER = fileURLToPath(new URL('./fixtures/worker-replica.ts', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** Starts one scheduler-loop replica and resolves once it printed `ready` (rejects after `timeoutMs`). */
export function startReplica(spoolRoot: string, queue: string, host: 'file' | 'queue', timeoutMs = 15_000): Promise<Replica> {
  return startChild([REPLICA, spoolRoot, queue, host], (out) => out.includes('ready'), timeoutMs);
}

/** Starts a Worker process that appends `<jobId> <pid>` lines to `outFile` for every job it runs. */
export function startWorker(spoolRoot: string, queue: string, outFile: string, schedulers = true, timeoutMs = 15_000): Promise<Replica> {
  return startChild([WORKER, spoolRoot, queue, outFile, schedulers ? 'schedulers' : 'no-schedulers'], (out) => out.includes('ready'), timeoutMs);
}

/** Starts `spoolkit scheduler` (from source) and resolves once it logged `scheduler:started`. */
export function startSchedulerCli(spoolRoot: string, args: string[] = [], timeoutMs = 15_000): Promise<Replica> {
  return startChild([CLI, 'scheduler', '--spool', spoolRoot, ...args], (_out, err) => err.includes('scheduler:started'), timeoutMs, { LOG_LEVEL: 'info' });
}

function startChild(args: string[], isReady: (stdout: string, stderr: string) => boolean, timeoutMs: number, env: NodeJS.ProcessEnv = {}): Promise<Replica> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'warn', ...env },
  });
  let err = '';
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args[0]} did not start within ${timeoutMs} ms: ${err}`));
    }, timeoutMs);
    const check = (): void => {
      if (isReady(out, err)) {
        clearTimeout(timer);
        resolve({ child, stderr: () => err });
      }
    };
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      check();
    });
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      check();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited early with ${code}: ${err}`));
    });
  });
}

/** Sends SIGTERM and resolves with the exit code (SIGKILL and rejects after `timeoutMs`). */
export function stopReplica(r: Replica, timeoutMs = 10_000): Promise<number | null> {
  if (r.child.exitCode !== null) return Promise.resolve(r.child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      r.child.kill('SIGKILL');
      reject(new Error(`replica did not exit within ${timeoutMs} ms of SIGTERM: ${r.stderr()}`));
    }, timeoutMs);
    r.child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    r.child.kill('SIGTERM');
  });
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * What a process test file starts, cleaned up after each test: child processes are stopped,
 * queues closed and the spool directory made by `newSpool` deleted.
 */
export function perTestCleanup(): { running: Replica[]; queues: Queue[]; newSpool: (prefix: string) => string } {
  const running: Replica[] = [];
  const queues: Queue[] = [];
  const roots: string[] = [];
  afterEach(async () => {
    await Promise.allSettled(running.splice(0).map((r) => stopReplica(r)));
    await Promise.allSettled(queues.splice(0).map((q) => q.close()));
    for (const dir of roots.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const newSpool = (prefix: string): string => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    roots.push(dir);
    return dir;
  };
  return { running, queues, newSpool };
}
