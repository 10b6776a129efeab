/**
 * Enqueueing one run ("tick") of a scheduler, exactly once however many replicas try.
 *
 * 1. Claim: create the tick's marker exclusively. Exactly one replica wins; the others stop.
 * 2. Check: if a newer marker of the same generation exists, this replica was slow and the run
 *    was passed by (skipped or pruned after running); drop the claim. If the definition changed
 *    or was removed meanwhile, drop it too.
 * 3. Add the job with its deterministic id through `host.addReservedJob` (create-if-absent).
 * 4. Commit: mark the marker `enqueued`.
 * A replica that dies between 1 and 4 leaves a `claimed` marker naming it. A pass on the same
 * host and pid namespace that finds that process gone finishes the tick at once: it adds the job
 * unless it exists (create-if-absent by the run's id) and commits the marker. A claimer it cannot
 * judge (another host or container) gets `CLAIM_GRACE_MS` first.
 * The marker outlives the job, so a run whose job was already removed by retention is never
 * created again.
 */
import type { Job } from '../job.js';
import type { JobsOptions } from '../types.js';
import { claimerGone, thisClaimer } from './claimer.js';
import type { SchedulerHost } from './host.js';
import { claimMarker, commitMarker, deleteMarker, listMarkerMillis, readMarker, readScheduler, tickJobId } from './store.js';
import type { StoredScheduler, TickMarker } from './types.js';

/** How long a claimed marker may stay uncommitted before another pass finishes its work. */
export const CLAIM_GRACE_MS = 15_000;

/** What happened to one attempt to enqueue a run. */
export type TickOutcome =
  | { outcome: 'added' | 'existing'; job: Job; marker: TickMarker }
  | { outcome: 'lost' | 'abandoned' };

/** Claims, adds and commits the run at `millis`. */
export async function enqueueTick(host: SchedulerHost, dir: string, def: StoredScheduler, millis: number, iteration: number, skipped: number, skippedTotal: number): Promise<TickOutcome> {
  const marker: TickMarker = {
    schedulerId: def.id,
    generation: def.generation,
    millis,
    jobId: tickJobId(def.id, millis),
    iteration,
    skipped,
    skippedTotal,
    phase: 'claimed',
    claimedAt: host.now(),
    claimer: thisClaimer(),
  };
  let claimed: boolean;
  try {
    claimed = await claimMarker(dir, marker);
    // A marker an older definition's upsert was taking back when it was killed (api.ts): once its
    // job is gone, its run never ran, so it goes. Any other marker of this time stands: its run
    // may have started, or run and been removed, since the upsert looked.
    if (!claimed) {
      const left = await readMarker(dir, millis);
      if (left && left.generation < def.generation && left.phase === 'withdrawn' && !(await lookupJob(host, left.jobId))) {
        await deleteMarker(dir, millis);
        claimed = await claimMarker(dir, marker);
      }
    }
  } catch (err) {
    // The scheduler directory vanished: it was removed while this pass ran.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { outcome: 'abandoned' };
    throw err;
  }
  if (!claimed) return { outcome: 'lost' };
  if (await passedBy(dir, def.generation, millis)) {
    await deleteMarker(dir, millis);
    return { outcome: 'abandoned' };
  }
  const current = await readScheduler(dir);
  if (current === undefined || current.generation !== def.generation) {
    await deleteMarker(dir, millis);
    return { outcome: 'abandoned' };
  }
  return finishTick(host, dir, def, marker);
}

/** True when a `claimed` marker may be finished by another pass now: its claimer is gone or the grace ran out. */
export function claimAbandoned(marker: TickMarker, now: number): boolean {
  return now - marker.claimedAt >= CLAIM_GRACE_MS || claimerGone(marker.claimer);
}

/** Adds the job of a claimed marker (again, if need be) and commits the marker. */
export async function finishTick(host: SchedulerHost, dir: string, def: StoredScheduler, marker: TickMarker): Promise<TickOutcome> {
  const { added, job } = await addTickJob(host, def, marker);
  try {
    await commitMarker(dir, marker);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  // Removed or redefined while the job was being added: take back the run if it has not started,
  // and its marker, which the commit may have re-made after the redefinition dropped it (a
  // future marker of a dead generation would hold back the new schedule's passes).
  const current = await readScheduler(dir);
  if (current === undefined || current.generation !== def.generation) {
    await removePendingJob(host, marker.jobId);
    await deleteMarker(dir, marker.millis);
  }
  return { outcome: added ? 'added' : 'existing', job, marker: { ...marker, phase: 'enqueued' } };
}

/**
 * Adds the job for a marker through the host, with the options BullMQ gives scheduler jobs:
 * the template's options, the run's id and delay, `repeatJobKey` (the scheduler id) and
 * `prevMillis` (the run's time). BullMQ's internal `opts.repeat` is left out: `add` refuses it.
 */
export async function addTickJob(host: SchedulerHost, def: StoredScheduler, marker: TickMarker): Promise<{ added: boolean; job: Job }> {
  const opts: JobsOptions & { jobId: string } = {
    ...(structuredClone(def.template.opts) as JobsOptions),
    jobId: marker.jobId,
    delay: Math.max(0, marker.millis - host.now()),
    repeatJobKey: def.id,
    prevMillis: marker.millis,
  };
  return host.addReservedJob(def.name, structuredClone(def.template.data), opts);
}

/**
 * Removes a run's job if it has not started yet (delayed, waiting or prioritized, and no attempt
 * of it ever began), when the host can look jobs up. A run waiting to retry, put back after it
 * stalled, or retried by hand has started: it is left to finish, as BullMQ leaves it. True when a
 * job was removed.
 */
export async function removePendingJob(host: SchedulerHost, jobId: string, states: readonly string[] = PENDING_STATES, opts: { quiet?: boolean } = {}): Promise<boolean> {
  const job = (await lookupJob(host, jobId)) as (Partial<RemovableJob> & StartedSigns) | undefined;
  if (job && hasStarted(job)) return false;
  if (host.removeReservedJob) return host.removeReservedJob(jobId, states, opts);
  if (!job || typeof job.getState !== 'function' || typeof job.remove !== 'function') return false;
  const state = await job.getState();
  if (!states.includes(state)) return false;
  try {
    await job.remove();
    return true;
  } catch {
    // Claimed by a worker between the two calls: it runs, as BullMQ would let it.
    return false;
  }
}

/** True when the run's job exists and has not started (so a redefinition may take it back). */
export async function isPendingRun(host: SchedulerHost, jobId: string): Promise<boolean> {
  // A host that cannot look jobs up: its removeReservedJob judges the state when taking it back.
  if (typeof (host as Partial<JobLookup>).getJob !== 'function') return host.removeReservedJob !== undefined;
  const job = (await lookupJob(host, jobId)) as (Partial<RemovableJob> & StartedSigns) | undefined;
  if (!job || hasStarted(job) || typeof job.getState !== 'function') return false;
  return PENDING_STATES.includes(await job.getState());
}

/** What a job records once an attempt of it began. */
interface StartedSigns {
  attemptsMade?: number;
  attemptsStarted?: number;
  stalledCounter?: number;
  processedOn?: number;
  finishedOn?: number;
}

function hasStarted(job: StartedSigns): boolean {
  return (job.attemptsMade ?? 0) > 0 || (job.attemptsStarted ?? 0) > 0 || (job.stalledCounter ?? 0) > 0 || (job.processedOn ?? 0) > 0 || (job.finishedOn ?? 0) > 0;
}

/** States in which a run has not started and may be taken back. */
export const PENDING_STATES: readonly string[] = ['delayed', 'waiting', 'wait', 'prioritized'];

/** The Queue's `getJob`, which the scheduler uses when the host has it. */
interface JobLookup {
  getJob(jobId: string): Promise<unknown>;
}

interface RemovableJob {
  getState(): Promise<string>;
  remove(): Promise<void>;
}

async function passedBy(dir: string, generation: number, millis: number): Promise<boolean> {
  const newer = (await listMarkerMillis(dir)).filter((m) => m > millis);
  for (const m of newer) {
    const marker = await readMarker(dir, m);
    if (marker && marker.generation === generation) return true;
  }
  return false;
}

/** The job `jobId` through the host's `getJob` (the Queue has it), or undefined. */
export async function lookupJob(host: SchedulerHost, jobId: string): Promise<unknown> {
  const getJob = (host as Partial<JobLookup>).getJob;
  return typeof getJob === 'function' ? getJob.call(host, jobId) : undefined;
}
