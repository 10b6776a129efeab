export {
  SpoolkitError,
  ConfigError,
  UsageError,
  NotSupportedError,
  UnrecoverableError,
  DelayedError,
} from './errors.js';
export type { SpoolkitErrorCode } from './errors.js';
export type { RepeatOptions, JobSchedulerTemplateOptions, JobSchedulerTemplate, JobSchedulerJson, JobSchedulerTemplateJson, SchedulerLoopOptions, SchedulerPassResult } from './scheduler/index.js';
export { runSchedulerLoop, runSchedulerPass } from './scheduler/index.js';
