/**
 * Defaults shared by the spool modules and the public classes.
 */
import type { KeepJobs } from '../types.js';

/** BullMQ's lease length: 30 s. */
export const DEFAULT_LOCK_DURATION_MS = 30_000;
/** BullMQ's stalled-check interval: 30 s. */
export const DEFAULT_STALLED_INTERVAL_MS = 30_000;
/** BullMQ's default for maxStalledCount. */
export const DEFAULT_MAX_STALLED_COUNT = 1;
/** Heartbeat file rewrite interval. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 5_000;
/** Idle poll interval: the latest a job is seen when file-change events are lost. */
export const DEFAULT_POLL_INTERVAL_MS = 1_000;

/**
 * Retention of completed jobs when neither the job nor the worker sets `removeOnComplete`
 * (BullMQ keeps them forever; spoolkit does not): one day, at most 1000.
 */
export const DEFAULT_KEEP_COMPLETED: KeepJobs = { age: 24 * 3600, count: 1000 };
/** Retention of failed jobs by default: seven days, at most 10000. */
export const DEFAULT_KEEP_FAILED: KeepJobs = { age: 7 * 24 * 3600, count: 10_000 };

/** A heartbeat older than this is stale: its worker is not listed by getWorkers, and health's `--stale-after-ms` defaults to it. */
export const STALE_HEARTBEAT_MS = 30_000;

/**
 * The longest delay a Node timer takes (2^31 - 1 ms, about 24.8 days): `setTimeout` fires after
 * 1 ms instead for anything longer, so an option, flag or variable that sets a timer is refused
 * above it.
 */
export const MAX_TIMER_MS = 2_147_483_647;
