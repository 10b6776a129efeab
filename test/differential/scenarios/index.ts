/** Every differential scenario, in the order the test runs them. */
import type { Scenario } from '../scenario.js';
import fifo from './fifo.js';
import flows from './flows.js';
import flowDuplicates from './flow-duplicates.js';
import priority from './priority.js';
import lifo from './lifo.js';
import delay from './delay.js';
import addBulk from './add-bulk.js';
import retryFixed from './retry-fixed.js';
import retryExhausted from './retry-exhausted.js';
import retryRequeueOrder from './retry-requeue-order.js';
import unrecoverable from './unrecoverable.js';
import customBackoff from './custom-backoff.js';
import customBackoffLinear from './custom-backoff-linear.js';
import moveToDelayed from './move-to-delayed.js';
import progressData from './progress-data.js';
import jobIdDuplicates from './job-id-duplicates.js';
import deduplication from './deduplication.js';
import jobIdWithDedup from './job-id-with-dedup.js';
import dedupReplace from './dedup-replace.js';
import dedupExtend from './dedup-extend.js';
import removeOnComplete from './remove-on-complete.js';
import pauseResume from './pause-resume.js';
import retryFailed from './retry-failed.js';
import getJobs from './get-jobs.js';
import drainClean from './drain-clean.js';
import rateLimitError from './rate-limit-error.js';
import limiter from './limiter.js';
import dedupKeepLast from './dedup-keep-last.js';
import globalConcurrency from './global-concurrency.js';
import metrics from './metrics.js';

export const scenarios: Scenario[] = [
  fifo, priority, lifo, delay, addBulk, retryFixed, retryExhausted, retryRequeueOrder, unrecoverable,
  customBackoff, customBackoffLinear, moveToDelayed, progressData, jobIdDuplicates, deduplication,
  jobIdWithDedup, dedupReplace, dedupExtend, removeOnComplete, pauseResume, retryFailed, getJobs, drainClean,
  rateLimitError, limiter, dedupKeepLast, globalConcurrency, metrics, flows, flowDuplicates,
];
