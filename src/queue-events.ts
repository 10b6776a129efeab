/**
 * `QueueEvents`: BullMQ's global event stream, read from the queue's event log on the spool, so
 * any process sharing the spool (a web container) learns what workers elsewhere did. Listeners
 * get `(args, id)` as in BullMQ; `id` can be passed back as `lastEventId` to resume.
 *
 * The log is tailed on file-change events with polling as the floor (`blockingTimeout` ms).
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, SpoolkitError } from './errors.js';
import { DirWatch } from './spool/dir-watch.js';
import { EventTail, type LoggedEvent } from './spool/events.js';
import { readJob } from './spool/lookup.js';
import { openQueueStore } from './spool/open.js';
import type { QueueStore } from './spool/store.js';
import type { QueueEventsOptions } from './types.js';
import { shown } from './arg-value.js';

const DEFAULT_POLL_MS = 100;
const STATE_RECHECK_MS = 500;
/**
 * Stored states re-checked per tick, across every pending wait: events settle waits, re-checks
 * only catch a missed one, so thousands of waits cost a bounded share of the event loop (each is
 * then re-checked every few seconds instead of every tick).
 */
const RECHECKS_PER_TICK = 1000;
/**
 * Outcomes heard lately, for waits that begin after their job's event went by: an `add` that
 * resolves slowly (many at once) may resolve after its job ran, finished and was removed on
 * completion. Kept this long, and at most this many.
 */
const RECENT_OUTCOME_MS = 30_000;
const RECENT_OUTCOMES_MAX = 10_000;

/**
 * Where to start tailing, from `lastEventId`: unset or empty is `$` (only new events), as BullMQ's
 * `lastEventId || '$'`. Any other value must be `$`, `0` or an event id: one the log cannot place
 * was read as `$`, so the events a caller asked to replay were skipped without a word.
 */
function eventStart(v: unknown): string {
  if (!v) return '$';
  if (typeof v === 'string' && /^(\$|0|\d+[-:]\d+)$/.test(v)) return v;
  throw new ConfigError(
    `QueueEvents option lastEventId must be '$' (only new events), '0' (every kept event) or the id of an event heard before (<segment>-<offset>, a listener's second argument), got ${shown(v)}.`,
  );
}

/** Events after which a job's earlier outcome is not its outcome any more. */
const FORGETS_OUTCOME: ReadonlySet<string> = new Set(['added', 'waiting', 'delayed', 'active', 'waiting-children', 'removed']);

export class QueueEvents extends EventEmitter {
  /** Queue name. */
  readonly name: string;
  readonly opts: QueueEventsOptions;
  /** @internal */
  readonly store: QueueStore;
  private tail: EventTail | undefined;
  private watch: DirWatch | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stop: (() => void) | undefined;
  private closed = false;
  private readyResolve!: () => void;
  private readonly ready: Promise<void>;
  private scheduled = false;
  private pumping = false;
  /** Pending waitUntilFinished calls, each with how to end it when this closes. */
  private readonly waits = new Set<(err: Error) => void>();
  /** Their stored-state re-checks, in round-robin order, run by one timer. */
  private readonly rechecks = new Set<() => void>();
  /** The last completed/failed event heard per job id, oldest first (RECENT_OUTCOME_MS). */
  private readonly recent = new Map<string, LoggedEvent>();
  private recheckTimer: NodeJS.Timeout | undefined;
  /** Where tailing starts (`lastEventId`, checked). */
  private readonly from: string;

  constructor(name: string, opts: QueueEventsOptions = {}) {
    super();
    // null reads as no options, as in BullMQ (which spreads it).
    opts ??= {};
    this.name = name;
    this.opts = opts;
    this.from = eventStart(opts.lastEventId);
    this.store = openQueueStore(name, opts, opts.logger);
    this.setMaxListeners(0);
    this.ready = new Promise((r) => (this.readyResolve = r));
    if (opts.autorun !== false) {
      this.run().catch((err: unknown) => this.emitError(err));
    } else {
      // Ready as BullMQ's is once connected: the store is open; run() starts the tailing.
      this.readyResolve();
    }
  }

  /** Resolves once the log is being tailed. */
  async waitUntilReady(): Promise<void> {
    return this.ready;
  }

  /** Starts tailing. Resolves when closed. */
  async run(): Promise<void> {
    if (this.running) throw new SpoolkitError('ERR_CONFIG', `Queue Events is already running (queue ${this.name}); call run() once.`);
    if (this.closed) throw new SpoolkitError('ERR_CLOSED', `QueueEvents for queue ${this.name} is closed.`);
    this.tail = new EventTail(path.join(this.store.dir, 'events'), this.from);
    this.watch = new DirWatch(path.join(this.store.dir, 'events'), () => this.schedule());
    this.watch.check();
    const pollMs = this.opts.blockingTimeout && this.opts.blockingTimeout > 0 ? Math.min(this.opts.blockingTimeout, 1000) : DEFAULT_POLL_MS;
    // Each poll also re-arms the watch when the log's directory was made anew (queue obliterated).
    this.timer = setInterval(() => {
      this.watch?.check();
      this.pump();
    }, pollMs);
    this.running = new Promise<void>((resolve) => (this.stop = resolve));
    this.readyResolve();
    // Deliver after the caller attached its listeners (the constructor starts run()).
    this.schedule();
    return this.running;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /** @internal Reads and emits every event available now. */
  pump(): void {
    if (!this.tail || this.closed) return;
    // Called again from a listener (waitUntilFinished in a handler): reading now would deliver
    // later events before the rest of this batch; read once the batch is done.
    if (this.pumping) {
      this.schedule();
      return;
    }
    let events: LoggedEvent[];
    try {
      events = this.tail.read();
    } catch (err) {
      this.emitError(err);
      return;
    }
    this.pumping = true;
    try {
      for (const ev of events) {
        // A listener that throws must not cost the other listeners the rest of the batch (the
        // log has moved past it): its error goes to `error`, as BullMQ's emit does.
        try {
          this.deliver(ev);
        } catch (err) {
          this.emitError(err);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private deliver(ev: LoggedEvent): void {
    if (ev.e === 'drained') {
      this.emit('drained', ev.id);
      return;
    }
    const args = ev.a;
    if (typeof args.jobId === 'string') {
      if (ev.e === 'completed' || ev.e === 'failed') this.remember(args.jobId, ev);
      // Queued again (retried, moved back) or removed since: that outcome is no longer the job's.
      else if (FORGETS_OUTCOME.has(ev.e)) this.recent.delete(args.jobId);
    }
    this.emit(ev.e, args, ev.id);
    if (typeof args.jobId === 'string') this.emit(`${ev.e}:${args.jobId}`, args, ev.id);
  }

  private remember(jobId: string, ev: LoggedEvent): void {
    this.recent.delete(jobId);
    this.recent.set(jobId, ev);
    const cutoff = ev.t - RECENT_OUTCOME_MS;
    for (const [id, old] of this.recent) {
      if (this.recent.size <= RECENT_OUTCOMES_MAX && old.t >= cutoff) break;
      this.recent.delete(id);
    }
  }

  private emitError(err: unknown): void {
    if (this.listenerCount('error') > 0) {
      try {
        this.emit('error', err instanceof Error ? err : new Error(String(err)));
        return;
      } catch (listenerErr) {
        err = listenerErr;
      }
    }
    this.store.logger.error('queue-events:error', { queue: this.name, err });
  }

  /**
   * @internal Waits for a job to finish (Job.waitUntilFinished): checks the stored state first,
   * listens for its completed/failed events, and re-checks the stored state every 500 ms, so it
   * settles even when an event is missed or the job was removed on completion.
   */
  _waitFor<R>(jobId: string, jobName: string, jobStore: QueueStore, ttl?: number, addedAt?: number): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      let done = false;
      let misses = 0;
      /** The job file's identity and last change at the last read: unchanged, it is not read again. */
      let seen: string | undefined;
      const timers: NodeJS.Timeout[] = [];
      const finish = (fn: () => void): void => {
        if (done) return;
        done = true;
        this.waits.delete(abort);
        this.dropRecheck(check);
        this.off(`completed:${jobId}`, onCompleted);
        this.off(`failed:${jobId}`, onFailed);
        for (const t of timers) clearTimeout(t), clearInterval(t);
        fn();
      };
      const abort = (err: Error): void => finish(() => reject(err));
      this.waits.add(abort);
      const onCompleted = (args: Record<string, unknown>): void => finish(() => resolve(args.returnvalue as R));
      const onFailed = (args: Record<string, unknown>): void => finish(() => reject(new Error(String(args.failedReason ?? 'failed'))));
      const check = (): void => {
        const now = fileSignature(jobStore.idPath(jobId));
        if (now !== undefined && now === seen) return;
        seen = now;
        let found;
        try {
          found = readJob(jobStore, jobId);
        } catch (err) {
          finish(() => reject(err));
          return;
        }
        if (found) misses = 0;
        // Its outcome, once written into its file, even before the rename into completed/ or
        // failed/ (getState still says active until then; the outcome is final once written, as
        // the stalled check files it): the rename alone may leave the file's times as they were
        // on a kernel with coarse timestamps, and the file would not be read again.
        const place = found?.rec.st ?? found?.loc.place;
        if (place === 'completed') finish(() => resolve(found!.rec.returnvalue as R));
        else if (place === 'failed') finish(() => reject(new Error(found!.rec.failedReason ?? 'failed')));
        else if (!found) {
          // Removed on completion (or by hand): the event log is the last word. Its line may be a
          // moment behind the file removal, so give it one more re-check before giving up. Its
          // event may also have gone by before this wait began: an outcome heard since the job
          // was added is its own.
          this.pump();
          const heard = this.recent.get(jobId);
          if (!done && heard && addedAt !== undefined && heard.t >= addedAt) {
            if (heard.e === 'completed') onCompleted(heard.a);
            else onFailed(heard.a);
          }
          if (!done && ++misses >= 2) finish(() => reject(new SpoolkitError('ERR_JOB_NOT_FOUND', `Job ${jobId} (${jobName}) no longer exists and no completed or failed event was seen for it; it was removed before it finished, or finished before this QueueEvents started (use removeOnComplete with a count, or start QueueEvents first).`, { details: { jobId } })));
        }
      };
      this.on(`completed:${jobId}`, onCompleted);
      this.on(`failed:${jobId}`, onFailed);
      this.pump();
      check();
      if (done) return;
      this.addRecheck(check);
      if (ttl !== undefined && ttl > 0) {
        timers.push(
          setTimeout(
            () => finish(() => reject(new Error(`Job wait ${jobName} timed out before finishing, no finish notification arrived after ${ttl}ms (id=${jobId})`))),
            ttl,
          ).unref(),
        );
      }
    });
  }

  private addRecheck(check: () => void): void {
    this.rechecks.add(check);
    // Unref'd: a wait alone does not keep the process alive (the app's own handles do).
    this.recheckTimer ??= setInterval(() => this.runRechecks(), STATE_RECHECK_MS).unref();
  }

  private dropRecheck(check: () => void): void {
    this.rechecks.delete(check);
    if (this.rechecks.size === 0 && this.recheckTimer) {
      clearInterval(this.recheckTimer);
      this.recheckTimer = undefined;
    }
  }

  /** Re-checks the waits longest unchecked, up to RECHECKS_PER_TICK; each goes to the back. */
  private runRechecks(): void {
    const batch: (() => void)[] = [];
    for (const check of this.rechecks) {
      batch.push(check);
      if (batch.length >= RECHECKS_PER_TICK) break;
    }
    for (const check of batch) {
      if (!this.rechecks.delete(check)) continue;
      this.rechecks.add(check);
      check();
    }
  }

  /** Stops tailing. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const abort of [...this.waits]) abort(new SpoolkitError('ERR_CLOSED', `QueueEvents for queue ${this.name} was closed while waitUntilFinished waited; the job goes on, wait with an open QueueEvents.`));
    this.watch?.close();
    if (this.timer) clearInterval(this.timer);
    this.tail?.close();
    this.stop?.();
    this.emit('closed');
  }
}

/** A file's inode, size and change times (any write, rename or link changes one), or undefined when it is gone. */
function fileSignature(file: string): string | undefined {
  try {
    const st = fs.statSync(file);
    return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  } catch {
    return undefined;
  }
}
