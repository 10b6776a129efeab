/**
 * Per-job time limits. When a job runs longer than its limit, its processor's AbortSignal fires
 * with an ERR_JOB_TIMEOUT error. A processor that stops (as it should) fails the job with that
 * error, and the job then retries or fails per its `attempts`: it is never lost.
 *
 * A sandboxed processor that ignores the signal is killed by its sandbox after the sandbox's kill
 * grace, and the job fails once its child is dead, never sooner: a retry must not run next to it.
 * An in-process processor cannot be killed: once the grace has passed, the job fails anyway and
 * `onOverrun` is told, because the function may still be running in this process (run such
 * processors in a sandbox to get a hard limit).
 */
import { SpoolkitError } from '../errors.js';
import type { ProcessorFunction, RuntimeJob } from './processor-map.js';

/** Options for {@link withTimeLimit}. */
export interface TimeLimitOptions {
  /** The limit; 0 disables it. */
  timeoutMs: number;
  /**
   * How long after the abort the job is failed even if the processor has not returned, for each
   * job; Infinity for never (a sandboxed processor, which its sandbox kills).
   */
  graceMs: number | ((job: RuntimeJob) => number);
  /** Called when a processor ignored the abort and the job was failed without it. */
  onOverrun?: (job: RuntimeJob) => void;
}

/** The error a timed-out job fails with. */
export function jobTimeoutError(job: RuntimeJob, timeoutMs: number): SpoolkitError {
  return new SpoolkitError('ERR_JOB_TIMEOUT', `Job ${String(job.id)} ("${job.name}") ran longer than its time limit of ${timeoutMs} ms; raise timeoutMs for its queue or make the processor faster.`, {
    details: { jobId: job.id, timeoutMs },
  });
}

/** Wraps `processor` so each call is limited to `opts.timeoutMs`. */
export function withTimeLimit(processor: ProcessorFunction, opts: TimeLimitOptions): ProcessorFunction {
  if (opts.timeoutMs <= 0) return processor;
  return (job, token, outer) => {
    const controller = new AbortController();
    const forward = (): void => controller.abort(outer?.reason);
    if (outer?.aborted) forward();
    else outer?.addEventListener('abort', forward, { once: true });

    let limitTimer: NodeJS.Timeout | undefined;
    let graceTimer: NodeJS.Timeout | undefined;
    const overrun = new Promise<never>((_resolve, reject) => {
      limitTimer = setTimeout(() => {
        const error = jobTimeoutError(job, opts.timeoutMs);
        controller.abort(error);
        const graceMs = typeof opts.graceMs === 'number' ? opts.graceMs : opts.graceMs(job);
        if (graceMs === Infinity) return;
        graceTimer = setTimeout(() => {
          opts.onOverrun?.(job);
          reject(error);
        }, graceMs);
      }, opts.timeoutMs);
    });
    let run: Promise<unknown>;
    try {
      run = Promise.resolve(processor(job, token, controller.signal));
    } catch (err) {
      run = Promise.reject(err);
    }
    return Promise.race([run, overrun]).finally(() => {
      clearTimeout(limitTimer);
      clearTimeout(graceTimer);
      outer?.removeEventListener('abort', forward);
      // A processor that gives up after the abort usually rejects with the abort reason; a
      // late rejection of `run` after the race was decided must not become unhandled.
      run.catch(() => undefined);
    });
  };
}
