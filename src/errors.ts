/**
 * Errors thrown by spoolkit. Every spoolkit error carries a stable `code` so callers branch on
 * codes, never on message text. Messages say what was wrong and how to fix it.
 *
 * `UnrecoverableError`, `DelayedError` and `WaitingError` keep BullMQ's names and semantics so
 * processors written for BullMQ behave the same here; they are classified by `name` as well as
 * `instanceof`, because errors thrown in a sandboxed processor cross a process boundary as plain
 * objects.
 */

export type SpoolkitErrorCode =
  | 'ERR_CONFIG' // bad option, environment variable or mount: exit code 2 in the CLI
  | 'ERR_USAGE' // bad command-line usage: exit code 2 in the CLI
  | 'ERR_INVALID_JOB' // bad job input (name, id, data, options)
  | 'ERR_JOB_NOT_FOUND'
  | 'ERR_DUPLICATE_JOB' // a flow's job id was taken by a job being removed or another call's add not yet visible (a flow is added whole or not at all)
  | 'ERR_PARENT_NOT_FOUND' // the parent named by a job's `parent` option does not exist
  | 'ERR_JOB_LOCKED' // the job is active under a live lease
  | 'ERR_JOB_SCHEDULER' // the job is the pending run of a standing job scheduler
  | 'ERR_SPOOL_CORRUPT' // a spool file could not be parsed
  | 'ERR_SPOOL_UNWRITABLE'
  | 'ERR_SPOOL_FULL' // ENOSPC / EDQUOT
  | 'ERR_TOO_MANY_OPEN_FILES' // EMFILE / ENFILE
  | 'ERR_LEASE_LOST'
  | 'ERR_ADD_UNDONE' // an addBulk undone by another process before it committed: nothing was added
  | 'ERR_JOB_TIMEOUT'
  | 'ERR_NOT_SUPPORTED'
  | 'ERR_CLOSED'
  | 'ERR_HELPER_THREAD' // a helper thread (retention) could not start, or ended during its work
  | 'ERR_GENERATE_CONFLICT'
  | 'ERR_DOCKER';

export interface SpoolkitErrorOptions {
  cause?: unknown;
  /** Extra machine-readable context (paths, ids); logged as fields, never folded into the message. */
  details?: Record<string, unknown>;
}

export class SpoolkitError extends Error {
  readonly code: SpoolkitErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: SpoolkitErrorCode, message: string, options: SpoolkitErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
    Object.defineProperty(this, 'name', { value: new.target.name, enumerable: false, configurable: true });
  }
}

/** A bad option, environment variable or mount. The CLI exits 2. */
export class ConfigError extends SpoolkitError {
  constructor(message: string, options?: SpoolkitErrorOptions) {
    super('ERR_CONFIG', message, options);
  }
}

/** Bad command-line usage. The CLI exits 2. */
export class UsageError extends SpoolkitError {
  constructor(message: string, options?: SpoolkitErrorOptions) {
    super('ERR_USAGE', message, options);
  }
}

/** A BullMQ feature spoolkit does not implement; thrown instead of silently doing nothing. */
export class NotSupportedError extends SpoolkitError {
  constructor(feature: string, hint?: string) {
    super(
      'ERR_NOT_SUPPORTED',
      `${feature} is not supported by spoolkit${hint ? `: ${hint}` : ''}. See docs/bullmq-differences.md.`,
    );
  }
}

/**
 * Thrown by a processor to fail the job at once, skipping any remaining attempts
 * (BullMQ's UnrecoverableError; uWSGI's SPOOL_IGNORE).
 */
export class UnrecoverableError extends Error {
  constructor(message = 'bullmq:unrecoverable') {
    super(message);
    Object.defineProperty(this, 'name', { value: 'UnrecoverableError', enumerable: false, configurable: true });
  }
}

/**
 * Thrown by a processor after `job.moveToDelayed(timestamp, token)`: the worker neither completes
 * nor fails the job, and the attempt is not counted.
 */
export class DelayedError extends Error {
  constructor(message = 'bullmq:movedToDelayed') {
    super(message);
    Object.defineProperty(this, 'name', { value: 'DelayedError', enumerable: false, configurable: true });
  }
}

/**
 * Thrown by a processor after `job.moveToWait(token)`: the worker neither completes nor fails the
 * job, which waits at the front of the queue; the attempt is not counted.
 */
export class WaitingError extends Error {
  constructor(message = 'bullmq:movedToWait') {
    super(message);
    Object.defineProperty(this, 'name', { value: 'WaitingError', enumerable: false, configurable: true });
  }
}

/** BullMQ's message of a RateLimitError, by which the worker knows it (also across a process boundary). */
export const RATE_LIMIT_ERROR = 'bullmq:rateLimitExceeded';

/**
 * Thrown by a processor (`throw Worker.RateLimitError()`), usually after `worker.rateLimit(ms)`:
 * the job goes back to the front of the queue without counting the attempt, and the worker takes
 * no job until the queue's rate limit ends.
 */
export class RateLimitError extends Error {
  constructor(message = RATE_LIMIT_ERROR) {
    super(message);
    Object.defineProperty(this, 'name', { value: 'RateLimitError', enumerable: false, configurable: true });
  }
}

/** True for a RateLimitError: as BullMQ, by its message, so one thrown in a sandboxed child counts too. */
export function isRateLimitError(err: unknown): boolean {
  return isErrorLike(err) && err.message === RATE_LIMIT_ERROR;
}

/** True for an UnrecoverableError, including one that crossed a process boundary. */
export function isUnrecoverableError(err: unknown): boolean {
  return err instanceof UnrecoverableError || (isErrorLike(err) && err.name === 'UnrecoverableError');
}

/** True for a DelayedError, including one that crossed a process boundary. */
export function isDelayedError(err: unknown): boolean {
  return err instanceof DelayedError || (isErrorLike(err) && err.name === 'DelayedError');
}

/** True for a WaitingError, including one that crossed a process boundary. */
/**
 * Thrown by a processor after `job.moveToWaitingChildren(token)` returned true: the job waits for
 * its children and the worker leaves it alone (BullMQ's WaitingChildrenError).
 */
export class WaitingChildrenError extends Error {
  constructor(message = 'bullmq:movedToWaitingChildren') {
    super(message);
    Object.defineProperty(this, 'name', { value: 'WaitingChildrenError', enumerable: false, configurable: true });
  }
}

export function isWaitingChildrenError(err: unknown): boolean {
  return err instanceof WaitingChildrenError || (isErrorLike(err) && err.name === 'WaitingChildrenError');
}

export function isWaitingError(err: unknown): boolean {
  return err instanceof WaitingError || (isErrorLike(err) && err.name === 'WaitingError');
}

function isErrorLike(value: unknown): value is { name: unknown; message: unknown } {
  return typeof value === 'object' && value !== null && 'name' in value && 'message' in value;
}

/** Turns anything thrown into an Error, keeping the original as `cause` when it was not one. */
export function coerceError(value: unknown): Error {
  if (value instanceof Error) return value;
  if (isErrorLike(value) && typeof value.message === 'string') {
    const err = new Error(value.message, { cause: value });
    if (typeof value.name === 'string') Object.defineProperty(err, 'name', { value: value.name, enumerable: false });
    return err;
  }
  return new Error(typeof value === 'string' ? value : `Non-error thrown: ${safeString(value)}`, { cause: value });
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** System calls that only read: a permission error on one of them means the path cannot be read. */
const READ_SYSCALLS = new Set(['scandir', 'stat', 'lstat', 'access', 'read', 'readlink', 'opendir']);

/**
 * Maps an errno from a spool operation to a spoolkit error that names the fix, or returns
 * undefined. `op` says whether the operation read or wrote; by default a failed system call that
 * only reads (readdir, stat, access) is a read and any other (an open too) a write.
 */
export function spoolErrorFromErrno(err: unknown, path: string, op?: 'read' | 'write'): SpoolkitError | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const syscall = (err as NodeJS.ErrnoException | undefined)?.syscall ?? '';
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new SpoolkitError('ERR_SPOOL_FULL', `The spool at ${path} is out of space (${code}); free disk space or grow the volume. The call that failed stored nothing.`, { cause: err, details: { path } });
    case 'EMFILE':
    case 'ENFILE':
      return new SpoolkitError(
        'ERR_TOO_MANY_OPEN_FILES',
        `Too many open files (${code}) at ${path}: raise the open-file limit (\`ulimit -n\`, or \`ulimits: nofile\` in compose.yaml${code === 'ENFILE' ? '; for ENFILE the system-wide fs.file-max' : ''}) or lower the Worker's concurrency (each running job holds one descriptor).`,
        { cause: err, details: { path } },
      );
    case 'EACCES':
    case 'EPERM':
    {
      // An open may be a read or a write: it counts as a write unless the caller says it read.
      const adjective = (op ?? (READ_SYSCALLS.has(syscall) ? 'read' : 'write')) === 'read' ? 'readable' : 'writable';
      return new SpoolkitError('ERR_SPOOL_UNWRITABLE', `The spool at ${path} is not ${adjective} by uid ${process.getuid?.() ?? '?'} (${code}${syscall ? ` on ${syscall}` : ''}); chown the volume to this user or run as its owner.`, { cause: err, details: { path } });
    }
    case 'EROFS':
      return new SpoolkitError('ERR_SPOOL_UNWRITABLE', `The spool at ${path} is on a read-only filesystem; mount the spool volume read-write.`, { cause: err, details: { path } });
    case 'ENOTDIR':
      return new ConfigError(`A part of the spool path ${path} is a file, not a directory (ENOTDIR); point SPOOLKIT_SPOOL (or --spool) at a directory, or move the file away.`, { cause: err, details: { path } });
    case 'EXDEV':
      return new ConfigError(`The spool at ${path} spans more than one filesystem (EXDEV on rename); mount the whole spool directory as a single volume.`, { cause: err, details: { path } });
    default:
      return undefined;
  }
}
