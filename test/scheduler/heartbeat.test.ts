import fs from 'node:fs';
import path from 'node:path';
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

  it('refuses queues that are not an array of names, a missing signal, and a poll interval it cannot sleep (a string was walked letter by letter; 0 or NaN made the loop spin)', async () => {
    const spool = tmpSpool();
    const signal = new AbortController().signal;
    const loop = (opts: Record<string, unknown>) => runSchedulerLoop({ spool, queues: [], signal, ...opts } as Parameters<typeof runSchedulerLoop>[0]);
    await expect(loop({ queues: 'emails' })).rejects.toThrow(ConfigError);
    await expect(loop({ queues: 'emails' })).rejects.toThrow(/^runSchedulerLoop: queues must be an array of queue names \(\[\] for every queue with schedulers\), got "emails"; e.g. runSchedulerLoop\(\{ queues: \['reports'\]/);
    await expect(loop({ signal: undefined })).rejects.toThrow(/^runSchedulerLoop: signal must be an AbortSignal/);
    for (const pollIntervalMs of [0, Number.NaN, '1000', 1e12]) {
      await expect(loop({ pollIntervalMs })).rejects.toThrow(/^runSchedulerLoop: pollIntervalMs must be a number of ms from 1 to 2147483647/);
    }
    await expect(loop({ heartbeatIntervalMs: 1e12 })).rejects.toThrow(/heartbeatIntervalMs must be a number of ms from 1 to 2147483647/);
    expect(fs.existsSync(path.join(spool, 'queues', 'e'))).toBe(false);
  });
});
