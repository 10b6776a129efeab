/**
 * Chaos: two producer processes add a seeded mix of jobs (single adds of every kind, bulks,
 * delays, priorities, retries, custom ids shared between them, jobs removed on completion) while
 * three worker processes run them and are killed (SIGKILL, sometimes SIGTERM) and replaced every
 * few hundred milliseconds, one producer is SIGKILLed mid-way, and this process pauses, resumes
 * and reads the queue. Then the queue is drained and every promise is checked against the run log
 * the workers kept. CHAOS_SEED replays a run (the seed is in the failure message).
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue, QueueEvents, type Job } from '../../src/index.js';
import { parseRunLog, type ChaosData, type RunLine } from '../fixtures/core/chaos-data.js';
import { sleep, tmpFiles, tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';
import { exited, startFixture } from '../fixtures/core/procs.js';

const WORKER = 'chaos-worker.ts';
const PRODUCER = 'chaos-producer.ts';
/** Lease length of the chaos workers (chaos-worker.ts LOCK_MS). */
const LOCK_MS = 1000;
/** Retry delay of every retried chaos job (chaos-producer.ts). */
const BACKOFF_MS = 30;
/** Calls each producer makes. */
const CALLS = 150;
/** Rounds of the chaos, each ending one worker process. */
const ROUNDS = 12;

/** Acknowledged calls of one producer: call number -> job ids, and whether it ran to its end. */
function readAcks(file: string): { calls: Map<number, string[]>; done: boolean } {
  const calls = new Map<number, string[]>();
  let done = false;
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  for (const line of text.split('\n')) {
    if (line === 'DONE') done = true;
    const m = /^A (\d+) (.+)$/.exec(line);
    if (m) calls.set(Number(m[1]), m[2]!.split(','));
  }
  return { calls, done };
}

/** A seeded generator (mulberry32) for the chaos schedule. */
function seeded(s: number): () => number {
  let seed = s >>> 0;
  return () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Runs of one job that overlapped. The log is in append order, which is real-time order across
 * processes; a run is open from its S line to its E line, under its worker's pid. A run of a
 * SIGKILLed worker ends at the worker's death (an in-process run) or when its sandbox child
 * notices and leaves, which the log shows only when the child finishes the run first. So:
 * - a job must not start while another run of it is open, unless that run's worker was SIGKILLed
 *   no later than the new start;
 * - a run must not end (an E line) after another run of its job has started.
 */
function overlappingRuns(lines: RunLine[], killedAt: Map<number, number>): string[] {
  const open = new Map<string, { line: RunLine; n: number }[]>();
  const problems: string[] = [];
  lines.forEach((l, n) => {
    const runs = open.get(l.id) ?? [];
    if (l.type === 'S') {
      for (const { line: r } of runs) {
        const kill = killedAt.get(r.pid);
        if (kill === undefined || kill > l.at) problems.push(`job ${l.id} started in ${l.pid} at ${l.at} while its run in ${r.pid} (started ${r.at}, ${kill === undefined ? 'not killed' : `killed at ${kill}`}) was open`);
      }
      runs.push({ line: l, n });
      open.set(l.id, runs);
      return;
    }
    const mine = runs.find((r) => r.line.pid === l.pid);
    if (!mine) return;
    for (const r of runs) if (r.n > mine.n) problems.push(`job ${l.id}: its run in ${l.pid} (started ${mine.line.at}) ended at ${l.at}, after a run in ${r.line.pid} started at ${r.line.at}`);
    open.set(
      l.id,
      runs.filter((r) => r !== mine),
    );
  });
  return problems;
}

/** The limits of the 'limited' variant: a rate limit per worker (shared) and a global concurrency. */
const LIMITED = { max: 30, durationMs: 100, concurrency: 6 };

describe('chaos on one spool', () => {
  it.each([
    ['fast', 'in-process'],
    ['durable', 'in-process'],
    ['fast', 'sandboxed'],
    // Workers under a rate limit and a global concurrency: claims made over the limit are put
    // back, and claims take the concurrency lock, while workers are killed around them.
    ['fast', 'limited'],
    // Workers without a processor: jobs fetched with getNextJob, leases kept with extendLock,
    // ended with moveToCompleted / moveToFailed, while the fetchers are killed.
    ['fast', 'manual'],
  ] as const)('%s, %s processor: loses no acknowledged job, never runs one twice at once, starts none early and keeps bulks whole', async (durability, processor) => {
    const seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 1e9));
    const say = `(CHAOS_SEED=${seed})`;
    const rnd = seeded(seed);
    const spool = tmpSpool();
    const runsLog = path.join(spool, 'runs.log');
    const acks = { a: path.join(spool, 'acks-a.log'), b: path.join(spool, 'acks-b.log') };
    const q = track(new Queue('q', { spool, durability }));
    const qe = track(new QueueEvents('q', { spool }));
    const finishedEvents = new Map<string, 'completed' | 'failed'>();
    qe.on('completed', ({ jobId }) => finishedEvents.set(jobId, 'completed'));
    qe.on('failed', ({ jobId }) => finishedEvents.set(jobId, 'failed'));
    await qe.waitUntilReady();

    if (processor === 'limited') await q.setGlobalConcurrency(LIMITED.concurrency);
    const workerEnv = { SPOOL: spool, DURABILITY: durability, ...(processor === 'sandboxed' ? { CHAOS_SANDBOX: '1' } : {}), ...(processor === 'limited' ? { CHAOS_LIMIT: `${LIMITED.max}/${LIMITED.durationMs}` } : {}), ...(processor === 'manual' ? { CHAOS_MANUAL: '1' } : {}), RUNS: runsLog, CONCURRENCY: '4', LOCK_MS: String(LOCK_MS), STALLED_MS: '250' };
    const workers: ChildProcess[] = await Promise.all([0, 1, 2].map(() => startFixture(WORKER, workerEnv)));
    const producer = (name: 'a' | 'b', n: number) =>
      startFixture(PRODUCER, { SPOOL: spool, DURABILITY: durability, ACKS: acks[name], PREFIX: name, CALLS: String(CALLS), SEED: String(seed + n) });
    const [pa, pb] = await Promise.all([producer('a', 1), producer('b', 2)]);

    // The chaos: a worker ended and replaced every few hundred milliseconds, producer b SIGKILLed
    // in the middle of its run, the queue paused and resumed twice, reads in between.
    const killedAt = new Map<number, number>();
    const removedAt = new Map<string, number>();
    /** The call whose job was removed, per id: a later add of the same custom id is a new job. */
    const removedCall = new Map<string, string>();
    const removedOfCall = new Map<string, number>();
    const killProducer = setTimeout(() => {
      killedAt.set(pb.pid!, Date.now());
      pb.kill('SIGKILL');
    }, 700 + Math.floor(rnd() * 1000));
    // Twelve rounds: a random worker is SIGTERMed in rounds 2 and 7 and SIGKILLed in the others.
    const deadline = Date.now() + 40_000;
    for (let round = 0; round < ROUNDS && Date.now() < deadline; round++) {
      await sleep(100 + Math.floor(rnd() * 300));
      const counts = await q.getJobCounts();
      for (const [state, n] of Object.entries(counts)) expect(n, `${state} count ${say}`).toBeGreaterThanOrEqual(0);
      // Remove a job or two that is waiting: it must never start again, nor be found.
      for (const job of await q.getJobs(['wait', 'delayed', 'prioritized'], 0, 3)) {
        if ((job.data as ChaosData).kind === 'gone' || rnd() < 0.5) continue;
        if ((await q.remove(job.id!)) !== 1) continue;
        removedAt.set(job.id!, Date.now());
        const key = `${(job.data as ChaosData).producer}:${(job.data as ChaosData).call}`;
        removedCall.set(job.id!, key);
        removedOfCall.set(key, (removedOfCall.get(key) ?? 0) + 1);
      }
      if (round === 3 || round === 8) {
        await q.pause();
        await sleep(150);
        await q.resume();
      }
      const i = Math.floor(rnd() * workers.length);
      const w = workers[i]!;
      const graceful = round === 2 || round === 7;
      if (!graceful) killedAt.set(w.pid!, Date.now());
      w.kill(graceful ? 'SIGTERM' : 'SIGKILL');
      expect(await exited(w), `worker exit ${say}`).toBe(graceful ? 0 : 'SIGKILL');
      workers[i] = await startFixture(WORKER, workerEnv);
    }
    clearTimeout(killProducer);
    expect(await exited(pa, 30_000), `producer a ${say}`).toBe(0);
    expect(await exited(pb), `producer b ${say}`).toBe('SIGKILL');

    // Drain with the last three workers, then stop them gracefully.
    const unfinished = async () => {
      const c = await q.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'paused');
      return Object.values(c).reduce((a, b) => a + b, 0);
    };
    await waitFor(async () => (await unfinished()) === 0, 60_000, `queue drained ${say}`);
    for (const w of workers) w.kill('SIGTERM');
    for (const w of workers) expect(await exited(w), `last workers ${say}`).toBe(0);

    // Every job in the queue, by id.
    const all = await q.getJobs(['completed', 'failed', 'wait', 'active', 'delayed', 'prioritized', 'paused'], 0, -1);
    const byId = new Map<string, Job>(all.map((j) => [j.id!, j]));
    const lines = parseRunLog(fs.readFileSync(runsLog, 'utf8'));
    const endsOf = (id: string) => lines.filter((l) => l.id === id && l.type === 'E');

    // 1. Every acknowledged job exists (or ran to completion and was removed, as asked) and
    //    ended as its kind says.
    const a = readAcks(acks.a);
    const b = readAcks(acks.b);
    expect(a.done, `producer a finished ${say}`).toBe(true);
    expect(a.calls.size, say).toBe(CALLS);
    expect(b.calls.size, `producer b acknowledged some calls before it was killed ${say}`).toBeGreaterThan(0);
    const acked = new Set([...a.calls.values(), ...b.calls.values()].flat());
    let gone = 0;
    for (const id of acked) {
      const job = byId.get(id);
      // A custom id is free again once its job is removed: a later call may add it anew (seed
      // 129917752: producer a's call 109 re-added shared-21, removed from its call 49). That job
      // is checked as any other below.
      const readded = job !== undefined && removedCall.has(id) && `${(job.data as ChaosData).producer}:${(job.data as ChaosData).call}` !== removedCall.get(id);
      if (removedAt.has(id) && !readded) {
        expect(job, `removed job ${id} ${say}`).toBeUndefined();
        const after = lines.filter((l) => l.id === id && l.type === 'S' && l.at > removedAt.get(id)!);
        expect(after, `runs of removed job ${id} ${say}`).toEqual([]);
        continue;
      }
      if (!job) {
        // Only a job removed on completion may be missing; it must have completed in some run.
        gone++;
        expect(endsOf(id).some((l) => l.extra === 'ok'), `acknowledged job ${id} is missing and never completed ${say}`).toBe(true);
        continue;
      }
      const d = job.data as ChaosData;
      const state = await job.getState();
      if (d.kind === 'unrecoverable') {
        expect(state, `job ${id} (${d.kind}) ${say}`).toBe('failed');
        expect(job.failedReason, say).toBe('planned unrecoverable failure');
        expect(endsOf(id).some((l) => l.extra === 'ok'), say).toBe(false);
      } else {
        expect(d.kind, `job ${id} is kept though removeOnComplete ${say}`).not.toBe('gone');
        expect(state, `job ${id} (${d.kind}) ${say}`).toBe('completed');
        expect(job.returnvalue, `job ${id} ${say}`).toMatchObject({ id, attemptsMade: d.kind === 'flaky' ? d.failures : 0 });
      }
    }
    expect(gone, `jobs removed on completion ${say}`).toBeGreaterThan(0);

    // 2. Nothing unacknowledged exists but the jobs of producer b's last call (in flight when it
    //    was killed), and every call is all or nothing: a bulk the killed producer had committed
    //    is published whole by a worker's stalled check, one it had not is undone.
    const lastB = Math.max(...b.calls.keys());
    const byCall = new Map<string, Job[]>();
    for (const job of all) {
      const d = job.data as ChaosData;
      const key = `${d.producer}:${d.call}`;
      byCall.set(key, [...(byCall.get(key) ?? []), job]);
      if (!acked.has(job.id!)) {
        expect(`${d.producer}:${d.call}`, `unacknowledged job ${job.id} ${say}`).toBe(`b:${lastB + 1}`);
      }
    }
    for (const [key, jobs] of byCall) {
      const d = jobs[0]!.data as ChaosData;
      if (d.kind === 'shared') continue;
      expect(jobs.length + (removedOfCall.get(key) ?? 0), `jobs of call ${key} ${say}`).toBe(d.callSize);
    }

    // 3. No run started while another run of the same job held a live lease.
    expect(overlappingRuns(lines, killedAt), say).toEqual([]);

    // 4. No delayed job started before its delay, no retry before its backoff.
    for (const job of all) {
      const d = job.data as ChaosData;
      const starts = lines.filter((l) => l.id === job.id && l.type === 'S');
      expect(starts.length, `job ${job.id} ran ${say}`).toBeGreaterThan(0);
      if (d.kind === 'delayed') expect(starts[0]!.at, `delayed job ${job.id} ${say}`).toBeGreaterThanOrEqual(job.timestamp + job.opts.delay!);
      const fails = lines.filter((l) => l.id === job.id && l.type === 'E' && l.extra === 'fail');
      for (const f of fails) {
        const next = starts.find((s) => s.at > f.at || (s.at === f.at && s.pid !== f.pid));
        if (next && d.kind === 'flaky') expect(next.at, `retry of ${job.id} ${say}`).toBeGreaterThanOrEqual(f.at + BACKOFF_MS);
      }
    }

    // 5. Every finished job's event reached this process, except those finished by a worker that
    //    was SIGKILLed (its last batch of events may be lost: docs/bullmq-differences.md).
    const killedName = new Set([...killedAt.keys()].map((pid) => `w${pid}`));
    const expected = all.filter((j) => !killedName.has(j.processedBy ?? ''));
    await waitFor(() => expected.every((j) => finishedEvents.has(j.id!)), 10_000, `events of finished jobs ${say}`);
    for (const j of expected) expect(finishedEvents.get(j.id!), `last event of ${j.id} ${say}`).toBe(await j.getState());

    // 6. The spool is clean: no job left active or half-moved, and the counts agree.
    const counts = await q.getJobCounts();
    expect((counts.completed ?? 0) + (counts.failed ?? 0), say).toBe(all.length);
    const queueDir = path.join(spool, 'queues', 'q');
    for (const dir of ['active', 'reclaiming']) {
      const left = fs.existsSync(path.join(queueDir, dir)) ? fs.readdirSync(path.join(queueDir, dir)) : [];
      expect(left, `${dir}/ ${say}`).toEqual([]);
    }
    // The killed producer's unfinished add was settled by a stalled check: its writer is gone.
    expect(tmpFiles(queueDir), `tmp/ ${say}`).toEqual([]);
    expect(killedAt.size, `processes SIGKILLed ${say}`).toBe(ROUNDS - 2 + 1);
    expect(removedAt.size, `jobs removed ${say}`).toBeGreaterThan(0);
    if (processor === 'limited') {
      // Windows begin at a first start (BullMQ's), so a sliding span of one duration may hold the
      // end of one window and the start of the next: never more than twice the limit.
      const startTimes = lines.filter((l) => l.type === 'S').map((l) => l.at).sort((x, y) => x - y);
      const crowded = startTimes.filter((t, i) => i >= 2 * LIMITED.max && t - startTimes[i - 2 * LIMITED.max]! < LIMITED.durationMs - 5);
      expect(crowded, `starts over twice the rate limit within ${LIMITED.durationMs} ms ${say}`).toEqual([]);
    }
  }, 120_000);
});
