import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue, Worker } from '../../src/index.js';
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
});
