import { describe, expect, it } from 'vitest';
import { withTimeLimit } from '../../src/runtime/time-limit.js';
import type { RuntimeJob } from '../../src/runtime/processor-map.js';

const job: RuntimeJob = {
  id: '3',
  name: 'slow',
  data: {},
  attemptsMade: 0,
  updateProgress: async () => undefined,
  log: async () => 0,
  updateData: async () => undefined,
  moveToDelayed: async () => undefined,
};

describe('withTimeLimit', () => {
  it('aborts the processor signal with ERR_JOB_TIMEOUT when the limit passes', async () => {
    let seen: unknown;
    const limited = withTimeLimit(
      (_job, _token, signal) =>
        new Promise((_resolve, reject) => {
          signal?.addEventListener('abort', () => {
            seen = signal.reason;
            reject(signal.reason);
          });
        }),
      { timeoutMs: 50, graceMs: 1000 },
    );
    const err = (await limited(job).catch((e: unknown) => e)) as Error & { code?: string };
    expect(err.code).toBe('ERR_JOB_TIMEOUT');
    expect(err.message).toMatch(/Job 3 \("slow"\) ran longer than its time limit of 50 ms/);
    expect(seen).toBe(err);
  });

  it('fails the job after the grace when the processor ignores the abort, and reports the overrun', async () => {
    const overruns: string[] = [];
    const limited = withTimeLimit(() => new Promise(() => undefined), { timeoutMs: 30, graceMs: 30, onOverrun: (j) => overruns.push(String(j.id)) });
    const err = (await limited(job).catch((e: unknown) => e)) as Error & { code?: string };
    expect(err.code).toBe('ERR_JOB_TIMEOUT');
    expect(overruns).toEqual(['3']);
  });

  it('passes results through and forwards an outer abort', async () => {
    const fast = withTimeLimit(async () => 'done', { timeoutMs: 1000, graceMs: 10 });
    expect(await fast(job)).toBe('done');
    const outer = new AbortController();
    const waiting = withTimeLimit((_j, _t, signal) => new Promise((_r, reject) => signal?.addEventListener('abort', () => reject(signal.reason))), { timeoutMs: 10_000, graceMs: 10 });
    const running = waiting(job, undefined, outer.signal).catch((e: unknown) => e);
    outer.abort(new Error('lease lost'));
    expect(((await running) as Error).message).toBe('lease lost');
  });

  it('returns the processor unchanged when the limit is 0', () => {
    const p = async (): Promise<number> => 1;
    expect(withTimeLimit(p, { timeoutMs: 0, graceMs: 0 })).toBe(p);
  });
});
