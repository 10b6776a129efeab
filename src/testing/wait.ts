/**
 * Bounded polling for tests: wait until a check passes, with a limit on both time and attempts.
 */
import { SpoolkitError } from '../errors.js';

/** Options for {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this long (default 30 000 ms). */
  timeoutMs?: number;
  /** Pause between attempts (default 200 ms). */
  intervalMs?: number;
  /** Give up after this many attempts (default: timeoutMs / intervalMs + 1). */
  maxAttempts?: number;
  /** Names the condition in the timeout error. */
  what?: string;
  /** An error thrown by `check` for which this returns true ends the wait at once (rethrown). */
  failFast?: (err: unknown) => boolean;
}

/**
 * Calls `check` until it returns a value other than `undefined`, `null` or `false`, and returns
 * that value. Throws `ERR_DOCKER` naming the condition and the last value or error when the time or
 * attempt budget runs out.
 */
export async function waitFor<T>(check: () => Promise<T | undefined | null | false> | T | undefined | null | false, options: WaitForOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const intervalMs = options.intervalMs ?? 200;
  const maxAttempts = options.maxAttempts ?? Math.ceil(timeoutMs / Math.max(intervalMs, 1)) + 1;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    try {
      const value = await check();
      if (value !== undefined && value !== null && value !== false) return value as T;
      last = value;
    } catch (err) {
      if (options.failFast?.(err)) throw err;
      last = err;
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
  }
  const lastText = last instanceof Error ? last.message : JSON.stringify(last);
  throw new SpoolkitError('ERR_DOCKER', `Timed out after ${timeoutMs} ms waiting for ${options.what ?? 'a condition'} (last: ${lastText}).`);
}
