import { describe, expect, it } from 'vitest';
import { waitFor } from '../../src/testing/wait.js';

describe('waitFor', () => {
  it('returns the first truthy value', async () => {
    let n = 0;
    await expect(waitFor(() => (++n >= 3 ? n : false), { intervalMs: 1, timeoutMs: 1000 })).resolves.toBe(3);
  });

  it('keeps trying through errors and stops at the attempt limit with the last error', async () => {
    let n = 0;
    const p = waitFor(() => {
      n++;
      throw new Error(`nope ${n}`);
    }, { intervalMs: 1, timeoutMs: 10_000, maxAttempts: 4, what: 'the thing' });
    await expect(p).rejects.toThrow(/waiting for the thing \(last: nope 4\)/);
    expect(n).toBe(4);
  });

  it('stops at the time limit', async () => {
    const started = Date.now();
    await expect(waitFor(() => null, { intervalMs: 5, timeoutMs: 50 })).rejects.toMatchObject({ code: 'ERR_DOCKER' });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('rethrows at once when failFast says so', async () => {
    let n = 0;
    const p = waitFor(() => {
      n++;
      throw new RangeError('broken');
    }, { intervalMs: 1, timeoutMs: 10_000, failFast: (e) => e instanceof RangeError });
    await expect(p).rejects.toBeInstanceOf(RangeError);
    expect(n).toBe(1);
  });
});
