import { describe, expect, it } from 'vitest';
import { Queue, Worker } from '../../src/index.js';
import { sleep, tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

/** Two workers of concurrency 3 in this process, each job taking `jobMs`; records the most jobs running at once. */
async function runTwoWorkers(spool: string, n: number, jobMs: number, onRunning?: (running: number) => Promise<void>) {
  let running = 0;
  let most = 0;
  let done = 0;
  const processor = async () => {
    running++;
    most = Math.max(most, running);
    await onRunning?.(running);
    await sleep(jobMs);
    running--;
  };
  const workers = [0, 1].map(() => track(new Worker('q', processor, { spool, concurrency: 3 })));
  for (const w of workers) w.on('completed', () => done++);
  await waitFor(() => done === n, 10_000, `${n} completions`);
  for (const w of workers) await w.close();
  return most;
}

describe('global concurrency', () => {
  it('runs at most that many jobs at once across workers, and says when the queue is maxed', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    expect(await q.getGlobalConcurrency()).toBeNull();
    expect(await q.setGlobalConcurrency(2)).toBe(1);
    expect(await q.setGlobalConcurrency(2)).toBe(0);
    expect(await q.getGlobalConcurrency()).toBe(2);
    expect(await q.isMaxed()).toBe(false);
    await q.addBulk(Array.from({ length: 8 }, (_, i) => ({ name: 'j', data: i })));
    const maxedSeen: boolean[] = [];
    const most = await runTwoWorkers(spool, 8, 40, async (running) => {
      if (running === 2) maxedSeen.push(await q.isMaxed());
    });
    expect(most).toBe(2);
    expect(maxedSeen).toContain(true);
    expect(await q.isMaxed()).toBe(false);
  });

  it('once removed, each worker runs up to its own concurrency again', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    await q.setGlobalConcurrency(1);
    expect(await q.removeGlobalConcurrency()).toBe(1);
    expect(await q.removeGlobalConcurrency()).toBe(0);
    expect(await q.getGlobalConcurrency()).toBeNull();
    await q.addBulk(Array.from({ length: 6 }, (_, i) => ({ name: 'j', data: i })));
    expect(await runTwoWorkers(spool, 6, 100)).toBeGreaterThan(2);
  });

  it('a worker already running sees a limit set later', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    let running = 0;
    let most = 0;
    let done = 0;
    const w = track(new Worker('q', async () => {
      running++;
      most = Math.max(most, running);
      await sleep(30);
      running--;
    }, { spool, concurrency: 4 }));
    w.on('completed', () => done++);
    await q.setGlobalConcurrency(1);
    await sleep(100);
    await q.addBulk(Array.from({ length: 5 }, (_, i) => ({ name: 'j', data: i })));
    await waitFor(() => done === 5, 5000, 'five completions');
    expect(most).toBe(1);
  });

  it('refuses a number that limits nothing', async () => {
    const q = track(new Queue('q', { spool: tmpSpool() }));
    await expect(q.setGlobalConcurrency(0)).rejects.toMatchObject({ code: 'ERR_CONFIG' });
    await expect(q.setGlobalConcurrency(1.5)).rejects.toThrow(/whole number of jobs >= 1/);
    expect(await q.getGlobalConcurrency()).toBeNull();
  });
});
