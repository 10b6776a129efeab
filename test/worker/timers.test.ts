import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue, Worker } from '../../src/index.js';
import { readHeartbeats } from '../../src/spool/heartbeat.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

describe('worker scheduler passes', () => {
  it('runs due schedulers and reports a corrupt scheduler definition as an error event', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('sched', { spool }));
    await q.upsertJobScheduler('good', { every: 1000 }, { name: 'tick' });
    await q.upsertJobScheduler('bad', { every: 1000 }, { name: 'tick' });
    writeFileSync(join(q.queueDir, 'schedulers', encodeURIComponent('bad'), 'scheduler.json'), '{not json');
    const errors: Error[] = [];
    const ran: string[] = [];
    const w = new Worker('sched', async (job) => void ran.push(job.id!), { spool });
    w.on('error', (err) => errors.push(err));
    try {
      await waitFor(() => errors.length > 0 && ran.length > 0, 10_000).catch((e) => {
        throw new Error(`${e.message}: errors=${errors.map(String)} ran=${ran}`);
      });
      expect((errors[0] as Error & { code?: string }).code).toBe('ERR_SPOOL_CORRUPT');
      expect(ran.some((id) => id.startsWith('repeat:good:'))).toBe(true);
    } finally {
      await w.close();
    }
  });
});

describe('worker heartbeat', () => {
  it('reports finished jobs in the heartbeat within a second or two, not only every heartbeatIntervalMs', async () => {
    const { readSpoolStatus } = await import('../../src/index.js');
    const spool = tmpSpool();
    const q = track(new Queue('hb', { spool }));
    const w = new Worker('hb', async () => 'ok', { spool, heartbeatIntervalMs: 60_000 });
    try {
      await q.addBulk([1, 2, 3].map((i) => ({ name: 'x', data: { i } })));
      await waitFor(async () => {
        const status = await readSpoolStatus(spool);
        return status.workers.some((hb) => hb.processed === 3);
      }, 5_000);
      const status = await readSpoolStatus(spool);
      expect(status.queues.hb?.completedLastMinute).toBe(3);
    } finally {
      await w.close();
    }
  });

  it('writes the counts as soon as the worker runs out of jobs, when a heartbeat is pending', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('hb-idle', { spool }));
    // Jobs that take 300 ms: the first heartbeat (at start) is older than the 250 ms gap when they finish.
    const w = new Worker('hb-idle', async () => new Promise((r) => setTimeout(() => r('ok'), 300)), { spool, concurrency: 3, heartbeatIntervalMs: 60_000, autorun: false });
    try {
      await q.addBulk([1, 2, 3].map((i) => ({ name: 'x', data: { i } })));
      const seen: number[] = [];
      let completed = 0;
      w.on('completed', () => void completed++);
      // Read the heartbeat the moment the worker says it is idle: the timed write would come a second later.
      const drained = new Promise<void>((resolve) => {
        w.on('drained', () => {
          if (completed < 3) return;
          seen.push(...readHeartbeats(spool).filter((hb) => hb.workerId === w.id).map((hb) => hb.processed));
          resolve();
        });
      });
      void w.run();
      await drained;
      expect(seen).toEqual([3]);
    } finally {
      await w.close();
    }
  });
});

describe('timer options', () => {
  it('refuses a value no Node timer can wait (above 2147483647 ms) as a ConfigError naming the option, before anything runs', () => {
    const spool = tmpSpool();
    for (const name of ['lockDuration', 'lockRenewTime', 'stalledInterval', 'heartbeatIntervalMs', 'pollIntervalMs', 'maximumRateLimitDelay'] as const) {
      let caught: unknown;
      try {
        track(new Worker('t', async () => 'ok', { spool, autorun: false, [name]: 2_147_483_648 }));
      } catch (err) {
        caught = err;
      }
      expect(caught, name).toMatchObject({ code: 'ERR_CONFIG', message: expect.stringContaining(`\`${name}\` to be at most 2147483647 ms`) });
    }
    // The limit itself is a valid timer.
    expect(() => track(new Worker('t', async () => 'ok', { spool, autorun: false, lockDuration: 2_147_483_647 }))).not.toThrow();
  });
});
