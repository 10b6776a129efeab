/**
 * Retry delays, with BullMQ's formulas. The strategy is called with `attemptsMade + 1` (1 on the
 * first retry):
 * - fixed: `delay`; with jitter j: floor(random * delay * j + delay * (1 - j));
 * - exponential: round(2^(n-1) * delay); with jitter j, that value is the maximum and the delay is
 *   floor(random * max * j + max * (1 - j));
 * - any other type: `settings.backoffStrategy(attemptsMade, type, err, job)`; -1 means fail now,
 *   0 means retry now. An unknown type with no strategy throws.
 */
import { SpoolkitError } from './errors.js';
import type { BackoffOptions, BackoffStrategy } from './types.js';
import type { Job } from './job.js';
import { numberLike, shown } from './arg-value.js';

/** Turns the `backoff` option into `BackoffOptions` (a number is a fixed delay). */
export function normalizeBackoff(backoff: number | BackoffOptions | undefined): BackoffOptions | undefined {
  if (typeof backoff === 'number' && Number.isFinite(backoff)) return { type: 'fixed', delay: backoff };
  if (backoff && typeof backoff === 'object') return backoff;
  return undefined;
}

/** Delay of a built-in strategy; `random` is injectable for tests. */
export function builtinDelay(opts: BackoffOptions, attemptsMade: number, random: () => number = Math.random): number | undefined {
  const delay = opts.delay ?? 0;
  const jitter = opts.jitter ?? 0;
  if (opts.type === 'fixed') {
    return jitter > 0 ? Math.floor(random() * delay * jitter + delay * (1 - jitter)) : delay;
  }
  if (opts.type === 'exponential') {
    const max = Math.round(2 ** (attemptsMade - 1) * delay);
    return jitter > 0 ? Math.floor(random() * max * jitter + max * (1 - jitter)) : max;
  }
  return undefined;
}

/**
 * The delay before the next try, in ms (-1: do not retry; undefined or 0: retry now).
 * `attemptsMade` is the job's count after this failure (n = attemptsMade + 1 in BullMQ's terms is
 * passed by the caller).
 */
export async function computeBackoff(
  backoff: number | BackoffOptions | undefined,
  attemptsMade: number,
  err: Error,
  job: Job,
  custom?: BackoffStrategy,
): Promise<number | undefined> {
  const opts = normalizeBackoff(backoff);
  if (!opts) return undefined;
  const builtin = builtinDelay(opts, attemptsMade);
  if (builtin !== undefined) return builtin;
  if (custom) return checkedStrategyDelay(await custom(attemptsMade, opts.type, err, job), opts.type);
  throw new SpoolkitError('ERR_INVALID_JOB', `Unknown backoff strategy ${opts.type}. If a custom backoff strategy is used, pass it as settings.backoffStrategy in the Worker options.`);
}

/**
 * What a custom strategy returned, when it is a delay: a number (NaN aside), a string of one
 * ('1000', which BullMQ hands Redis as that delay), or nothing (retry now). Anything else fails
 * the job with an error saying so; a word or NaN retried at once.
 */
function checkedStrategyDelay(d: unknown, type: string): number | undefined {
  if (d === undefined || d === null) return undefined;
  const n = numberLike(d);
  if (!Number.isNaN(n)) return n;
  throw new SpoolkitError(
    'ERR_CONFIG',
    `settings.backoffStrategy returned ${shown(d)} for backoff type ${JSON.stringify(type)}; return a delay in ms, 0 to retry now or -1 to fail now.`,
  );
}
