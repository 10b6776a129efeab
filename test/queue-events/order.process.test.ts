/**
 * Per-job order of the events heard from another process: a job's `added` and `waiting` are in
 * the log before it can be started, as in BullMQ (written with the job), even when the adding
 * process is busy right after its add and a worker in another process runs the job at once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FlowProducer, Queue, QueueEvents, Worker } from '../../src/index.js';
import { promoteDue } from '../../src/spool/promote.js';
import { openQueueStore } from '../../src/spool/open.js';
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

  it('logs waiting as soon as a move makes a job claimable again (retry, promote, promotion of due jobs), not on the next turn', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const logText = (): string => {
      const dir = path.join(spool, 'queues', 'q', 'events');
      return fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('');
    };
    const logged = (jobId: string, prev: string): boolean => logText().split('\n').some((l) => l.includes('"e":"waiting"') && l.includes(`"jobId":"${jobId}"`) && l.includes(`"prev":"${prev}"`));
    const failed = await q.add('f', {}, { jobId: 'failed-one' });
    const w = track(new Worker('q', async () => Promise.reject(new Error('no')), { spool }));
    await waitFor(async () => (await failed.getState()) === 'failed', 5000);
    await w.close();
    // Each check runs right after the call, before this process's event loop turns again.
    await q.retryJobs({ state: 'failed' });
    expect(logged('failed-one', 'failed'), 'retryJobs').toBe(true);
    const later = await q.add('d', {}, { jobId: 'delayed-one', delay: 60_000 });
    await later.promote();
    expect(logged('delayed-one', 'delayed'), 'job.promote').toBe(true);
    await q.add('d', {}, { jobId: 'delayed-two', delay: 60_000 });
    await q.promoteJobs();
    expect(logged('delayed-two', 'delayed'), 'promoteJobs').toBe(true);
    await q.add('d', {}, { jobId: 'delayed-three', delay: 1 });
    await new Promise((r) => setTimeout(r, 20));
    promoteDue(openQueueStore('q', { spool }), Date.now());
    expect(logged('delayed-three', 'delayed'), 'a worker promoting due jobs').toBe(true);
  });
});
