export {
  SpoolkitError,
  ConfigError,
  UsageError,
  NotSupportedError,
  UnrecoverableError,
  DelayedError,
} from './errors.js';
export type { SpoolkitErrorCode } from './errors.js';
