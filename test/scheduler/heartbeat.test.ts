import { describe, expect, it } from 'vitest';
import { Queue, Worker } from '../../src/index.js';
import { ConfigError } from '../../src/errors.js';
import { runSchedulerLoop } from '../../src/scheduler/index.js';
import { readHeartbeats } from '../../src/spool/heartbeat.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

describe('the scheduler loop heartbeat', () => {
  it('writes a scheduler heartbeat while it runs, counted apart from workers, and removes it on stop', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const w = track(new Worker('q', async () => undefined, { spool }));
    await w.waitUntilReady();
    const controller = new AbortController();
    const loop = runSchedulerLoop({ spool, queues: ['q'], signal: controller.signal, heartbeatIntervalMs: 20, pollIntervalMs: 60_000, heartbeatMeta: { role: 'scheduler' } });
    const scheduler = () => readHeartbeats(spool).find((h) => h.kind === 'scheduler');
    const first = await waitFor(scheduler, 5000, 'the scheduler heartbeat');
    expect(first).toMatchObject({ queues: ['q'], pid: process.pid, concurrency: 0, meta: { role: 'scheduler' } });
    // It beats on its own interval, not the (long) poll interval.
    await waitFor(() => (scheduler()?.heartbeatAt ?? 0) > (first?.heartbeatAt ?? Infinity), 2000, 'a second beat');
    expect((await q.getWorkers()).map((h) => h.kind)).toEqual(['worker']);
    controller.abort();
    await loop;
    expect(scheduler()).toBeUndefined();
    expect(readHeartbeats(spool).map((h) => h.kind)).toEqual(['worker']);
  });

  it('refuses a heartbeat interval below 1 ms', async () => {
    const spool = tmpSpool();
    const loop = runSchedulerLoop({ spool, queues: [], signal: new AbortController().signal, heartbeatIntervalMs: 0 });
    await expect(loop).rejects.toThrow(ConfigError);
    await expect(loop).rejects.toThrow(/heartbeatIntervalMs/);
  });
});
