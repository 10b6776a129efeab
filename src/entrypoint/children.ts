/**
 * Running programs as children of the entrypoint. Node cannot exec(2), so the entrypoint spawns
 * the program with stdio inherited, forwards SIGTERM, SIGINT and SIGHUP to it, and exits with its
 * exit code, or 128 + the signal number when a signal ended it (what a shell would report).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';

/** The signals the entrypoint passes on to its children. */
export const FORWARDED_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/** A child and the promise of its end. */
export interface RunningChild {
  readonly name: string;
  readonly process: ChildProcess;
  /** Resolves with the exit code (128 + signal for a signal); rejects when it could not start. */
  readonly exited: Promise<number>;
}

/** The exit code a shell would report for a process that ended with `code` or `signal`. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  if (signal !== null) return 128 + (constants.signals[signal] ?? 0);
  return 1;
}

/**
 * Spawns `argv` without a shell, stdio inherited. With `ipc`, the child also gets an IPC channel,
 * which closes when this process ends however it ends (even SIGKILL): a `spoolkit worker` started
 * so drains when it sees that (see `onParentGone` in src/runtime/supervisor.ts).
 */
export function startChild(name: string, argv: readonly string[], env: NodeJS.ProcessEnv, opts: { ipc?: boolean } = {}): RunningChild {
  const [program, ...args] = argv;
  if (!program) throw new Error('startChild needs a program');
  const child = spawn(program, args, { stdio: opts.ipc ? ['inherit', 'inherit', 'inherit', 'ipc'] : 'inherit', env });
  const exited = new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(exitCodeOf(code, signal)));
  });
  return { name, process: child, exited };
}

/**
 * Resolves once the child has started, or with the error that kept it from starting (ENOENT: no
 * such program; EACCES: not executable). `exited` still rejects with that error.
 */
export function whenStarted(child: RunningChild): Promise<NodeJS.ErrnoException | undefined> {
  // Callers that learn of the failure here need not also await `exited`.
  child.exited.catch(() => undefined);
  return new Promise((resolve) => {
    child.process.once('spawn', () => resolve(undefined));
    child.process.once('error', (err: NodeJS.ErrnoException) => resolve(err));
  });
}

/**
 * Forwards the entrypoint's signals to every live child until the returned function is called.
 * `onSignal` hears each one first (the `all` role uses it to know a stop was asked for).
 */
export function forwardSignals(children: readonly RunningChild[], onSignal?: (signal: NodeJS.Signals) => void): () => void {
  const handlers = FORWARDED_SIGNALS.map((signal) => {
    const handler = (): void => {
      onSignal?.(signal);
      for (const c of children) {
        if (c.process.exitCode === null && c.process.signalCode === null) c.process.kill(signal);
      }
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}

/** Runs one program to its end with signals forwarded; resolves its exit code. */
export async function runForwarded(name: string, argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const child = startChild(name, argv, env);
  const stop = forwardSignals([child]);
  try {
    return await child.exited;
  } finally {
    stop();
  }
}

/**
 * Runs several programs together (the `all` role). When one ends, the others get SIGTERM (and
 * SIGKILL after `stopTimeoutMs`, at most 2^31 - 1 as it is a timer); the result is the exit code
 * of the first to end. When the stop was asked for by a signal, the result is the first non-zero
 * code of any child, else 0.
 */
export async function runTogether(children: readonly RunningChild[], stopTimeoutMs: number): Promise<number> {
  let stopRequested = false;
  const stop = forwardSignals(children, () => {
    stopRequested = true;
  });
  try {
    const codes = children.map((c) => c.exited.catch(() => 127));
    const first = await Promise.race(codes);
    // After a forwarded signal the others already have it; a second one would force them.
    if (!stopRequested) {
      for (const c of children) {
        if (c.process.exitCode === null && c.process.signalCode === null) c.process.kill('SIGTERM');
      }
    }
    const killer = setTimeout(() => {
      for (const c of children) {
        if (c.process.exitCode === null && c.process.signalCode === null) c.process.kill('SIGKILL');
      }
    }, stopTimeoutMs);
    const all = await Promise.all(codes);
    clearTimeout(killer);
    if (stopRequested) return all.find((code) => code !== 0) ?? 0;
    return first;
  } finally {
    stop();
  }
}
