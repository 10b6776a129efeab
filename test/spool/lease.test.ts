import { afterEach, describe, expect, it, vi } from 'vitest';
import { Queue, Worker } from '../../src/index.js';
import { newClaimTag } from '../../src/spool/claim.js';
import { leaseMsOfName } from '../../src/spool/lease.js';
import { reclaimStalled } from '../../src/spool/reclaim.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the lease length a claim carries', () => {
  it("is read from a claim's name, and not from an id that holds the mark", () => {
    expect(leaseMsOfName(`42.${newClaimTag(120_000)}.json`)).toBe(120_000);
    expect(leaseMsOfName(`a~b.c.${newClaimTag(5_000)}.json`)).toBe(5_000);
    expect(leaseMsOfName(`42.${newClaimTag()}.json`)).toBeUndefined();
    expect(leaseMsOfName('a~zz.1abc.json')).toBeUndefined();
    expect(leaseMsOfName('42.1abc~.json')).toBeUndefined();
  });

  it("is the owner's: a checker or remover with a shorter lockDuration leaves a job whose longer lease runs", async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const job = await q.add('long', {});
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const worker = track(new Worker('q', async () => held, { spool, lockDuration: 120_000, stalledInterval: 600_000 }));
    await waitFor(async () => (await q.getJobState(job.id!)) === 'active', 3000);
    const check = (nowMs: number) => reclaimStalled(q.store, { nowMs, lockDurationMs: 30_000, maxStalledCount: 1 });
    // A minute on: past a 30 s lease, inside the owner's 120 s.
    expect(check(Date.now() + 60_000).stalled).toEqual([]);
    const realNow = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + 60_000);
    expect(await q.remove(job.id!)).toBe(0);
    expect(await q.clean(0, 0, 'active')).toEqual([]);
    await expect(q.obliterate()).rejects.toMatchObject({ code: 'ERR_JOB_LOCKED' });
    vi.restoreAllMocks();
    expect(await q.getJobState(job.id!)).toBe('active');
    // Past the owner's lease: the checker takes it.
    expect(check(Date.now() + 125_000).stalled).toEqual([job.id]);
    release();
    await worker.close();
  });
});
