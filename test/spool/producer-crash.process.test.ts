import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { openQueueStore } from '../../src/spool/open.js';
import { reclaimStalled } from '../../src/spool/reclaim.js';
import { QUICK_OPEN_IDLE_MS } from '../../src/spool/tmp-recovery.js';
import { filesUnder, sleep, tmpSpool, track, tmpFiles, waitFor } from '../fixtures/core/helpers.js';
import { exited, startFixture } from '../fixtures/core/procs.js';

/**
 * Starts a producer of batches (producer.ts) on a fresh spool and signals it at a random moment
 * 150-350 ms in (SIGKILL: waits for its end). Returns where it worked and the process.
 */
async function interruptedProducer(env: Record<string, string>, signal: 'SIGKILL' | 'SIGSTOP'): Promise<{ spool: string; resolvedFile: string; queueDir: string; child: ChildProcess }> {
  const spool = path.join(tmpSpool(), 'spool');
  const resolvedFile = path.join(spool, '..', 'resolved');
  fs.writeFileSync(resolvedFile, '');
  const child = await startFixture('producer.ts', { SPOOL: spool, RESOLVED: resolvedFile, ...env });
  await sleep(150 + Math.floor(Math.random() * 200));
  child.kill(signal);
  if (signal === 'SIGKILL') expect(await exited(child)).toBe('SIGKILL');
  return { spool, resolvedFile, queueDir: path.join(spool, 'queues', 'q'), child };
}

describe('a producer process SIGKILLed in the middle of addBulk', () => {
  it('loses no job whose add resolved, and the stalled checker publishes every job it had already named', async () => {
    // Each round kills a producer at a random moment. An addBulk writes and names (links into the
    // id index) all its files before it publishes any, so most kills land in that window; rounds
    // continue (at most 8) until one did, so that the recovery is exercised.
    let roundsInWindow = 0;
    for (let round = 0; round < 8 && roundsInWindow === 0; round++) {
      const { spool, resolvedFile, queueDir } = await interruptedProducer({ BATCH: '200' }, 'SIGKILL');
      const linkedTmp = tmpFiles(queueDir).filter((f) => fs.statSync(f).nlink >= 2);
      if (linkedTmp.length > 0) roundsInWindow++;
      // The killed bulk had committed (every job named) only if its marker is there.
      const committed = tmpFiles(queueDir).some((f) => f.endsWith('.commit'));

      // Every add that resolved is there, before any recovery.
      const q = track(new Queue('q', { spool }));
      const resolved = fs.readFileSync(resolvedFile, 'utf8').split('\n').filter(Boolean);
      for (const id of resolved) expect(await q.getJobState(id), `job ${id}`).toBe('waiting');

      // A stalled-check pass once the temp files are old enough publishes a committed bulk's
      // leftovers, and undoes an uncommitted one: each bulk is all or nothing.
      const store = openQueueStore('q', { spool });
      reclaimStalled(store, { nowMs: Date.now() + 6 * 60_000, lockDurationMs: 30_000, maxStalledCount: 1 });
      expect(tmpFiles(queueDir)).toEqual([]);
      const idNames = filesUnder(path.join(queueDir, 'ids')).map((f) => path.basename(f));
      expect(await q.getJobCounts('waiting')).toEqual({ waiting: idNames.length });
      for (const id of idNames) expect(await q.getJobState(id), `job ${id}`).toBe('waiting');
      // Jobs of a bulk still being published when the kill came are visible too (not in tmp/).
      expect(idNames.length).toBeGreaterThanOrEqual(resolved.length + (committed ? linkedTmp.length : 0));
      const perBulk = new Map<number, number>();
      for (const j of await q.getJobs(['waiting'])) perBulk.set((j.data as { n: number }).n, (perBulk.get((j.data as { n: number }).n) ?? 0) + 1);
      expect([...perBulk].filter(([, count]) => count !== 200)).toEqual([]);
    }
    expect(roundsInWindow).toBeGreaterThan(0);
  }, 60_000);

  it('is settled at once once its process is gone: the same custom ids added again right after the crash give one job each', async () => {
    // Each round kills a producer of custom ids at a random moment and, at once (no stalled check,
    // no clock jump), adds again the ids its unfinished bulk had named, as an app retrying the
    // call would. An uncommitted bulk must be undone so the new adds are made; a committed one
    // published, so the new adds find its jobs. Rounds continue (at most 10) until a kill landed
    // before the commit.
    let uncommitted = 0;
    for (let round = 0; round < 10 && uncommitted === 0; round++) {
      const { spool, queueDir } = await interruptedProducer({ BATCH: '200', CUSTOM_IDS: '1' }, 'SIGKILL');
      const named = tmpFiles(queueDir).filter((f) => !f.endsWith('.commit') && fs.statSync(f).nlink >= 2);
      if (named.length === 0) continue;
      const committed = tmpFiles(queueDir).some((f) => f.endsWith('.commit'));
      if (!committed) uncommitted++;
      const ids = named.map((f) => (JSON.parse(fs.readFileSync(f, 'utf8')) as { id: string }).id);
      const n = Number(ids[0]!.split('-')[1]);

      const q = track(new Queue('q', { spool }));
      await q.addBulk(ids.map((id) => ({ name: 'again', data: { again: true }, opts: { jobId: id } })));
      for (const id of ids) {
        const job = await q.getJob(id);
        expect(job?.name, `job ${id} (bulk ${committed ? 'committed' : 'uncommitted'})`).toBe(committed ? 'crash' : 'again');
        expect(await q.getJobState(id)).toBe('waiting');
      }
      expect(tmpFiles(queueDir)).toEqual([]);
      const ofKilledBulk = (await q.getJobs(['waiting'])).filter((j) => j.name === 'crash' && (j.data as { n: number }).n === n);
      expect(ofKilledBulk.length).toBe(committed ? 200 : 0);
    }
    expect(uncommitted).toBeGreaterThan(0);
  }, 60_000);

  it('stalled (SIGSTOP) before its commit: taken for dead by an add of one of its ids and undone whole; woken, it makes the call once more', async () => {
    // Each round stops a producer of custom ids at a random moment; rounds continue (at most 10)
    // until one stopped with its bulk open (named files, no commit yet). The process is alive, so
    // only its idleness can tell: after two seconds, an add of one of its ids takes it for dead.
    let stoppedOpen = 0;
    for (let round = 0; round < 10 && stoppedOpen === 0; round++) {
      const { spool, resolvedFile, queueDir, child } = await interruptedProducer({ BATCH: '500', CUSTOM_IDS: '1' }, 'SIGSTOP');
      const open = tmpFiles(queueDir).find((f) => f.endsWith('.open'));
      const named = tmpFiles(queueDir).filter((f) => path.basename(f).startsWith('b-') && !path.basename(f).includes('.') && fs.statSync(f).nlink >= 2);
      if (!open || named.length === 0) {
        child.kill('SIGKILL');
        await exited(child);
        continue;
      }
      stoppedOpen++;
      const tag = path.basename(open).slice('b-'.length, -'.open'.length);
      const ids = named.map((f) => (JSON.parse(fs.readFileSync(f, 'utf8')) as { id: string }).id);
      const n = Number(ids[0]!.split('-')[1]);
      await sleep(QUICK_OPEN_IDLE_MS + 300);

      const q = track(new Queue('q', { spool }));
      await q.add('again', { again: true }, { jobId: ids[0] });
      expect((await q.getJob(ids[0]!))?.name).toBe('again');
      // Woken, the producer finds its call undone (its commit refused, or a file it was about to
      // name gone) and makes it once more: that call resolves, with the id taken meanwhile as a
      // duplicate.
      child.kill('SIGCONT');
      const resolved = () => fs.readFileSync(resolvedFile, 'utf8').split('\n');
      await waitFor(() => resolved().includes(`c-${n}-499`), 20_000, `batch ${n} resolved`);
      child.kill('SIGKILL');
      await exited(child);
      expect(resolved().filter((l) => l.startsWith('error'))).toEqual([]);
      expect((await q.getJob(ids[0]!))?.name).toBe('again');
      for (let i = 1; i < 500; i++) {
        const job = await q.getJob(`c-${n}-${i}`);
        expect(job?.name, `job c-${n}-${i}`).toBe('crash');
        expect(await job!.getState()).toBe('waiting');
      }
      // Nothing of the undone attempt is left in tmp/.
      expect(tmpFiles(queueDir).filter((f) => path.basename(f).startsWith(`b-${tag}`))).toEqual([]);
    }
    expect(stoppedOpen).toBeGreaterThan(0);
  }, 90_000);
});
