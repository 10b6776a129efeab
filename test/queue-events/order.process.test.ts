/**
 * Per-job order of the events heard from another process: a job's `added` and `waiting` are in
 * the log before it can be started, as in BullMQ (written with the job), even when the adding
 * process is busy right after its add and a worker in another process runs the job at once.
 */
import { describe, expect, it } from 'vitest';
import { FlowProducer, Queue, QueueEvents } from '../../src/index.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';
import { startFixture } from '../fixtures/core/procs.js';

/** Keeps the event loop busy, as a web handler doing synchronous work after its add. */
function busy(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // spin
  }
}

describe('event order across processes', () => {
  it('logs added and waiting before any worker can start the job (add, addBulk, a flow)', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const qe = track(new QueueEvents('q', { spool }));
    const heard = new Map<string, string[]>();
    for (const e of ['added', 'waiting', 'waiting-children', 'active', 'completed'] as const) {
      qe.on(e, ({ jobId }: { jobId: string }) => heard.set(jobId, [...(heard.get(jobId) ?? []), e]));
    }
    await qe.waitUntilReady();
    await startFixture('worker-proc.ts', { SPOOL: spool, CONCURRENCY: '8', POLL_MS: '50' });
    const flows = track(new FlowProducer({ spool }));

    const ids: string[] = [];
    for (let round = 0; round < 3; round++) {
      ids.push((await q.add('one', { round }, { jobId: `single-${round}` })).id!);
      busy(300);
      ids.push(...(await q.addBulk(Array.from({ length: 20 }, (_, i) => ({ name: 'bulk', data: { i }, opts: { jobId: `bulk-${round}-${i}` } })))).map((j) => j.id!));
      busy(300);
      const flow = await flows.add({ name: 'parent', queueName: 'q', opts: { jobId: `parent-${round}` }, children: [0, 1, 2].map((i) => ({ name: 'kid', queueName: 'q', data: { i }, opts: { jobId: `kid-${round}-${i}` } })) });
      ids.push(...flow.children!.map((c) => c!.job.id!));
      busy(300);
    }
    await waitFor(() => ids.every((id) => heard.get(id)?.includes('completed')), 15_000, 'every job completed');
    for (const id of ids) expect(heard.get(id), `events of ${id}`).toEqual(['added', 'waiting', 'active', 'completed']);
    for (let round = 0; round < 3; round++) {
      const p = heard.get(`parent-${round}`) ?? [];
      expect(p.slice(0, 2), `parent-${round}: ${p.join(' ')}`).toEqual(['added', 'waiting-children']);
    }
  }, 40_000);
});
