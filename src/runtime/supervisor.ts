/**
 * Worker supervision, for recycling and `--watch`. The supervisor runs no jobs itself: it runs
 * the worker as a child process and replaces it.
 *
 * Recycling (`--max-jobs`, `--max-memory-mb`): the child tells the supervisor it wants to be
 * replaced, then drains (stops claiming, lets its running jobs finish). The supervisor starts the
 * replacement at once, so intake never pauses and no job is dropped: the old child's jobs finish
 * in the old child.
 *
 * Watch (`--watch`): when a file under the processors module's directory changes, the current
 * child is drained first, then a new one starts and imports the changed code. A child that
 * crashes under watch is not restarted until the next change (fix the file and save).
 *
 * Signals: SIGTERM, SIGINT or SIGHUP stops replacing and forwards the signal to every child; the
 * exit code is the first non-zero child code, else 0. A second signal is forwarded too (the
 * children then hand back their jobs at once). A child that got the signal itself as well (Ctrl-C
 * signals the terminal's whole process group) takes the forwarded copy, coming within a second,
 * for the same stop. Without watch, a child that exits on its own ends the supervisor with that
 * child's code, so the container's restart policy takes over. A supervisor that was itself started
 * with an IPC channel (by the entrypoint's `all` role) stops the same way when that channel closes.
 */
import { PARENT_LINK_ENV } from './signal-echo.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { watch, type FSWatcher } from 'node:fs';
import { isAbsolute, relative, sep } from 'node:path';
import type { Logger } from '../log.js';
import { exitCodeOf } from '../entrypoint/children.js';

/** Message a supervised worker sends before draining for a recycle. */
export interface RecycleMessage {
  t: 'recycle';
  reason: 'max-jobs' | 'max-memory';
  processed: number;
  rssMb: number;
}

/** Environment variable that marks a worker process as supervised (set by the supervisor only). */
export const SUPERVISED_ENV = 'SPOOLKIT_WORKER_SUPERVISED';

/** The signals that stop a worker (with a drain) and a supervisor. */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

function ignoreMessage(): void {
  // Messages from the parent carry nothing here; listening keeps the channel read.
}

/**
 * Calls `onGone` when this process was started by a linked parent (`linked`: the supervisor, the
 * entrypoint's `all` role) with an IPC channel and that channel closes: the parent exited or was
 * killed. No-op otherwise. Returns a function that stops listening.
 */
export function onParentGone(linked: boolean, onGone: () => void): () => void {
  if (!linked || !process.channel) return () => undefined;
  // The channel is read (and so its end noticed) only while something listens for messages;
  // unref'd, it does not keep the process alive by itself.
  process.on('message', ignoreMessage);
  process.channel.unref();
  process.once('disconnect', onGone);
  return () => {
    process.off('message', ignoreMessage);
    process.off('disconnect', onGone);
  };
}

/** Options for {@link runSupervisor}. */
export interface SupervisorOptions {
  /** argv that starts one worker process (program first). */
  childArgv: readonly string[];
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** Directory to watch for changes; undefined disables watch. */
  watchDir: string | undefined;
  /** Also ignored when under `watchDir`: the spool, whose writes (the worker's own) are no edits. */
  spoolDir?: string;
  /** Quiet period after a change before reloading. Default 300. */
  debounceMs?: number;
}

const IGNORED_DIRS = ['node_modules', '.git', '.spool', 'dist', 'coverage', '.tmp'];

/** Runs and replaces worker children until a signal stops it; resolves the exit code. */
export function runSupervisor(opts: SupervisorOptions): Promise<number> {
  const log = opts.logger;
  const children = new Set<ChildProcess>();
  let current: ChildProcess | undefined;
  let stopping = false;
  let reloadPending = false;
  let generation = 0;
  let watcher: FSWatcher | undefined;
  let debounce: NodeJS.Timeout | undefined;
  let finish: (code: number) => void = () => undefined;
  const codes: number[] = [];
  const done = new Promise<number>((resolve) => {
    finish = resolve;
  });

  const start = (): void => {
    const [program, ...args] = opts.childArgv;
    generation++;
    const child = spawn(program as string, args, { stdio: ['inherit', 'inherit', 'inherit', 'ipc'], env: { ...opts.env, [SUPERVISED_ENV]: '1' } });
    const gen = generation;
    let recycling = false;
    children.add(child);
    current = child;
    log.info('worker:process-started', { childPid: child.pid, generation: gen });
    child.on('message', (message) => {
      const m = message as Partial<RecycleMessage>;
      if (m.t !== 'recycle') return;
      recycling = true;
      log.info('worker:recycling', { childPid: child.pid, reason: m.reason, processed: m.processed, rssMb: m.rssMb });
      if (current === child && !stopping) start();
    });
    child.once('exit', (code, signal) => {
      children.delete(child);
      const exitCode = exitCodeOf(code, signal);
      log.info('worker:process-exited', { childPid: child.pid, generation: gen, code: exitCode, recycled: recycling });
      if (stopping) {
        // A child that the forwarded signal killed outright was still starting (a running worker
        // handles the signal and drains), so it had claimed nothing: that is a clean stop.
        codes.push(signal !== null && (STOP_SIGNALS as readonly string[]).includes(signal) ? 0 : exitCode);
        if (children.size === 0) end();
        return;
      }
      if (current !== child) return; // an old child finished draining after its replacement started
      current = undefined;
      if (reloadPending) {
        reloadPending = false;
        start();
        return;
      }
      if (opts.watchDir) {
        log.error('worker:process-crashed', { code: exitCode, msg: 'waiting for a file change before starting again' });
        return;
      }
      codes.push(exitCode);
      stopping = true;
      if (children.size === 0) end();
      else for (const c of children) c.kill('SIGTERM');
    });
  };

  const end = (): void => {
    watcher?.close();
    clearTimeout(debounce);
    for (const [signal, handler] of handlers) process.off(signal, handler);
    detachParent();
    finish(codes.find((c) => c !== 0) ?? 0);
  };

  const reload = (file: string): void => {
    if (stopping) return;
    log.info('worker:reloading', { file });
    if (current) {
      reloadPending = true;
      current.kill('SIGTERM');
    } else {
      start();
    }
  };

  if (opts.watchDir) {
    const root = opts.watchDir;
    const spoolRel = opts.spoolDir === undefined ? undefined : relative(root, opts.spoolDir);
    const inSpool = (file: string): boolean => spoolRel !== undefined && spoolRel !== '' && !spoolRel.startsWith('..') && !isAbsolute(spoolRel) && (file === spoolRel || file.startsWith(`${spoolRel}${sep}`));
    watcher = watch(root, { recursive: true }, (_event, name) => {
      const file = name ? String(name) : '';
      if (file && (inSpool(file) || IGNORED_DIRS.some((d) => file === d || file.startsWith(`${d}${sep}`) || file.includes(`${sep}${d}${sep}`)))) return;
      clearTimeout(debounce);
      debounce = setTimeout(() => reload(file ? relative(root, `${root}${sep}${file}`) : root), opts.debounceMs ?? 300);
    });
    log.info('worker:watching', { dir: root });
  }

  const stopAll = (signal: NodeJS.Signals): void => {
    stopping = true;
    reloadPending = false;
    clearTimeout(debounce);
    watcher?.close();
    log.info('worker:stopping', { signal, children: children.size });
    if (children.size === 0) end();
    for (const c of children) c.kill(signal);
  };
  const handlers = STOP_SIGNALS.map((signal) => {
    const handler = (): void => stopAll(signal);
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  const detachParent = onParentGone(opts.env[PARENT_LINK_ENV] === '1', () => {
    log.warn('worker:parent-gone', { draining: !stopping });
    if (!stopping) stopAll('SIGTERM');
  });

  start();
  return done;
}
