/**
 * Differences between spoolkit and BullMQ that this test found and that are not documented as
 * deliberate. Each one is reported for a fix; scenarios list where it shows (see `KnownDifference`).
 */

/** BullMQ emits `retries-exhausted` on any final failure; spoolkit only when `attempts` was set. */
export const EXHAUSTED_WITHOUT_ATTEMPTS =
  "QueueEvents 'retries-exhausted' is not emitted by spoolkit when a job without an explicit `attempts` fails for good (BullMQ emits it with attemptsMade '1')";

/** BullMQ passes the processor's own result to Worker 'completed'; spoolkit passes null for undefined. */
export const COMPLETED_UNDEFINED_RESULT =
  "Worker 'completed' listener's result argument: BullMQ passes the processor's undefined as is, spoolkit passes null";
