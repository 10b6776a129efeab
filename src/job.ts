/**
 * `Job`: BullMQ's job object. Its fields mirror the stored record; its methods act on the spool,
 * so they work from any process that shares it (web, worker, sandbox child). While a worker in
 * this process holds the job's lease, progress and data updates go through that lease.
 */
import fs from 'node:fs';
import { coerceError, DelayedError, SpoolkitError, UnrecoverableError, UsageError } from './errors.js';
import * as deps_ from './spool/deps.js';
import { findManualRun, removeManualRun } from './manual-runs.js';
import type { Claim } from './spool/claim.js';
import { readJob, visibleState } from './spool/lookup.js';
import { RECORD_VERSION, type JobRecord } from './spool/record.js';
import type { QueueStore } from './spool/store.js';
import { appendLog, readLogRows, patchFromRun, patchStored, logPath } from './spool/update.js';
import { lookupJobId, toJsonStrict } from './spool/validate.js';
import * as admin from './spool/admin.js';
import { RateLimiter } from './spool/rate-limit.js';
import type { BulkJobOptions, JobJson, JobProgress, JobsOptions, JobState } from './types.js';
import type { QueueEvents } from './queue-events.js';
import { tryUnlink } from './spool/fs.js';
import { MAX_TIMER_MS } from './spool/defaults.js';
import { checkDelayMs, checkPriority, checkTimestampMs } from './spool/job-options.js';
import { shown } from './arg-value.js';

/** What a Job needs from the Queue or Worker it came from. */
export interface JobHost {
  /** Queue name. */
  readonly name: string;
  /** @internal The queue's spool store. */
  readonly store: QueueStore;
  /** @internal Inline mode: runs the jobs a call made ready to run (a retry, a promotion), as a worker would. */
  runReadyInline?(): Promise<void>;
}

/**
 * Checks waitUntilFinished's arguments: a QueueEvents, and a ttl (ms; 0 or none: no limit) that a
 * Node timer can hold. A negative or NaN ttl waited forever; one past the timer's range timed out
 * at once, with a warning Node printed.
 */
function checkWaitArgs(queueEvents: unknown, ttl: unknown): void {
  if (typeof (queueEvents as { _waitFor?: unknown } | null)?._waitFor !== 'function') {
    throw new UsageError("waitUntilFinished: pass a QueueEvents of the job's queue, e.g. job.waitUntilFinished(new QueueEvents(queue.name, { spool }), 30_000).");
  }
  // null is no limit, as in BullMQ (`if (ttl)`) and here before ttl was checked.
  if (ttl === undefined || ttl === null || (typeof ttl === 'number' && ttl >= 0 && ttl <= MAX_TIMER_MS)) return;
  throw new UsageError(`waitUntilFinished: ttl must be a number of ms from 0 (no limit) to ${MAX_TIMER_MS}, got ${shown(ttl)}; leave it out to wait until the job finishes.`);
}

/** Internal hooks a Worker attaches to a job it is processing. */
export interface ActiveContext {
  claim: Claim;
  /** The caller's token of a job fetched with `Worker.getNextJob` (else the claim's token is the job's). */
  token?: string;
  onProgress(progress: JobProgress): void;
}

export class Job<DataType = any, ReturnType = any, NameType extends string = string> {
  /** Job id (automatic ids are increasing integers as strings). */
  id: string | undefined;
  name: NameType;
  data: DataType;
  opts: JobsOptions;
  progress: JobProgress = 0;
  returnvalue: ReturnType = null as ReturnType;
  failedReason: string = undefined as unknown as string;
  stacktrace: string[] = [];
  attemptsMade = 0;
  attemptsStarted = 0;
  stalledCounter = 0;
  timestamp: number;
  delay = 0;
  priority = 0;
  processedOn?: number;
  finishedOn?: number;
  processedBy?: string;
  deduplicationId?: string;
  repeatJobKey?: string;
  /** Lease token while a worker processes the job. */
  token?: string;
  /** Flows: the parent this job is a child of (`queueKey` is `bull:<queue>`). */
  parent?: { id: string; queueKey: string };
  /** Flows: the parent's key, `bull:<queue>:<id>`. */
  parentKey?: string;
  /** Reason a job that stalled too often is failed with on its next run. */
  deferredFailure?: string;
  /** @internal Set by the worker processing this job in this process. */
  _active?: ActiveContext;

  constructor(
    /** The Queue or Worker this job object belongs to. */
    readonly queue: JobHost,
    name: NameType,
    data: DataType,
    opts: JobsOptions = {},
    id?: string,
  ) {
    this.name = name;
    this.data = data;
    this.opts = withAttempts(opts);
    this.id = id ?? opts.jobId;
    this.timestamp = opts.timestamp || Date.now();
    this.delay = opts.delay ?? 0;
    this.priority = opts.priority ?? 0;
  }

  /** @internal Builds a job from a stored record. */
  static fromRecord<D = any, R = any, N extends string = string>(host: JobHost, rec: JobRecord): Job<D, R, N> {
    const job = new Job<D, R, N>(host, rec.name as N, rec.data as D, rec.opts, rec.id);
    job.applyRecord(rec);
    return job;
  }

  /** Builds a job from its JSON form (`asJSON()`), e.g. in a sandbox child. */
  static fromJSON<D = any, R = any, N extends string = string>(host: JobHost, json: JobJson, jobId?: string): Job<D, R, N> {
    const parse = (s: string | undefined): unknown => {
      if (s === undefined || s === '') return null;
      try {
        return JSON.parse(s);
      } catch {
        return s;
      }
    };
    // As BullMQ: missing data is {}, null stays null.
    const job = new Job<D, R, N>(host, json.name as N, parse(json.data || '{}') as D, json.opts ?? {}, jobId ?? json.id);
    job.progress = json.progress ?? 0;
    job.attemptsMade = json.attemptsMade ?? 0;
    job.attemptsStarted = json.attemptsStarted ?? 0;
    job.stalledCounter = json.stalledCounter ?? 0;
    job.timestamp = json.timestamp;
    job.delay = json.delay ?? 0;
    job.priority = json.priority ?? 0;
    // Kept as given, as BullMQ keeps it (asJSON's form is JSON-encoded; the stored one is not).
    if (json.failedReason) job.failedReason = json.failedReason;
    job.stacktrace = (parse(json.stacktrace) as string[] | null) ?? [];
    job.returnvalue = parse(json.returnvalue) as R;
    if (json.processedOn !== undefined) job.processedOn = json.processedOn;
    if (json.finishedOn !== undefined) job.finishedOn = json.finishedOn;
    if (json.processedBy !== undefined) job.processedBy = json.processedBy;
    if (json.deduplicationId !== undefined) job.deduplicationId = json.deduplicationId;
    if (json.repeatJobKey !== undefined) job.repeatJobKey = json.repeatJobKey;
    if (json.parent) job.parent = json.parent;
    if (json.parentKey) job.parentKey = json.parentKey;
    return job;
  }

  /** Reads a job by id; undefined when it does not exist. */
  static async fromId<D = any, R = any, N extends string = string>(host: JobHost, jobId: string): Promise<Job<D, R, N> | undefined> {
    const id = lookupJobId(jobId);
    const found = id !== undefined ? readJob(host.store, id) : undefined;
    return found ? Job.fromRecord<D, R, N>(host, found.rec) : undefined;
  }

  /** @internal */
  applyRecord(rec: JobRecord): void {
    this.id = rec.id;
    this.name = rec.name as NameType;
    this.data = rec.data as DataType;
    this.opts = withAttempts(rec.opts);
    this.progress = rec.progress;
    this.returnvalue = rec.returnvalue as ReturnType;
    this.failedReason = rec.failedReason as string;
    this.stacktrace = rec.stacktrace;
    this.attemptsMade = rec.attemptsMade;
    this.attemptsStarted = rec.attemptsStarted;
    this.stalledCounter = rec.stalledCounter;
    this.timestamp = rec.timestamp;
    this.delay = rec.delay;
    this.priority = rec.priority;
    this.processedOn = rec.processedOn;
    this.finishedOn = rec.finishedOn;
    this.processedBy = rec.processedBy;
    this.deduplicationId = rec.deduplicationId;
    this.repeatJobKey = rec.repeatJobKey;
    this.deferredFailure = rec.deferredFailure;
    this.parent = rec.parent ? { id: rec.parent.id, queueKey: `${deps_.KEY_PREFIX}:${rec.parent.queue}` } : undefined;
    this.parentKey = rec.parent ? deps_.jobKey(rec.parent.queue, rec.parent.id) : undefined;
  }

  /** @internal The record this job object describes. */
  toRecord(): JobRecord {
    const rec: JobRecord = {
      v: RECORD_VERSION,
      id: this.id ?? '',
      name: this.name,
      data: this.data,
      opts: this.opts,
      timestamp: this.timestamp,
      delay: this.delay,
      priority: this.priority,
      attemptsMade: this.attemptsMade,
      attemptsStarted: this.attemptsStarted,
      stalledCounter: this.stalledCounter,
      progress: this.progress,
      returnvalue: this.returnvalue ?? null,
      stacktrace: this.stacktrace ?? [],
      gen: 0,
    };
    if (this.failedReason !== undefined) rec.failedReason = this.failedReason;
    if (this.processedOn !== undefined) rec.processedOn = this.processedOn;
    if (this.finishedOn !== undefined) rec.finishedOn = this.finishedOn;
    if (this.processedBy !== undefined) rec.processedBy = this.processedBy;
    if (this.deduplicationId !== undefined) rec.deduplicationId = this.deduplicationId;
    if (this.repeatJobKey !== undefined) rec.repeatJobKey = this.repeatJobKey;
    return rec;
  }

  /** Queue name. */
  get queueName(): string {
    return this.queue.name;
  }

  /** BullMQ's key prefix; spoolkit has none, so this is the constant `spoolkit`. */
  get prefix(): string {
    return 'spoolkit';
  }

  /** `<prefix>:<queue name>`. */
  get queueQualifiedName(): string {
    return `${this.prefix}:${this.queue.name}`;
  }

  private requireId(what: string): string {
    if (this.id === undefined) throw new SpoolkitError('ERR_JOB_NOT_FOUND', `${what}: this job has no id (it was never added).`);
    return this.id;
  }

  /** Sets the job's progress and emits `progress` (locally and to QueueEvents). */
  async updateProgress(progress: JobProgress): Promise<void> {
    const id = this.requireId('updateProgress');
    toJsonStrict(progress, 'progress');
    this.progress = progress;
    const store = this.queue.store;
    const active = this._active;
    if (active) {
      active.claim.rec.progress = progress;
      // Appending to the held file also renews the lease (it sets mtime).
      if (!patchFromRun(store, active.claim, id, 'updateProgress', { progress })) return;
      active.onProgress(progress);
    } else {
      patchStored(store, id, 'updateProgress', { progress });
    }
    store.events.append('progress', { jobId: id, data: progress });
  }

  /** Appends a row to the job's log; returns the number of rows. */
  async log(logRow: string): Promise<number> {
    const id = this.requireId('log');
    return appendLog(this.queue.store, id, logRow, this.opts.keepLogs);
  }

  /** Removes the job's log rows, keeping the last `keepLogs` when given. */
  async clearLogs(keepLogs?: number): Promise<void> {
    const id = this.requireId('clearLogs');
    const store = this.queue.store;
    if (!keepLogs) {
      tryUnlink(logPath(store, id));
      return;
    }
    const all = readLogRows(store, id);
    if (all.length <= keepLogs) return; // nothing to trim (and no file made for a job without logs)
    const rows = all.slice(-keepLogs);
    store.writeAtomic(logPath(store, id), rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    // Removed meanwhile: its logs go with it, as appendLog does.
    if (!fs.existsSync(store.idPath(id))) tryUnlink(logPath(store, id));
  }

  /** Replaces the job's data. */
  async updateData(data: DataType): Promise<void> {
    const id = this.requireId('updateData');
    toJsonStrict(data, 'job data');
    this.data = data;
    const active = this._active;
    if (active) {
      active.claim.rec.data = data;
      patchFromRun(this.queue.store, active.claim, id, 'updateData', { data });
      return;
    }
    patchStored(this.queue.store, id, 'updateData', { data });
  }

  /** The job's current state, or `unknown` when it no longer exists (or was never added). */
  async getState(): Promise<JobState | 'unknown'> {
    if (this.id === undefined) return 'unknown';
    const found = readJob(this.queue.store, this.id);
    return found ? visibleState(this.queue.store, this.id, found) : 'unknown';
  }

  /**
   * True when the job is in `state` (BullMQ's names: `wait` and `waiting` are the waiting list,
   * `paused` is waiting while the queue is paused; `waiting-children` is always false).
   */
  async isInState(state: JobState | 'wait' | 'paused'): Promise<boolean> {
    if (!IN_STATE_NAMES.has(state)) throw new SpoolkitError('ERR_USAGE', `Unknown job state: ${String(state)}; use one of ${[...IN_STATE_NAMES].join(', ')}.`);
    const current = await this.getState();
    if (state === 'wait') return current === 'waiting';
    // BullMQ 5 and later keep a paused queue's jobs in its wait list: the old paused list it
    // still looks in stays empty, so no job is ever in state 'paused' there either.
    if (state === 'paused') return false;
    return current === state;
  }

  /** True when completed. */
  async isCompleted(): Promise<boolean> {
    return (await this.getState()) === 'completed';
  }

  /** True when failed. */
  async isFailed(): Promise<boolean> {
    return (await this.getState()) === 'failed';
  }

  /** True when delayed. */
  async isDelayed(): Promise<boolean> {
    return (await this.getState()) === 'delayed';
  }

  /** True when active. */
  async isActive(): Promise<boolean> {
    return (await this.getState()) === 'active';
  }

  /** True when waiting (a prioritized job is not, as in BullMQ). */
  async isWaiting(): Promise<boolean> {
    return (await this.getState()) === 'waiting';
  }

  /** True while the job waits for its children (flows). */
  async isWaitingChildren(): Promise<boolean> {
    return (await this.getState()) === 'waiting-children';
  }

  /** Removes the job. Throws ERR_JOB_LOCKED while a worker holds its lease. */
  async remove({ removeChildren = true }: { removeChildren?: boolean } = {}): Promise<void> {
    // Never added: nothing to remove (BullMQ resolves too).
    if (this.id === undefined) return;
    const id = this.id;
    const n = admin.removeJob(this.queue.store, id, { removeChildren });
    if (n === 0 && admin.isLocked(this.queue.store, id)) {
      throw new SpoolkitError('ERR_JOB_LOCKED', `Job ${id} could not be removed because it is locked by another worker; wait for it to finish or stop that worker.`, { details: { jobId: id } });
    }
    // Still there and not locked: held by a move that has not ended (its process died; the
    // stalled check files it back within seconds).
    if (n === 0 && readJob(this.queue.store, id)) {
      throw new SpoolkitError('ERR_JOB_LOCKED', `Job ${id} could not be removed because another process is moving it; try again in a few seconds.`, { details: { jobId: id } });
    }
  }

  /** Moves a completed or failed job back to waiting. */
  async retry(state: 'completed' | 'failed' = 'failed', opts: { resetAttemptsMade?: boolean; resetAttemptsStarted?: boolean } = {}): Promise<void> {
    const id = this.requireId('retry');
    const rec = admin.retryFinished(this.queue.store, id, state, opts);
    if (!rec) throw this.notInState(id, state, 'reprocessJob', `retry(state) takes 'completed' or 'failed'`);
    this.applyRecord(rec);
    await this.queue.runReadyInline?.();
  }

  /** Moves a delayed job to waiting now. */
  async promote(): Promise<void> {
    const id = this.requireId('promote');
    if (!admin.promoteJob(this.queue.store, id)) {
      throw new SpoolkitError('ERR_JOB_NOT_FOUND', `Job ${id} is not in the delayed state. promote: only delayed jobs can be promoted.`, { details: { jobId: id } });
    }
    this.delay = 0;
    await this.queue.runReadyInline?.();
  }

  /** Changes the delay of a delayed job (counted from now). */
  async changeDelay(delay: number): Promise<void> {
    const id = this.requireId('changeDelay');
    checkDelayMs(delay, `changeDelay of job ${id}`);
    if (!admin.changeDelay(this.queue.store, id, delay)) throw this.notInState(id, 'delayed', 'changeDelay', 'only delayed jobs can change delay');
    this.delay = delay;
  }

  /**
   * Changes the priority of a job; a waiting or prioritized one is re-filed (`lifo` puts it first).
   * Only the `priority` field changes: `opts` stays as added, as in BullMQ.
   */
  async changePriority(opts: { priority?: number; lifo?: boolean }): Promise<void> {
    const id = this.requireId('changePriority');
    if (opts.priority !== undefined) checkPriority(opts.priority, `changePriority of job ${id}`);
    if (!admin.changePriority(this.queue.store, id, opts.priority ?? 0, !!opts.lifo)) {
      // Active or finished: as BullMQ, the priority is stored (a retry files the job by it).
      const found = readJob(this.queue.store, id);
      if (!found) throw this.missingKey(id, 'changePriority');
      patchStored(this.queue.store, id, 'changePriority', { priority: opts.priority ?? 0 });
    }
    this.priority = opts.priority ?? 0;
  }

  /**
   * Moves the active job to delayed until `timestamp` (ms) without counting the attempt. The
   * processor must then throw `DelayedError` so the worker leaves the job alone. With a token, only
   * the worker holding that lease may move it (BullMQ's lock check); without, any active job moves.
   */
  async moveToDelayed(timestamp: number, token?: string): Promise<void> {
    const id = this.requireId('moveToDelayed');
    checkTimestampMs(timestamp, 'moveToDelayed timestamp', `job ${id}`);
    const active = this.runOf(id);
    if (active) {
      this.syncRun(active, token, 'moveToDelayed');
      if (!admin.moveClaimToDelayed(this.queue.store, active.claim, timestamp)) throw this.moveRefused(id, 'no-lock', 'moveToDelayed');
      this.dropManualRun(id, active);
    } else {
      const result = admin.moveActiveToDelayed(this.queue.store, id, timestamp, token);
      if (result !== 'moved') throw this.moveRefused(id, result, 'moveToDelayed');
    }
    this.delay = Math.max(0, timestamp - Date.now());
  }

  /**
   * Moves the active job back to the front of the queue without counting the attempt (the start
   * stays counted); returns what is left of the queue's rate-limit window in ms, or 0. The processor
   * must then throw `WaitingError` so the worker leaves the job alone. Without a token, a job that
   * is not active is left as it is, as in BullMQ.
   */
  async moveToWait(token?: string): Promise<number> {
    const id = this.requireId('moveToWait');
    const active = this.runOf(id);
    if (active) {
      this.syncRun(active, token, MOVE_TO_WAIT_CMD);
      if (!admin.moveClaimToWait(this.queue.store, active.claim)) throw this.moveRefused(id, 'no-lock', MOVE_TO_WAIT_CMD);
      this.dropManualRun(id, active);
      return this.rateLimitTtl();
    }
    const result = admin.moveActiveToWait(this.queue.store, id, token);
    if (result !== 'moved' && result !== 'not-active') throw this.moveRefused(id, result, MOVE_TO_WAIT_CMD);
    return this.rateLimitTtl();
  }

  /** BullMQ's answer of a move to wait: the time left in the queue's rate-limit window, else 0. */
  private rateLimitTtl(): number {
    return Math.max(0, new RateLimiter(this.queue.store).ttl(undefined, Date.now()));
  }

  /** This job's run in this process: the one this object was given, or one fetched with `Worker.getNextJob` through another Job object of it. */
  private runOf(id: string): ActiveContext | undefined {
    return this._active ?? findManualRun(this.queue.store, id)?.run.job._active;
  }

  /** A job fetched with `Worker.getNextJob` and moved elsewhere by its caller is no longer held: its Worker forgets it. */
  private dropManualRun(id: string, active: ActiveContext): void {
    const m = findManualRun(this.queue.store, id);
    if (m && m.run.job._active === active) m.drop();
  }

  /** Checks `token` against the run's lease and copies the run's progress and data into its record, before the run is moved. */
  private syncRun(active: ActiveContext, token: string | undefined, cmd: string): void {
    if (token !== undefined && token !== (active.token ?? active.claim.token)) throw this.moveRefused(active.claim.id, 'lock-mismatch', cmd);
    active.claim.rec.progress = this.progress;
    active.claim.rec.data = this.data;
  }

  /** BullMQ's error for a refused move of an active job (its text first, then a hint). */
  private moveRefused(id: string, why: Exclude<admin.ActiveMoveResult, 'moved'>, cmd: string): SpoolkitError {
    const details = { details: { jobId: id } };
    switch (why) {
      case 'missing':
        return this.missingKey(id, cmd);
      case 'not-active':
        return new SpoolkitError('ERR_JOB_NOT_FOUND', `Job ${id} is not in the active state. ${cmd}`, details);
      case 'no-lock':
        return new SpoolkitError('ERR_LEASE_LOST', `Missing lock for job ${id}. ${cmd}: no worker holds its lease any more (it finished, moved or was taken back).`, details);
      case 'lock-mismatch':
        return new SpoolkitError('ERR_LEASE_LOST', `Lock mismatch for job ${id}. Cmd ${cmd} from active: the token is not the lease of the worker running the job.`, details);
    }
  }

  /** BullMQ's error for a job that does not exist (its text first, then a hint). */
  private missingKey(id: string, cmd: string): SpoolkitError {
    return new SpoolkitError('ERR_JOB_NOT_FOUND', `Missing key for job ${id}. ${cmd}: the job does not exist in queue ${this.queue.name} (it may have been removed).`, { details: { jobId: id } });
  }

  /** BullMQ's error for a job that is missing, or not in `state` (its text first, then a hint). */
  private notInState(id: string, state: string, cmd: string, hint: string): SpoolkitError {
    if (!readJob(this.queue.store, id)) return this.missingKey(id, cmd);
    return new SpoolkitError('ERR_JOB_NOT_FOUND', `Job ${id} is not in the ${state} state. ${cmd}: ${hint}.`, { details: { jobId: id } });
  }

  /**
   * Renews the lease when this process runs the job under `token`; returns 1 on success, 0
   * otherwise. The lease keeps its owner's length, whatever `duration` says.
   */
  async extendLock(token: string, _duration: number): Promise<number> {
    const active = this._active ?? (this.id === undefined ? undefined : findManualRun(this.queue.store, this.id)?.run.job._active);
    if (!active || token !== (active.token ?? active.claim.token)) return 0;
    return admin.renewClaim(active.claim) ? 1 : 0;
  }

  /** Frees the job's deduplication key; 1 when it was held by this job. */
  async removeDeduplicationKey(): Promise<boolean> {
    if (!this.deduplicationId) return false;
    return admin.removeDeduplicationKey(this.queue.store, this.deduplicationId, this.id) > 0;
  }

  /**
   * Resolves with the return value once the job completes, or rejects with its failure reason.
   * Never hangs: it checks the stored state first and re-checks while it waits, so a job removed
   * on completion or finished before the call still settles. `ttl` (ms) bounds the wait.
   */
  async waitUntilFinished(queueEvents: QueueEvents, ttl?: number): Promise<ReturnType> {
    const id = this.requireId('waitUntilFinished');
    checkWaitArgs(queueEvents, ttl);
    return queueEvents._waitFor<ReturnType>(id, this.name, this.queue.store, ttl ?? undefined, this.timestamp);
  }

  /**
   * The JSON form (data, failedReason, stacktrace and returnvalue as JSON strings), as in BullMQ:
   * undefined data is `{}`, and keys whose value is undefined are left out.
   */
  asJSON(): JobJson {
    const json: Record<string, unknown> = {
      id: this.id ?? '',
      name: this.name,
      data: JSON.stringify(this.data === undefined ? {} : this.data),
      opts: this.opts,
      progress: this.progress,
      attemptsMade: this.attemptsMade,
      attemptsStarted: this.attemptsStarted,
      timestamp: this.timestamp,
      delay: this.delay,
      priority: this.priority,
      failedReason: JSON.stringify(this.failedReason),
      stacktrace: JSON.stringify(this.stacktrace),
      returnvalue: JSON.stringify(this.returnvalue),
      stalledCounter: this.stalledCounter,
      finishedOn: this.finishedOn,
      processedOn: this.processedOn,
      processedBy: this.processedBy,
      parent: this.parent ? { ...this.parent } : undefined,
      parentKey: this.parentKey,
      repeatJobKey: this.repeatJobKey,
      deduplicationId: this.deduplicationId,
      deferredFailure: this.deferredFailure,
    };
    for (const key of Object.keys(json)) if (json[key] === undefined) delete json[key];
    return json as unknown as JobJson;
  }

  /** The JSON form plus queue names, as handed to sandboxed processors. */
  asJSONSandbox(): JobJson & { queueName: string; queueQualifiedName: string; prefix: string } {
    return { ...this.asJSON(), queueName: this.queueName, queueQualifiedName: this.queueQualifiedName, prefix: this.prefix };
  }

  /** Plain object form with parsed values and without the queue (what bull-board reads). */
  toJSON(): Record<string, unknown> {
    const { queue: _queue, _active, ...rest } = this as unknown as Record<string, unknown> & { queue: unknown; _active: unknown };
    return rest;
  }

  /** Adds a job through `queue.add` (BullMQ's `Job.create`). */
  static async create<D = any, R = any, N extends string = string>(queue: JobProducer<D, R, N>, name: N, data: D, opts?: JobsOptions): Promise<Job<D, R, N>> {
    return queue.add(name, data, opts);
  }

  /** Adds jobs through `queue.addBulk` (BullMQ's `Job.createBulk`). */
  static async createBulk<D = any, R = any, N extends string = string>(queue: JobProducer<D, R, N>, jobs: { name: N; data: D; opts?: BulkJobOptions }[]): Promise<Job<D, R, N>[]> {
    return queue.addBulk(jobs);
  }

  /** Appends a row to a job's log through `queue.addJobLog`; returns the number of rows. */
  static async addJobLog(queue: Pick<JobProducer, 'addJobLog'>, jobId: string, logRow: string, keepLogs?: number): Promise<number> {
    return queue.addJobLog(jobId, logRow, keepLogs);
  }

  /** The return values of this job's completed children, by child key (`bull:<queue>:<id>`). */
  async getChildrenValues<CT = any>(): Promise<{ [jobKey: string]: CT }> {
    const deps = deps_.dependenciesOf(this.queue.store, this.requireId('getChildrenValues'));
    return Object.fromEntries(deps.processed.map(([ref, v]) => [deps_.keyOfRef(ref), v as CT]));
  }

  /** The failure reasons of this job's children that failed and were ignored (`ignoreDependencyOnFailure`, `continueParentOnFailure`), by child key. */
  async getIgnoredChildrenFailures(): Promise<{ [jobKey: string]: string }> {
    const deps = deps_.dependenciesOf(this.queue.store, this.requireId('getIgnoredChildrenFailures'));
    return Object.fromEntries(deps.ignored.map(([ref, r]) => [deps_.keyOfRef(ref), r]));
  }

  /** The older name of `getIgnoredChildrenFailures` (BullMQ keeps both). */
  async getFailedChildrenValues(): Promise<{ [jobKey: string]: string }> {
    return this.getIgnoredChildrenFailures();
  }

  /**
   * This job's children by state, as child keys (`bull:<queue>:<id>`): `processed` (key to return
   * value), `unprocessed`, `failed` (failed with `failParentOnFailure`) and `ignored` (key to
   * failure reason). With options, only the kinds asked for, a page of `count` from `cursor`,
   * and `next<Kind>Cursor` the cursor of the next page (0 when there is none), as BullMQ.
   */
  async getDependencies(opts: DependenciesOpts = {}): Promise<DependenciesResult> {
    const deps = deps_.dependenciesOf(this.queue.store, this.requireId('getDependencies'));
    const lists = {
      processed: deps.processed.map(([ref, v]) => [deps_.keyOfRef(ref), v] as [string, unknown]),
      unprocessed: deps.unprocessed.map(deps_.keyOfRef),
      failed: deps.failed.map(deps_.keyOfRef),
      ignored: deps.ignored.map(([ref, r]) => [deps_.keyOfRef(ref), r] as [string, unknown]),
    };
    const asked = (['processed', 'unprocessed', 'failed', 'ignored'] as const).filter((k) => opts[k] !== undefined);
    if (asked.length === 0) {
      return { processed: Object.fromEntries(lists.processed), unprocessed: lists.unprocessed, failed: lists.failed, ignored: Object.fromEntries(lists.ignored) };
    }
    const out: DependenciesResult = {};
    for (const kind of asked) {
      const { cursor = 0, count = 20 } = opts[kind] ?? {};
      const all = lists[kind] as unknown[];
      const page = all.slice(cursor, cursor + count);
      const next = cursor + count < all.length ? cursor + count : 0;
      if (kind === 'processed' || kind === 'ignored') (out as Record<string, unknown>)[kind] = Object.fromEntries(page as [string, unknown][]);
      else (out as Record<string, unknown>)[kind] = page;
      (out as Record<string, unknown>)[`next${kind[0]!.toUpperCase()}${kind.slice(1)}Cursor`] = next;
    }
    return out;
  }

  /** How many children this job has in each state (only the kinds asked for, when some are). */
  async getDependenciesCount(opts: { processed?: boolean; unprocessed?: boolean; failed?: boolean; ignored?: boolean } = {}): Promise<{ processed?: number; unprocessed?: number; failed?: number; ignored?: number }> {
    const deps = deps_.dependenciesOf(this.queue.store, this.requireId('getDependenciesCount'));
    const kinds = (['processed', 'unprocessed', 'failed', 'ignored'] as const).filter((k) => opts[k]);
    const out: { processed?: number; unprocessed?: number; failed?: number; ignored?: number } = {};
    for (const k of kinds.length ? kinds : (['processed', 'unprocessed', 'failed', 'ignored'] as const)) out[k] = deps[k].length;
    return out;
  }

  /**
   * Takes this job out of its parent's list while it is unprocessed: the parent no longer waits
   * for it. True when it was listed (then `parent` and `parentKey` are cleared).
   */
  async removeChildDependency(): Promise<boolean> {
    const id = this.requireId('removeChildDependency');
    const found = readJob(this.queue.store, id);
    if (!found) throw this.missingKey(id, 'removeChildDependency');
    if (!deps_.removeChildDependency(this.queue.store, found.rec)) return false;
    this.parent = undefined;
    this.parentKey = undefined;
    return true;
  }

  /**
   * Moves this job, which a worker of this process runs, to `waiting-children` while it has
   * unprocessed children (or while `opts.child` is one of them); true when moved. Then throw
   * `WaitingChildrenError` from the processor: the job runs again once its children are done.
   */
  async moveToWaitingChildren(token: string, opts: { child?: { id: string; queue: string } } = {}): Promise<boolean> {
    const id = this.requireId('moveToWaitingChildren');
    const cmd = 'moveToWaitingChildren';
    const deps = deps_.dependenciesOf(this.queue.store, id);
    if (deps.failed.length > 0) throw new UnrecoverableError(`Cannot complete job ${id} because it has at least one failed child. ${cmd}`);
    const pending = opts.child ? deps.unprocessed.includes(deps_.childRef(deps_.parentQueueName(opts.child.queue), opts.child.id)) : deps.unprocessed.length > 0;
    if (!pending) {
      if (!readJob(this.queue.store, id)) throw this.missingKey(id, cmd);
      return false;
    }
    const active = this.runOf(id);
    if (!active) {
      if (!readJob(this.queue.store, id)) throw this.missingKey(id, cmd);
      throw new SpoolkitError('ERR_LEASE_LOST', `Missing lock for job ${id}. ${cmd} (spoolkit moves a job to waiting-children only from the worker process that runs it: call it on the job your processor was given).`, { details: { jobId: id } });
    }
    this.syncRun(active, token, cmd);
    if (!deps_.moveClaimToWaitingChildren(this.queue.store, active.claim)) throw this.moveRefused(id, 'no-lock', cmd);
    this.dropManualRun(id, active);
    return true;
  }

  /**
   * Removes this job's children that have not started (waiting, delayed, prioritized, or waiting
   * for children of their own, with their children), as BullMQ; active and finished ones stay.
   */
  async removeUnprocessedChildren(): Promise<void> {
    const id = this.requireId('removeUnprocessedChildren');
    deps_.removeUnprocessedChildren(this.queue.store, id);
  }

  /**
   * Completes a job fetched with `Worker.getNextJob(token)` (manual fetching), as a processor's
   * result would. `fetchNext` is ignored: fetch the next job with `getNextJob`.
   */
  async moveToCompleted(returnValue: ReturnType, token: string, _fetchNext?: boolean): Promise<void> {
    const id = this.requireId('moveToCompleted');
    toJsonStrict(returnValue === undefined ? null : returnValue, 'return value');
    await this.endManualRun(id, token, { result: returnValue });
  }

  /**
   * Fails a job fetched with `Worker.getNextJob(token)`: retried by its attempts and backoff, else
   * failed for good, as a processor's error would. `fetchNext` is ignored.
   */
  async moveToFailed(err: Error, token: string, _fetchNext?: boolean): Promise<void> {
    const id = this.requireId('moveToFailed');
    await this.endManualRun(id, token, { error: coerceError(err) });
  }

  /** Ends a fetched job held by this process, with BullMQ's errors for a job it cannot end. */
  private async endManualRun(id: string, token: string, outcome: { result: unknown } | { error: Error }): Promise<void> {
    const m = findManualRun(this.queue.store, id);
    if (!m) {
      // As BullMQ's moveToFinished: a job that exists is judged by its lock before its state.
      if (!readJob(this.queue.store, id)) throw this.missingKey(id, 'moveToFinished');
      throw this.moveRefused(id, 'no-lock', 'moveToFinished');
    }
    if (token !== m.token) throw this.moveRefused(id, 'lock-mismatch', 'moveToFinished');
    // The caller's changes through this Job object go with the outcome.
    if (m.run.job !== this) {
      m.run.job.progress = this.progress;
      m.run.job.data = this.data;
    }
    removeManualRun(this.queue.store, m);
    const result = await m.finish(outcome);
    if (result === 'lost') throw this.moveRefused(id, 'no-lock', 'moveToFinished');
    if (m.run.job !== this) this.applyRecord(m.run.claim.rec);
  }

  /** Throws `DelayedError`; a convenience for `moveToDelayed` flows. */
  static delayedError(): DelayedError {
    return new DelayedError();
  }
}

/** What `Job.create`, `Job.createBulk` and `Job.addJobLog` need from a queue. */
export interface JobProducer<D = any, R = any, N extends string = string> {
  add(name: N, data: D, opts?: JobsOptions): Promise<Job<D, R, N>>;
  addBulk(jobs: { name: N; data: D; opts?: BulkJobOptions }[]): Promise<Job<D, R, N>[]>;
  addJobLog(jobId: string, logRow: string, keepLogs?: number): Promise<number>;
}

/** BullMQ's command name for moveToWait, used in its error texts. */
const MOVE_TO_WAIT_CMD = 'moveJobFromActiveToWait';

/** States `isInState` knows (BullMQ's, plus spoolkit's aliases). */
const IN_STATE_NAMES: ReadonlySet<string> = new Set(['completed', 'failed', 'active', 'delayed', 'prioritized', 'waiting', 'waiting-children', 'wait', 'paused']);

/** Pages of `getDependencies`: for each kind asked for, `count` entries from `cursor` (BullMQ's SSCAN/HSCAN options). */
export interface DependenciesOpts {
  processed?: { cursor?: number; count?: number };
  unprocessed?: { cursor?: number; count?: number };
  failed?: { cursor?: number; count?: number };
  ignored?: { cursor?: number; count?: number };
}

/** What `getDependencies` gives. */
export interface DependenciesResult {
  processed?: Record<string, unknown>;
  unprocessed?: string[];
  failed?: string[];
  ignored?: Record<string, unknown>;
  nextProcessedCursor?: number;
  nextUnprocessedCursor?: number;
  nextFailedCursor?: number;
  nextIgnoredCursor?: number;
}

/** Job options as BullMQ's Job shows them: `attempts` 0 when not given. */
function withAttempts(opts: JobsOptions): JobsOptions {
  return opts.attempts === undefined ? { attempts: 0, ...opts } : opts;
}
