import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from '../../src/index.js';
import { sleep, tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

/** Descriptors this process holds that name files under `dir`. */
function openUnder(dir: string): string[] {
  const out: string[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const target = fs.readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir)) out.push(target);
    } catch {
      // closed while listing
    }
  }
  return out;
}

/** Job files (not the event log, not directories being listed) this process holds open. */
function openJobFiles(spool: string): string[] {
  return openUnder(fs.realpathSync(spool)).filter((f) => f.endsWith('.json') && !f.includes(`${path.sep}events${path.sep}`));
}

type Kind = 'ok' | 'fail' | 'retry' | 'unrecoverable' | 'delay' | 'gone' | 'hold';

describe('descriptors kept by claims', () => {
  it('are all closed whatever the run ends with: completed, failed, retried, delayed, removed, lost, or put back by a forced close', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const seen = new Map<string, number>();
    const holding = new Set<string>();
    const processor = async (job: Job<{ kind: Kind }>, token?: string, signal?: AbortSignal): Promise<unknown> => {
      const kind = job.data.kind;
      seen.set(job.id!, (seen.get(job.id!) ?? 0) + 1);
      if (kind === 'fail') throw new Error('boom');
      if (kind === 'unrecoverable') throw new UnrecoverableError('no');
      if (kind === 'retry' && job.attemptsMade === 0) throw new Error('once');
      if (kind === 'delay' && job.attemptsMade === 0 && seen.get(job.id!) === 1) {
        await job.moveToDelayed(Date.now() + 20, token);
        throw new DelayedError();
      }
      if (kind === 'gone' || kind === 'hold') {
        holding.add(job.id!);
        await new Promise<void>((resolve) => signal!.addEventListener('abort', () => resolve()));
        return 'after abort';
      }
      return 'done';
    };
    const w = track(new Worker('q', processor, { spool, concurrency: 8, lockDuration: 2000, lockRenewTime: 50 }));
    w.on('error', () => undefined);

    const kinds: Kind[] = ['ok', 'fail', 'retry', 'unrecoverable', 'delay'];
    await q.addBulk(
      Array.from({ length: 150 }, (_, i) => ({ name: 'j', data: { kind: kinds[i % kinds.length]! }, opts: { attempts: 2, removeOnComplete: i % 2 === 0 } })),
    );
    await waitFor(async () => {
      const c = await q.getJobCounts('completed', 'failed');
      // 60 fail for good ('fail' after both attempts, 'unrecoverable'); of the 90 that complete, the 45 with odd indexes are kept.
      return c.completed === 45 && c.failed === 60;
    }, 15_000, 'the mixed jobs to finish');
    await waitFor(() => [...seen.keys()].length === 150, 5000, 'every job to start');
    await waitFor(() => w.activeJobs.length === 0, 5000, 'the runs to end');
    expect(openJobFiles(spool)).toEqual([]);

    // Lost leases: someone removes the active files while the runs wait on their signals.
    const gone = await q.addBulk(Array.from({ length: 3 }, () => ({ name: 'j', data: { kind: 'gone' as Kind } })));
    await waitFor(() => gone.every((j) => holding.has(j.id!)), 5000, 'the gone jobs to start');
    expect(openJobFiles(spool)).toHaveLength(3);
    const active = path.join(q.store.dir, 'active');
    for (const f of fs.readdirSync(active)) fs.rmSync(path.join(active, f));
    await waitFor(() => w.activeJobs.length === 0, 5000, 'the lost runs to end');
    expect(openJobFiles(spool)).toEqual([]);

    // A forced close puts running jobs back; their runs end on the abort.
    const held = await q.addBulk(Array.from({ length: 4 }, () => ({ name: 'j', data: { kind: 'hold' as Kind } })));
    await waitFor(() => held.every((j) => holding.has(j.id!)), 5000, 'the held jobs to start');
    expect(openJobFiles(spool)).toHaveLength(4);
    await w.close(true);
    await sleep(20);
    expect(openJobFiles(spool)).toEqual([]);
    for (const j of held) expect(await q.getJobState(j.id!)).toBe('waiting');
  });

  it('is closed as soon as the run moves its own job to delayed, before the processor returns', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    let openAfterMove: string[] | undefined;
    const w = track(
      new Worker(
        'q',
        async (job, token) => {
          const before = openJobFiles(spool);
          await job.moveToDelayed(Date.now() + 60_000, token);
          openAfterMove = openJobFiles(spool);
          expect(before).toHaveLength(1);
          throw new DelayedError();
        },
        { spool },
      ),
    );
    w.on('error', () => undefined);
    const job = await q.add('j', {});
    await waitFor(() => openAfterMove !== undefined, 5000, 'the move');
    expect(openAfterMove).toEqual([]);
    expect(await q.getJobState(job.id!)).toBe('delayed');
  });
});
