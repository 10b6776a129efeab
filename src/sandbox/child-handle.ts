/**
 * One sandbox child seen from the host: a forked process or a worker thread, with a uniform way
 * to send messages, learn that it exited and kill it.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { Worker as ThreadWorker } from 'node:worker_threads';
import { isSourceUrl, siblingPath, threadEntry } from '../thread-entry.js';
import type { ChildMessage, HostMessage } from './protocol.js';

/** How to start a child. */
export interface ChildLaunchOptions {
  /** Absolute path of the processor file. */
  file: string;
  useWorkerThreads: boolean;
  /** Extra Node flags for the child (e.g. `--max-old-space-size=256`). */
  execArgv: string[];
  env: NodeJS.ProcessEnv | undefined;
}

/** A running child. `onExit` fires once, whatever the cause. */
export interface ChildHandle {
  readonly pid: number | undefined;
  send(message: HostMessage): void;
  onMessage(handler: (message: ChildMessage) => void): void;
  onExit(handler: (code: number | null, signal: string | null) => void): void;
  /** Kills at once (SIGKILL for a process, terminate for a thread). */
  kill(): void;
  readonly exited: boolean;
  /** For threads: the uncaught error that ended it, if any. */
  readonly lastError?: Error | undefined;
}

const selfUrl = import.meta.url;
const runningFromSource = isSourceUrl(selfUrl);

/** The child entry next to this module, with the flags needed to run it from TypeScript sources. */
function childEntry(): { path: string; execArgv: string[] } {
  return { path: siblingPath(selfUrl, 'child-main'), execArgv: runningFromSource ? ['--import', 'tsx'] : [] };
}

/** Flags the child inherits from this process, minus ones that would break a child (debug ports, eval). */
function inheritedExecArgv(): string[] {
  return process.execArgv.filter((arg) => !/^--(inspect|debug)/.test(arg) && arg !== '-e' && arg !== '--eval');
}

/** Starts a child for `opts.file`. */
export function launchChild(opts: ChildLaunchOptions): ChildHandle {
  const entry = childEntry();
  const execArgv = withoutRepeatedImports([...inheritedExecArgv(), ...entry.execArgv, ...opts.execArgv]);
  return opts.useWorkerThreads ? launchThread(execArgv, opts) : launchProcess(entry.path, execArgv, opts);
}

function launchProcess(entryPath: string, execArgv: string[], opts: ChildLaunchOptions): ChildHandle {
  const child: ChildProcess = fork(entryPath, [opts.file], {
    execArgv,
    env: opts.env ?? process.env,
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let exited = false;
  const exitHandlers: ((code: number | null, signal: string | null) => void)[] = [];
  const finish = (code: number | null, signal: string | null): void => {
    if (exited) return;
    exited = true;
    for (const h of exitHandlers) h(code, signal);
  };
  child.once('exit', (code, signal) => finish(code, signal));
  child.once('error', () => finish(null, null));
  return {
    get pid() {
      return child.pid;
    },
    get exited() {
      return exited;
    },
    send: (m) => {
      if (!exited && child.connected) child.send(m);
    },
    onMessage: (h) => child.on('message', (m) => h(m as ChildMessage)),
    onExit: (h) => exitHandlers.push(h),
    kill: () => {
      if (!exited) child.kill('SIGKILL');
    },
  };
}

function launchThread(execArgv: string[], opts: ChildLaunchOptions): ChildHandle {
  const { entry, evaluate } = threadEntry(selfUrl, 'child-main');
  let lastError: Error | undefined;
  const worker = new ThreadWorker(entry, {
    eval: evaluate,
    workerData: { file: opts.file },
    // Threads accept few flags; process-level ones such as --max-old-space-size belong to processes.
    execArgv: execArgv.filter((a, i, all) => a !== '--import' && all[i - 1] !== '--import' && !a.startsWith('--max-old-space-size')),
    env: opts.env ?? process.env,
    stdout: false,
    stderr: false,
  });
  let exited = false;
  const exitHandlers: ((code: number | null, signal: string | null) => void)[] = [];
  const finish = (code: number | null): void => {
    if (exited) return;
    exited = true;
    for (const h of exitHandlers) h(code, null);
  };
  worker.once('exit', (code) => finish(code));
  // An uncaught error in the thread ends it; 'exit' follows. Keep the error for the report.
  worker.on('error', (err) => {
    lastError = err;
  });
  return {
    pid: process.pid,
    get exited() {
      return exited;
    },
    get lastError() {
      return lastError;
    },
    send: (m) => {
      if (!exited) worker.postMessage(m);
    },
    onMessage: (h) => worker.on('message', (m) => h(m as ChildMessage)),
    onExit: (h) => exitHandlers.push(h),
    kill: () => {
      if (!exited) void worker.terminate();
    },
  };
}

function withoutRepeatedImports(args: string[]): string[] {
  // `--import tsx` may arrive both inherited and added; flags with values are kept as pairs.
  const out: string[] = [];
  const imported = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    if (arg === '--import' && i + 1 < args.length) {
      const value = args[i + 1] as string;
      if (!imported.has(value)) out.push(arg, value);
      imported.add(value);
      i++;
      continue;
    }
    out.push(arg);
  }
  return out;
}
