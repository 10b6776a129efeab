import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue, QueueEvents, Worker } from '../../src/index.js';
import { RETENTION_STATE_FILES, runRetention } from '../../src/spool/retention.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';
import { exited, startFixture } from '../fixtures/core/procs.js';

const SIX_MINUTES_MS = 6 * 60_000;

function completedEventsFor(dir: string, id: string): number {
  const events = path.join(dir, 'events');
  return fs
    .readdirSync(events)
    .flatMap((f) => fs.readFileSync(path.join(events, f), 'utf8').split('\n'))
    .filter((l) => l.startsWith('{"e":"completed"') && (JSON.parse(l) as { a: { jobId: string } }).a.jobId === id).length;
}

describe('retention: finished jobs whose event was lost with their worker', () => {
  it('a worker killed right after finishing a job left it without its event; a later sweep trims it with the rest', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const orphan = await q.add('j', { n: 0 }, { removeOnComplete: 1 });
    const child = await startFixture('killed-on-complete.ts', { SPOOL: spool });
    expect(await exited(child)).toBe('SIGKILL');
    expect(await q.getJobState(orphan.id!)).toBe('completed');
    q.store.events.flush();
    expect(completedEventsFor(q.store.dir, orphan.id!)).toBe(0);
    // Three more jobs, each keeping only the newest completed job, finished by a live worker.
    const jobs = await q.addBulk([1, 2, 3].map((n) => ({ name: 'j', data: { n }, opts: { removeOnComplete: 1 } })));
    const newest = jobs[2]!.id!;
    const w = track(new Worker('q', async () => 'ok', { spool }));
    await waitFor(async () => ((await q.getJobCounts('completed')).completed ?? 0) >= 4, 10_000, 'four completed jobs');
    await w.close();
    runRetention(q.store, Date.now());
    // The worker's own passes knew nothing of the orphan: it stays, with the newest.
    expect((await q.getJobs(['completed'])).map((j) => j.id).sort()).toEqual([orphan.id, newest].sort());
    // Minutes later a pass sweeps completed/: the orphan is found and trimmed, and its event,
    // written late for it, reaches listeners.
    const events = track(new QueueEvents('q', { spool }));
    await events.waitUntilReady();
    const late = new Promise<{ jobId: string; returnvalue: unknown }>((resolve) => events.on('completed', (args: { jobId: string; returnvalue: unknown }) => args.jobId === orphan.id && resolve(args)));
    runRetention(q.store, Date.now() + SIX_MINUTES_MS);
    expect((await q.getJobs(['completed'])).map((j) => j.id)).toEqual([newest]);
    expect(await q.getJob(orphan.id!)).toBeUndefined();
    q.store.events.flush();
    expect(await late).toEqual({ jobId: orphan.id, returnvalue: 'ok', prev: 'active' });
    expect(completedEventsFor(q.store.dir, orphan.id!)).toBe(1);
    // Later passes skip the late event (the orphan is not listed again), and write no second one.
    expect(runRetention(q.store, Date.now() + SIX_MINUTES_MS + 11_000).removed).toBe(0);
    expect(completedEventsFor(q.store.dir, orphan.id!)).toBe(1);
    const states = RETENTION_STATE_FILES.map((f) => JSON.parse(fs.readFileSync(path.join(q.store.dir, f), 'utf8')) as { seq: number; completed: [string, number][] });
    const current = states.reduce((a, b) => (a.seq > b.seq ? a : b));
    expect(current.completed.map((e) => e[0])).toEqual([newest]);
  });

  it('leaves a job kept forever by its own setting, though its event was lost too', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const kept = await q.add('j', { n: 0 }, { removeOnComplete: false });
    const child = await startFixture('killed-on-complete.ts', { SPOOL: spool });
    expect(await exited(child)).toBe('SIGKILL');
    expect(await q.getJobState(kept.id!)).toBe('completed');
    const later = await q.add('j', { n: 1 }, { removeOnComplete: 0 });
    const w = track(new Worker('q', async () => 'ok', { spool }));
    await waitFor(async () => (await q.getJobState(later.id!)) !== 'waiting' && (await q.getJobState(later.id!)) !== 'active', 10_000, 'the later job finished');
    await w.close();
    runRetention(q.store, Date.now() + SIX_MINUTES_MS);
    expect((await q.getJobs(['completed'])).map((j) => j.id)).toEqual([kept.id]);
  });
});
