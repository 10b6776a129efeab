/**
 * Job schedulers: BullMQ v6's `upsertJobScheduler` family on a spool, safe with any number of
 * replicas. The Queue delegates its scheduler methods here with itself as the host; each Worker
 * (and the `spoolkit scheduler` role) runs {@link runSchedulerPass} on its timer.
 * See docs/scheduler.md for the on-disk layout, the exactly-once argument and the missed-run policy.
 */
export type { SchedulerHost } from './host.js';
export type {
  RepeatOptions,
  JobSchedulerTemplateOptions,
  JobSchedulerTemplate,
  JobSchedulerJson,
  JobSchedulerTemplateJson,
} from './types.js';
export { upsertJobScheduler, getJobScheduler, getJobSchedulers, getJobSchedulersCount, removeJobScheduler } from './api.js';
export { runSchedulerPass } from './pass.js';
export { DEFAULT_RESCAN_MS, DEFAULT_SCHEDULER_POLL_MS } from './defaults.js';
export type { SchedulerPassResult, SchedulerPassOptions } from './pass.js';
export { runSchedulerLoop } from './loop.js';
export type { SchedulerLoopOptions, ClosableSchedulerHost } from './loop.js';
export { tickJobId } from './store.js';
