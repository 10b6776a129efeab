/**
 * Compile-only conformance with BullMQ v6 (checked by `npm run typecheck`): every call an app can
 * make on BullMQ's Queue, Worker, Job and QueueEvents for the "must" members is accepted by
 * spoolkit's classes with the same arguments, and the results carry BullMQ's fields.
 */
import type * as bull from 'bullmq';
import type { Job, JobsOptions, Processor, Queue, QueueEvents, Worker, WorkerOptions } from '../../src/index.js';

/** True when every argument list BullMQ accepts for `Theirs` is accepted by `Ours`. */
type Accepts<Ours, Theirs> = Ours extends (...a: infer O) => unknown ? (Theirs extends (...a: infer T) => unknown ? (T extends O ? true : false) : false) : false;
/** True when `Ours` resolves to something assignable to `Theirs`' result (after unwrapping promises). */
type Yields<Ours, Theirs> = Ours extends (...a: never[]) => infer R ? (Awaited<R> extends Theirs ? true : false) : false;

type Assert<T extends true> = T;

type D = { to: string };

// Queue: arguments.
type _qAdd = Assert<Accepts<Queue<D>['add'], bull.Queue<D>['add']>>;
type _qAddBulk = Assert<Accepts<Queue<D>['addBulk'], bull.Queue<D>['addBulk']>>;
type _qGetJob = Assert<Accepts<Queue['getJob'], bull.Queue['getJob']>>;
type _qGetJobs = Assert<Accepts<Queue['getJobs'], bull.Queue['getJobs']>>;
type _qCounts = Assert<Accepts<Queue['getJobCounts'], bull.Queue['getJobCounts']>>;
type _qState = Assert<Accepts<Queue['getJobState'], bull.Queue['getJobState']>>;
type _qPause = Assert<Accepts<Queue['pause'], bull.Queue['pause']>>;
type _qResume = Assert<Accepts<Queue['resume'], bull.Queue['resume']>>;
type _qIsPaused = Assert<Accepts<Queue['isPaused'], bull.Queue['isPaused']>>;
type _qDrain = Assert<Accepts<Queue['drain'], bull.Queue['drain']>>;
type _qClean = Assert<Accepts<Queue['clean'], bull.Queue['clean']>>;
type _qObliterate = Assert<Accepts<Queue['obliterate'], bull.Queue['obliterate']>>;
type _qRemove = Assert<Accepts<Queue['remove'], bull.Queue['remove']>>;
type _qRetryJobs = Assert<Accepts<Queue['retryJobs'], bull.Queue['retryJobs']>>;
type _qPromoteJobs = Assert<Accepts<Queue['promoteJobs'], bull.Queue['promoteJobs']>>;
type _qClose = Assert<Accepts<Queue['close'], bull.Queue['close']>>;
type _qLogs = Assert<Accepts<Queue['getJobLogs'], bull.Queue['getJobLogs']>>;
type _qUpsert = Assert<Accepts<Queue['upsertJobScheduler'], bull.Queue['upsertJobScheduler']>>;
type _qRemoveScheduler = Assert<Accepts<Queue['removeJobScheduler'], bull.Queue['removeJobScheduler']>>;
type _qRateLimit = Assert<Accepts<Queue['rateLimit'], bull.Queue['rateLimit']>>;
type _qRateLimitTtl = Assert<Accepts<Queue['getRateLimitTtl'], bull.Queue['getRateLimitTtl']>>;
type _qRemoveRateLimitKey = Assert<Accepts<Queue['removeRateLimitKey'], bull.Queue['removeRateLimitKey']>>;
type _qSetGlobalRateLimit = Assert<Accepts<Queue['setGlobalRateLimit'], bull.Queue['setGlobalRateLimit']>>;
type _qGetMetrics = Assert<Accepts<Queue['getMetrics'], bull.Queue['getMetrics']>>;
type _qGetMetricsR = Assert<Yields<Queue['getMetrics'], Awaited<ReturnType<bull.Queue['getMetrics']>>>>;
type _qPrometheus = Assert<Accepts<Queue['exportPrometheusMetrics'], bull.Queue['exportPrometheusMetrics']>>;
type _qPrometheusR = Assert<Yields<Queue['exportPrometheusMetrics'], string>>;
type _qGlobalRateLimitR = Assert<Yields<Queue['getGlobalRateLimit'], Awaited<ReturnType<bull.Queue['getGlobalRateLimit']>>>>;
// Queue: results.
type _qCountsR = Assert<Yields<Queue['getJobCounts'], { [index: string]: number }>>;
type _qStateR = Assert<Yields<Queue['getJobState'], Awaited<ReturnType<bull.Queue['getJobState']>>>>;
type _qCleanR = Assert<Yields<Queue['clean'], string[]>>;
type _qRemoveR = Assert<Yields<Queue['remove'], number>>;

// Options objects written for BullMQ are accepted.
declare const bullJobOpts: bull.JobsOptions;
const _jobsOpts: JobsOptions = { ...bullJobOpts, parent: undefined };
declare const bullWorkerOpts: Omit<bull.WorkerOptions, 'telemetry'>;
const _workerOpts: WorkerOptions = bullWorkerOpts;

// Job: fields an app reads, and methods it calls.
type JobFields = 'id' | 'name' | 'data' | 'opts' | 'progress' | 'attemptsMade' | 'returnvalue' | 'failedReason' | 'stacktrace' | 'timestamp' | 'processedOn' | 'finishedOn' | 'delay' | 'priority' | 'attemptsStarted' | 'stalledCounter';
type _jobFields = Assert<Job<D, number> extends Pick<bull.Job<D, number>, Exclude<JobFields, 'opts'>> ? true : false>;
type _jUpdateProgress = Assert<Accepts<Job['updateProgress'], bull.Job['updateProgress']>>;
type _jLog = Assert<Accepts<Job['log'], bull.Job['log']>>;
type _jUpdateData = Assert<Accepts<Job<D>['updateData'], bull.Job<D>['updateData']>>;
type _jGetState = Assert<Accepts<Job['getState'], bull.Job['getState']>>;
type _jRemove = Assert<Accepts<Job['remove'], bull.Job['remove']>>;
type _jRetry = Assert<Accepts<Job['retry'], bull.Job['retry']>>;
type _jPromote = Assert<Accepts<Job['promote'], bull.Job['promote']>>;
type _jMoveToDelayed = Assert<Accepts<Job['moveToDelayed'], bull.Job['moveToDelayed']>>;
type _jChangeDelay = Assert<Accepts<Job['changeDelay'], bull.Job['changeDelay']>>;
type _jChangePriority = Assert<Accepts<Job['changePriority'], bull.Job['changePriority']>>;
type _jStateR = Assert<Yields<Job['getState'], Awaited<ReturnType<bull.Job['getState']>>>>;
type _jLogR = Assert<Yields<Job['log'], number>>;

// Worker: a processor written for BullMQ (job, token, signal) is a spoolkit processor.
declare const bullProcessor: (job: Job<D>, token?: string, signal?: AbortSignal) => Promise<number>;
const _processor: Processor<D, number> = bullProcessor;
type _wRun = Assert<Accepts<Worker['run'], bull.Worker['run']>>;
type _wClose = Assert<Accepts<Worker['close'], bull.Worker['close']>>;
type _wPause = Assert<Accepts<Worker['pause'], bull.Worker['pause']>>;
type _wResume = Assert<Accepts<Worker['resume'], bull.Worker['resume']>>;
type _wIsRunning = Assert<Accepts<Worker['isRunning'], bull.Worker['isRunning']>>;
type _wIsPaused = Assert<Accepts<Worker['isPaused'], bull.Worker['isPaused']>>;
type _wReady = Assert<Accepts<Worker['waitUntilReady'], bull.Worker['waitUntilReady']>>;
type _wCancel = Assert<Accepts<Worker['cancelJob'], bull.Worker['cancelJob']>>;
type _wCancelAll = Assert<Accepts<Worker['cancelAllJobs'], bull.Worker['cancelAllJobs']>>;
type _wRateLimit = Assert<Accepts<Worker['rateLimit'], bull.Worker['rateLimit']>>;
type _wGetNextJob = Assert<Accepts<Worker['getNextJob'], bull.Worker['getNextJob']>>;
type _wExtendJobLocks = Assert<Accepts<Worker['extendJobLocks'], bull.Worker['extendJobLocks']>>;
type _wExtendJobLocksR = Assert<Yields<Worker['extendJobLocks'], string[]>>;
type _wStalledTimer = Assert<Accepts<Worker['startStalledCheckTimer'], bull.Worker['startStalledCheckTimer']>>;
type _jMoveToCompleted = Assert<Accepts<Job['moveToCompleted'], bull.Job['moveToCompleted']>>;
type _jMoveToFailed = Assert<Accepts<Job['moveToFailed'], bull.Job['moveToFailed']>>;
type _wConcurrency = Assert<Worker['concurrency'] extends bull.Worker['concurrency'] ? true : false>;

// QueueEvents.
type _eClose = Assert<Accepts<QueueEvents['close'], bull.QueueEvents['close']>>;
type _eRun = Assert<Accepts<QueueEvents['run'], bull.QueueEvents['run']>>;
type _eReady = Assert<Accepts<QueueEvents['waitUntilReady'], bull.QueueEvents['waitUntilReady']>>;

export type Conformance = [
  _qAdd, _qAddBulk, _qGetJob, _qGetJobs, _qCounts, _qState, _qPause, _qResume, _qIsPaused, _qDrain, _qClean, _qObliterate,
  _qRemove, _qRetryJobs, _qPromoteJobs, _qClose, _qLogs, _qUpsert, _qRemoveScheduler, _qCountsR, _qStateR, _qCleanR, _qRemoveR,
  _jobFields, _jUpdateProgress, _jLog, _jUpdateData, _jGetState, _jRemove, _jRetry, _jPromote, _jMoveToDelayed, _jChangeDelay,
  _jChangePriority, _jStateR, _jLogR, _wRun, _wClose, _wPause, _wResume, _wIsRunning, _wIsPaused, _wReady, _wCancel, _wCancelAll,
  _wConcurrency, _eClose, _eRun, _eReady, _qRateLimit, _qRateLimitTtl, _qRemoveRateLimitKey, _qSetGlobalRateLimit,
  _qGlobalRateLimitR, _wRateLimit, _wGetNextJob, _wExtendJobLocks, _wExtendJobLocksR, _wStalledTimer, _jMoveToCompleted, _jMoveToFailed,
];
export const used = [_jobsOpts, _workerOpts, _processor];
