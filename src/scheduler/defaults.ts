/** Defaults shared by the scheduler loop and the `spoolkit scheduler` command (no imports, so loading it is free). */

/** Default longest sleep between passes of the scheduler loop. */
export const DEFAULT_SCHEDULER_POLL_MS = 1000;

/** How soon a pass looks again for schedulers added by other processes. */
export const DEFAULT_RESCAN_MS = 1000;
