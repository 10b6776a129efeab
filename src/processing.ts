/**
 * Running one claimed job: call the processor, then complete, retry or fail it with BullMQ's
 * rules (attempts, backoff, UnrecoverableError, DelayedError, WaitingError, removeOn*). Shared by
 * `Worker` and inline mode, so both produce the same job fields, events and results.
 */
import { computeBackoff } from './backoff.js';
import { coerceError, isDelayedError, isRateLimitError, isUnrecoverableError, isWaitingChildrenError, isWaitingError, UnrecoverableError } from './errors.js';
import { Job, type JobHost } from './job.js';
import { moveClaimToWait } from './spool/admin.js';
import { addNext } from './spool/dedup-next.js';
import { childFinished, dependenciesOf, removeEntries, takeAttached, type ChildOutcome } from './spool/deps.js';
import { closeClaim, type Claim } from './spool/claim.js';
import { DEFAULT_KEEP_COMPLETED, DEFAULT_KEEP_FAILED } from './spool/defaults.js';
import { finishRemoved, finishToFile, refreshPriority, requeue, startedFields } from './spool/finish.js';
import { delayedRoute, readyRoute } from './spool/routing.js';
import type { MetricType } from './spool/metrics.js';
import type { JobRecord, RecordPatch } from './spool/record.js';
import type { QueueStore } from './spool/store.js';
import { toJsonStrict } from './spool/validate.js';
import type { KeepSetting } from './spool/job-options.js';
import type { BackoffStrategy, JobProgress, Processor } from './types.js';

/** What processing needs from its caller. */
export interface ProcessingContext {
  host: JobHost;
  store: QueueStore;
  processor: Processor;
  processedBy?: string;
  removeOnComplete?: KeepSetting;
  removeOnFail?: KeepSetting;
  backoffStrategy?: BackoffStrategy;
  maxStartedAttempts?: number;
  /** Told of a RateLimitError before its job goes back to the queue (so this worker claims it no sooner than the limit allows). */
  onRateLimited?(): void;
  /** Counts a finish in the queue's metrics (the Worker's `metrics` option); never throws. */
  recordMetric?(type: MetricType, nowMs: number): void;
  /** Local event emission (`active`, `completed`, `failed`, `progress`). */
  emit(event: string, ...args: unknown[]): void;
}

/** A job being processed. */
export interface RunningJob {
  claim: Claim;
  job: Job;
  controller: AbortController;
  /** Set when the lease was lost: the result is discarded. */
  lost: boolean;
  /** Set once the run is known to be a parent's (flows): its child files go with it when it is not kept. */
  parent?: boolean;
}

/** How a run ended. */
export type RunOutcome = 'completed' | 'failed' | 'retried' | 'delayed' | 'waiting' | 'waiting-children' | 'rate-limited' | 'lost';

/** Prepares the Job object for a claim (attemptsStarted + 1, processedOn, token). */
export function startRun(ctx: ProcessingContext, claim: Claim, nowMs = Date.now()): RunningJob {
  const rec = claim.rec;
  rec.attemptsStarted += 1;
  rec.processedOn = nowMs;
  // Running now: no delay left (BullMQ sets it to 0 when a delayed job is promoted).
  rec.delay = 0;
  if (ctx.processedBy) rec.processedBy = ctx.processedBy;
  const job = Job.fromRecord(ctx.host, rec);
  job.token = claim.token;
  const run: RunningJob = { claim, job, controller: new AbortController(), lost: false };
  job._active = {
    claim,
    onProgress: (p: JobProgress) => ctx.emit('progress', job, p),
  };
  return run;
}

function keepOf(v: KeepSetting | undefined, fallback: KeepSetting): KeepSetting {
  return v === undefined ? fallback : v;
}

/**
 * Marks an outcome patch of a job kept forever (`keep` false, from the job or its Worker): the
 * retention pass then knows it from its record, whatever became of its event. A mark left by an
 * earlier finish of the job is cleared.
 */
function keptMark(rec: JobRecord, keep: KeepSetting, patch: RecordPatch): RecordPatch {
  if (keep === false) patch.keptForever = true;
  else if (rec.keptForever) patch.keptForever = null;
  return patch;
}

/** Calls the processor and records the outcome, then closes the claim's descriptor. */
export async function executeRun(ctx: ProcessingContext, run: RunningJob): Promise<RunOutcome> {
  try {
    return await runAndRecord(ctx, run);
  } finally {
    closeClaim(run.claim);
  }
}

async function runAndRecord(ctx: ProcessingContext, run: RunningJob): Promise<RunOutcome> {
  const { claim, job } = run;
  const store = ctx.store;
  store.events.append('active', { jobId: claim.id, prev: 'waiting' });
  ctx.emit('active', job, 'waiting');
  let result: unknown;
  try {
    try {
      if (claim.rec.deferredFailure) throw new UnrecoverableError(claim.rec.deferredFailure);
      if (ctx.maxStartedAttempts && claim.rec.attemptsStarted > ctx.maxStartedAttempts) throw new UnrecoverableError('job started more than allowable limit');
      result = await ctx.processor(job, claim.token, run.controller.signal);
    } catch (thrown) {
      job._active = undefined;
      if (run.lost) return 'lost';
      const err = coerceError(thrown);
      // Before any other kind, as BullMQ: the job goes back to the front, the attempt not counted.
      if (isRateLimitError(err)) return moveLimitedBack(ctx, run);
      if (isDelayedError(err)) return 'delayed';
      if (isWaitingError(err)) return 'waiting';
      if (isWaitingChildrenError(err)) return 'waiting-children';
      return await fail(ctx, run, err);
    }
    if (run.lost) return 'lost';
    // Outside the processor's catch: a spool error while recording the result (a full disk, a
    // read-only remount) is the Worker's error, not the job's failure. The job stays claimed
    // until its lease runs out; the stalled check then files an outcome already written into its
    // file, or runs the job again.
    return await complete(ctx, run, result);
  } finally {
    job._active = undefined;
  }
}

/**
 * Ends a run its caller fetched (`Worker.getNextJob`) as the caller says: completed with `result`,
 * or failed with `error` (retried by its attempts and backoff, as a processor's failure is).
 * Nothing is emitted on the Worker, as in BullMQ, where only its own processing emits.
 */
export async function finishManualRun(ctx: ProcessingContext, run: RunningJob, outcome: { result: unknown } | { error: Error }): Promise<RunOutcome> {
  try {
    if (run.lost) return 'lost';
    return 'error' in outcome ? await fail(ctx, run, outcome.error) : await complete(ctx, run, outcome.result);
  } finally {
    run.job._active = undefined;
    closeClaim(run.claim);
  }
}

function moveLimitedBack(ctx: ProcessingContext, run: RunningJob): RunOutcome {
  const { claim, job } = run;
  claim.rec.progress = job.progress;
  claim.rec.data = job.data;
  ctx.onRateLimited?.();
  if (!moveClaimToWait(ctx.store, claim)) {
    run.lost = true;
    return 'lost';
  }
  return 'rate-limited';
}

async function complete(ctx: ProcessingContext, run: RunningJob, result: unknown): Promise<RunOutcome> {
  const { claim, job } = run;
  const rec = claim.rec;
  // A parent (as claimed, or given children by this process while it ran) completes only once
  // its children are done, as BullMQ's moveToFinished checks.
  if (rec.deps || takeAttached(ctx.store, claim.id)) {
    run.parent = true;
    try {
      assertChildrenDone(ctx.store, claim.id);
    } catch (err) {
      return fail(ctx, run, coerceError(err));
    }
  }
  const returnvalue: unknown = result === undefined ? null : result;
  try {
    toJsonStrict(returnvalue, 'return value');
  } catch (err) {
    return fail(ctx, run, coerceError(err));
  }
  rec.returnvalue = returnvalue;
  rec.progress = job.progress;
  rec.data = job.data;
  rec.finishedOn = Date.now();
  rec.attemptsMade += 1;
  const keep = keepOf(rec.opts.removeOnComplete, ctx.removeOnComplete ?? DEFAULT_KEEP_COMPLETED);
  const finished =
    keep === true
      ? finishRemoved(ctx.store, claim)
      : finishToFile(ctx.store, claim, keptMark(rec, keep, withStartedFields(rec, { returnvalue, finishedOn: rec.finishedOn, attemptsMade: rec.attemptsMade })), 'completed');
  // Durable mode: the event and the listeners wait for the shared directory fsync.
  const ok = typeof finished === 'boolean' ? finished : await finished;
  if (!ok) {
    run.lost = true;
    return 'lost';
  }
  // A parent not kept takes its children's files with it.
  if (keep === true && run.parent) removeEntries(ctx.store, claim.id);
  // Counted before the event, as BullMQ counts in the script that finishes the job.
  ctx.recordMetric?.('completed', rec.finishedOn);
  ctx.store.events.append('completed', { jobId: claim.id, returnvalue, prev: 'active' }, { k: keep });
  // Its deduplication id's next job (keepLastIfActive), kept while it ran, is added now.
  if (rec.deduplicationId) addNext(ctx.store, rec.deduplicationId);
  if (rec.parent) tellParent(ctx, rec, { completed: returnvalue });
  job.applyRecord(rec);
  // As in BullMQ, local listeners get the processor's own result (undefined stays undefined),
  // on the job too; the stored value is null.
  if (result === undefined) (job as { returnvalue: unknown }).returnvalue = undefined;
  ctx.emit('completed', job, result, 'active');
  return 'completed';
}

/**
 * A parent may complete only once its children are done, as BullMQ's moveToFinished checks: one
 * with a child failed by `failParentOnFailure` fails for good, one with unprocessed children fails
 * (and is retried by its attempts).
 */
function assertChildrenDone(store: QueueStore, id: string): void {
  const deps = dependenciesOf(store, id);
  if (deps.failed.length > 0) throw new UnrecoverableError(`Cannot complete job ${id} because it has at least one failed child. moveToFinished`);
  if (deps.unprocessed.length > 0) throw new Error(`Job ${id} has pending dependencies. moveToFinished`);
}

/**
 * Tells a finished child's parent (flows). The job is finished whatever happens here: a failure
 * is logged, and the stalled check of the parent's queue accounts for the child later (deps.ts).
 */
function tellParent(ctx: ProcessingContext, rec: JobRecord, outcome: ChildOutcome, removed = false): void {
  try {
    childFinished(ctx.store, rec, outcome, removed);
  } catch (err) {
    ctx.store.logger.error('flow:parent-update-failed', { queue: ctx.store.name, jobId: rec.id, parent: rec.parent, err });
  }
}

/** Adds the fields set when the job started to an outcome patch (claims write nothing, so the outcome carries them). */
function withStartedFields(rec: JobRecord, patch: RecordPatch): RecordPatch {
  // Into the patch itself: one object per outcome, on the hot path.
  startedFields(rec, patch).delay = 0;
  return patch;
}

function updateStacktrace(stack: string[], err: Error, limit: number | undefined): string[] {
  if (!err.stack) return stack;
  let out = [...stack, err.stack];
  if (limit === 0) out = [];
  else if (limit) out = out.slice(-limit);
  return out;
}

async function fail(ctx: ProcessingContext, run: RunningJob, err: Error): Promise<RunOutcome> {
  const { claim, job } = run;
  const rec = claim.rec;
  const store = ctx.store;
  rec.progress = job.progress;
  rec.data = job.data;
  rec.failedReason = err.message;
  rec.stacktrace = updateStacktrace(rec.stacktrace, err, rec.opts.stackTraceLimit);
  const attempts = rec.opts.attempts ?? 0;
  let retry = false;
  let delay = 0;
  let finalErr = err;
  // No retry past maxStartedAttempts either (BullMQ's hasReachedMaxStartedAttempts): the job
  // fails with its own error, not with a later start's "started more than allowable limit".
  const startsLeft = !ctx.maxStartedAttempts || rec.attemptsStarted < ctx.maxStartedAttempts;
  if (rec.attemptsMade + 1 < attempts && !isUnrecoverableError(err) && startsLeft) {
    try {
      job.applyRecord(rec);
      const d = await computeBackoff(rec.opts.backoff, rec.attemptsMade + 1, err, job, ctx.backoffStrategy);
      retry = d !== -1;
      delay = d === undefined || d === -1 ? 0 : Math.max(0, d);
    } catch (backoffErr) {
      finalErr = coerceError(backoffErr);
      rec.failedReason = finalErr.message;
    }
  }
  if (run.lost) return 'lost';
  rec.attemptsMade += 1;
  const outcome = withStartedFields(rec, { attemptsMade: rec.attemptsMade, failedReason: rec.failedReason ?? '', stacktrace: rec.stacktrace });
  let ok: boolean;
  if (retry) {
    // A changePriority made while the job ran is in its file: the retry is filed by it (BullMQ
    // reads the priority from the job's hash).
    refreshPriority(claim.path, rec);
    if (delay > 0) {
      rec.delay = delay;
      const due = Date.now() + delay;
      ok = requeue(store, claim, { ...outcome, delay }, delayedRoute(store, due, rec.priority, !!rec.opts.lifo));
      if (ok) store.events.append('delayed', { jobId: claim.id, delay: due });
    } else {
      ok = requeue(store, claim, outcome, readyRoute(store, rec.priority, !!rec.opts.lifo));
      if (ok) store.events.appendNow('waiting', { jobId: claim.id, prev: 'active' });
    }
  } else {
    rec.finishedOn = Date.now();
    const keep = keepOf(rec.opts.removeOnFail, ctx.removeOnFail ?? DEFAULT_KEEP_FAILED);
    const finished = keep === true ? finishRemoved(store, claim) : finishToFile(store, claim, keptMark(rec, keep, { ...outcome, finishedOn: rec.finishedOn }), 'failed');
    ok = typeof finished === 'boolean' ? finished : await finished;
    if (ok && keep === true && (rec.deps || run.parent || takeAttached(store, claim.id))) removeEntries(store, claim.id);
    if (ok) {
      ctx.recordMetric?.('failed', rec.finishedOn);
      store.events.append('failed', { jobId: claim.id, failedReason: rec.failedReason ?? '', prev: 'active' }, { k: keep });
      // As in BullMQ, any final failure with attemptsMade >= attempts (default 0) reports exhaustion.
      if (rec.attemptsMade >= attempts) store.events.append('retries-exhausted', { jobId: claim.id, attemptsMade: rec.attemptsMade });
      if (rec.deduplicationId) addNext(store, rec.deduplicationId);
      if (rec.parent) tellParent(ctx, rec, { failed: rec.failedReason ?? '' }, keep === true);
    }
  }
  if (!ok) {
    run.lost = true;
    return 'lost';
  }
  job.applyRecord(rec);
  ctx.emit('failed', job, finalErr, 'active');
  if (retry) store.wakeLocal();
  return retry ? 'retried' : 'failed';
}
