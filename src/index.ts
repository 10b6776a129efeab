export {
  SpoolkitError,
  ConfigError,
  UsageError,
  NotSupportedError,
  UnrecoverableError,
  DelayedError,
  WaitingError,
  WaitingChildrenError,
  RateLimitError,
} from './errors.js';
export type { SpoolkitErrorCode } from './errors.js';
export type { RepeatOptions, JobSchedulerTemplateOptions, JobSchedulerTemplate, JobSchedulerJson, JobSchedulerTemplateJson, SchedulerLoopOptions, SchedulerPassResult, SchedulerPassOptions } from './scheduler/index.js';
export { runSchedulerLoop, runSchedulerPass } from './scheduler/lazy.js';
export { Queue } from './queue.js';
export { MetricsTime } from './metrics-time.js';
export type { Metrics, MetricType } from './spool/metrics.js';
export { Worker } from './worker.js';
export { Job } from './job.js';
export type { DependenciesOpts, DependenciesResult } from './job.js';
export { FlowProducer } from './flow-producer.js';
export type { FlowJob, FlowChildJob, FlowOpts, FlowProducerOptions, JobNode, NodeOpts } from './flow-producer.js';
export { QueueEvents } from './queue-events.js';
export { registerInlineProcessor, unregisterInlineProcessor } from './inline.js';
export { resolveSpoolRoot, resolveDurability, SPOOL_FORMAT_VERSION } from './spool/root.js';
export { readSpoolStatus } from './spool/status.js';
export type { SpoolStatus, QueueStatus, SpoolStatusOptions } from './spool/status.js';
export { checkSpool } from './spool/check.js';
export type { SpoolCheck, SpoolProblem } from './spool/check.js';
export type { WorkerHeartbeat } from './spool/heartbeat.js';
export type { JobCounts } from './spool/counts.js';
export type {
  JobsOptions,
  BulkJobOptions,
  QueueOptions,
  QueueEventsOptions,
  WorkerOptions,
  SpoolOptions,
  Processor,
  JobState,
  JobType,
  JobProgress,
  JobJson,
  KeepJobs,
  BackoffOptions,
  BackoffStrategy,
  DeduplicationOptions,
  Durability,
  ObliterateOpts,
  MetricsOptions,
} from './types.js';
export { createSandboxedProcessor } from './sandbox/index.js';
export type { SandboxOptions, SandboxedProcessor, SandboxStats } from './sandbox/index.js';
export { runHealth, evaluateHealth } from './health/index.js';
export type { HealthReport, HealthRun, HealthThresholds } from './health/index.js';
