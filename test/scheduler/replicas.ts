/** Starting and stopping scheduler replica processes for the process tests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const REPLICA = fileURLToPath(new URL('./fixtures/replica.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Replica {
  child: ChildProcess;
  stderr: () => string;
}

/** Starts one replica and resolves once it printed `ready` (rejects after `timeoutMs`). */
export function startReplica(spoolRoot: string, queue: string, host: 'file' | 'queue', timeoutMs = 15_000): Promise<Replica> {
  const child = spawn(process.execPath, ['--import', 'tsx', REPLICA, spoolRoot, queue, host], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'warn' },
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`replica did not start within ${timeoutMs} ms: ${err}`));
    }, timeoutMs);
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer);
        resolve({ child, stderr: () => err });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`replica exited early with ${code}: ${err}`));
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
