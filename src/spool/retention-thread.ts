/**
 * Retention passes on a helper thread, one per process, shared by every Worker in it.
 *
 * A pass after a busy second removes about as many job files as the queue finished in it (a
 * stat, a rename and an unlink each) and reads that second's events: about a fifth of a draining
 * Worker's CPU. Run on the main thread it stalls the claim loop; on this thread it runs on
 * another core while the loop goes on. The pass itself is the same code (retention.ts), under the
 * same lock, so passes from threads and processes never overlap.
 *
 * The thread is started on first use and does not keep the process alive. If it dies, the pass
 * reports the error and the next one starts a new thread; if it cannot start at all (it ended
 * before its first answer), the error is reported once and later passes run in the process.
 */
import { Worker as ThreadWorker } from 'node:worker_threads';
import type { KeepSetting } from './job-options.js';
import { SpoolkitError, type SpoolkitErrorCode } from '../errors.js';
import { deserializeError, type SerializedError } from '../serialized-error.js';
import type { FileModes } from './fs.js';
import { IN_PROCESS_RETENTION_BUDGET, runRetention, type RetentionBudget, type RetentionResult } from './retention.js';
import type { PublishedCounts } from './published-counts.js';
import type { QueueStore } from './store.js';
import { threadEntry } from '../thread-entry.js';

/** What the thread needs to open the store and run one pass (or one count to publish). */
export interface RetentionRequest {
  seq: number;
  /** A retention pass, or a count (of every state, published for readers: published-counts.ts). */
  task: 'retention' | 'count';
  /** With `task: 'count'`, only these states (not published). */
  only?: string[] | undefined;
  root: string;
  name: string;
  durability: 'durable' | 'fast';
  modes: FileModes;
  nowMs: number;
  defaults: { removeOnComplete?: KeepSetting | undefined; removeOnFail?: KeepSetting | undefined };
  /** One 32-bit flag the caller sets to 1 to stop the pass before its next removal. */
  stop: SharedArrayBuffer;
}

/** The thread's answer: what the pass did, or the error as plain data. */
export type RetentionReply =
  | { seq: number; result: RetentionResult | PublishedCounts; error?: undefined }
  | { seq: number; result?: undefined; error: SerializedError & { details?: Record<string, unknown> } };

/**
 * The thread's error as the caller would have seen it from a pass run in the process: a
 * SpoolkitError with its code, or an Error carrying the system error's code (EISDIR...).
 */
function revive(e: NonNullable<RetentionReply['error']>): Error {
  if (typeof e.code !== 'string' || !e.code.startsWith('ERR_')) return deserializeError(e);
  const err = new SpoolkitError(e.code as SpoolkitErrorCode, e.message, e.details ? { details: e.details } : {});
  if (e.stack !== undefined) err.stack = e.stack;
  return err;
}

/**
 * Passes where no thread can run: bounded as in-process passes are, but larger (up to 250
 * removals a second, not 50, or retention would fall behind a busy worker), and a large state file
 * is handled too (left whole, nothing would ever be removed).
 */
const NO_THREAD_BUDGET: RetentionBudget = { ...IN_PROCESS_RETENTION_BUDGET, maxRemovals: 250, maxEventBytes: 256 * 1024, maxStateBytes: Infinity };

function cannotStart(cause: Error): SpoolkitError {
  return new SpoolkitError('ERR_HELPER_THREAD', `The retention thread could not start (${cause.message}); retention passes run in the worker's own thread from now on.`, { cause });
}

interface Pending {
  resolve(result: RetentionResult | PublishedCounts): void;
  reject(err: Error): void;
}

class RetentionThread {
  private thread: ThreadWorker | undefined;
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  /** Passes the thread completed (for tests). */
  passes = 0;

  /**
   * Set when a thread ended before it ever answered: it cannot start here (an app bundled without
   * the thread's module, a sandbox that forbids threads). Passes then run in the process.
   */
  private unusable = false;
  /** Whether the current thread has answered at least once. */
  private answered = false;

  /**
   * Runs one pass for `store` on the thread. Where no thread can run, the pass runs here within
   * the in-process budget, and what it leaves is reported as `more` for the next one.
   */
  run(store: QueueStore, nowMs: number, defaults: RetentionRequest['defaults'], signal?: AbortSignal): Promise<RetentionResult> {
    if (this.unusable) return new Promise((resolve) => resolve(runRetention(store, nowMs, defaults, NO_THREAD_BUDGET, () => signal?.aborted === true)));
    return this.request(store, 'retention', nowMs, defaults, signal) as Promise<RetentionResult>;
  }

  /**
   * Counts every state of `store` on the thread and publishes the result. Where no thread can
   * run, nothing is counted (undefined): readers then count for themselves, as they would without
   * any Worker, rather than the claim loop stalling for a count of a big backlog.
   */
  count(store: QueueStore, only?: ReadonlySet<string>): Promise<PublishedCounts | undefined> {
    if (this.unusable) return Promise.resolve(undefined);
    return this.request(store, 'count', Date.now(), {}, undefined, only ? [...only] : undefined) as Promise<PublishedCounts>;
  }

  private request(
    store: QueueStore,
    task: RetentionRequest['task'],
    nowMs: number,
    defaults: RetentionRequest['defaults'],
    signal?: AbortSignal,
    only?: string[],
  ): Promise<RetentionResult | PublishedCounts> {
    let thread: ThreadWorker;
    try {
      thread = this.thread ?? this.start();
    } catch (err) {
      // Refused at once (Node's permission model without --allow-worker, a thread limit).
      this.unusable = true;
      return Promise.reject(cannotStart(err instanceof Error ? err : new Error(String(err))));
    }
    const seq = ++this.seq;
    const stop = new SharedArrayBuffer(4);
    if (signal) {
      const raise = (): void => void Atomics.store(new Int32Array(stop), 0, 1);
      if (signal.aborted) raise();
      else signal.addEventListener('abort', raise, { once: true });
    }
    const req: RetentionRequest = { seq, task, only, root: store.root, name: store.name, durability: store.durable ? 'durable' : 'fast', modes: store.modes, nowMs, defaults, stop };
    return new Promise<RetentionResult | PublishedCounts>((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      if (this.pending.size === 1) thread.ref();
      thread.postMessage(req);
    });
  }

  private start(): ThreadWorker {
    const { entry, evaluate } = threadEntry(import.meta.url, 'retention-thread-main');
    // No inherited Node flags: the thread loads only spoolkit's own modules, and flags such as
    // --input-type or --eval that the app's process was started with would stop it starting.
    const thread = new ThreadWorker(entry, { eval: evaluate, execArgv: [], stdout: false, stderr: false });
    thread.unref();
    thread.on('message', (reply: RetentionReply) => this.settle(reply));
    thread.on('error', (err) => this.ended(thread, err));
    thread.on('exit', (code) => this.ended(thread, new Error(`it exited with code ${code}`)));
    this.thread = thread;
    this.answered = false;
    return thread;
  }

  private settle(reply: RetentionReply): void {
    const p = this.pending.get(reply.seq);
    if (!p) return;
    this.pending.delete(reply.seq);
    this.answered = true;
    if (this.pending.size === 0) this.thread?.unref();
    if (reply.error) p.reject(revive(reply.error));
    else {
      this.passes++;
      p.resolve(reply.result);
    }
  }

  /** Ends the thread; passes waiting on it fail, and the next pass starts a new one. */
  async stop(): Promise<void> {
    const thread = this.thread;
    if (!thread) return;
    this.fail(thread, new SpoolkitError('ERR_CLOSED', 'The retention thread was stopped before the pass finished.'));
    await thread.terminate();
  }

  /** The thread ended on its own: before it ever answered it cannot start here, so passes stay in the process from now on. */
  private ended(thread: ThreadWorker, cause: Error): void {
    if (this.thread !== thread) return;
    if (!this.answered) {
      this.unusable = true;
      this.fail(thread, cannotStart(cause));
    } else {
      this.fail(thread, new SpoolkitError('ERR_HELPER_THREAD', `The retention thread ended during a pass (${cause.message}); the next busy pass starts a new one.`, { cause }));
    }
  }

  private fail(thread: ThreadWorker, err: Error): void {
    if (this.thread !== thread) return;
    this.thread = undefined;
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const p of waiting) p.reject(err);
  }
}

let shared: RetentionThread | undefined;

/**
 * Runs one retention pass for `store` on this process's retention thread. Aborting `signal` stops
 * the pass before its next removal (it then resolves with `more: true`; nothing is lost).
 */
export function runRetentionOnThread(store: QueueStore, nowMs: number, defaults: RetentionRequest['defaults'], signal?: AbortSignal): Promise<RetentionResult> {
  shared ??= new RetentionThread();
  return shared.run(store, nowMs, defaults, signal);
}

/**
 * Counts the states of `store` (every one, then published: published-counts.ts; or `only` those)
 * on this process's helper thread, with the thread's own count cache; undefined where no thread
 * can run.
 */
export function countOnThread(store: QueueStore, only?: ReadonlySet<string>): Promise<PublishedCounts | undefined> {
  shared ??= new RetentionThread();
  return shared.count(store, only);
}

/** Ends this process's retention thread, if one runs (tests; a later pass starts a new one). */
export function stopRetentionThread(): Promise<void> {
  return shared?.stop() ?? Promise.resolve();
}

/** Passes this process's retention thread has completed (tests). */
export function retentionThreadPasses(): number {
  return shared?.passes ?? 0;
}
