/**
 * A scheduler pass: for every scheduler of a queue, make sure the next run is enqueued.
 *
 * Each scheduler keeps one run ahead: as soon as its most recent run is due, the pass enqueues
 * the following one as a delayed job (BullMQ keeps one delayed job per scheduler the same way).
 *
 * Missed runs. When a pass finds that more than one run fell due since the most recent enqueued
 * run (nothing ran a pass meanwhile: every process was stopped, or the only worker was blocked),
 * it enqueues only the LATEST of those runs, once, due at once, and records how many older ones
 * it skipped (on the run's marker, in `getJobScheduler().skippedCount`, and in the pass result).
 * The run that was already enqueued before the stop is an ordinary delayed job and runs too.
 */
import { basename } from 'node:path';
import type { Job } from '../job.js';
import { DEFAULT_RESCAN_MS } from './defaults.js';
import type { SchedulerHost } from './host.js';
import { schedulerIdOfDirName } from './presence.js';
import { countRunsBetween, latestRunAtOrBefore, nextRunAfter, scheduleOf } from './schedule.js';
import { deleteMarker, KEPT_MARKERS, listMarkerMillis, listSchedulerDirs, pruneMarkers, readMarker, readScheduler } from './store.js';
import { CLAIM_GRACE_MS, claimAbandoned, enqueueTick, finishTick, removePendingJob } from './tick.js';
import type { StoredScheduler, TickMarker } from './types.js';

/** What one pass did. */
export interface SchedulerPassResult {
  /**
   * When the next pass is wanted (ms since the epoch): the earliest `nextRunMs`, and no later than
   * `rescanMs` from now, so schedulers upserted by another process are picked up promptly by
   * callers (Workers) that only pass again when this comes due.
   */
  nextDueMs: number | null;
  /** When the earliest scheduler next needs a pass to enqueue a run; null when none does. */
  nextRunMs: number | null;
  /** Job ids this pass added. */
  enqueued: string[];
  /** Runs skipped because they fell due while nothing ran, per scheduler id. */
  skipped: Record<string, number>;
  /** Schedulers this pass could not handle (for example an unreadable definition), with the error. */
  problems: { schedulerId: string; error: unknown }[];
}

/** The outcome of advancing one scheduler. */
export interface AdvanceResult {
  nextDueMs: number | null;
  /** Jobs this call added, oldest first. */
  added: Job[];
  skipped: number;
  /** The most recent marker of the current generation after the call. */
  latest: TickMarker | undefined;
}

/** Most loop rounds per scheduler and pass: a catch-up run plus the run ahead, with room for races. */
const MAX_ROUNDS = 6;

/** Shortest wait before looking again at a run another pass has claimed and not yet committed. */
const CLAIM_RECHECK_MIN_MS = 20;

/** When rounds run out while racing other replicas, the next pass is wanted this much later. */
const RETRY_AFTER_MS = 1000;

/** Options of {@link runSchedulerPass}. */
export interface SchedulerPassOptions {
  /** Longest time until the next pass that `nextDueMs` asks for (default 1000 ms); `Infinity` for none. */
  rescanMs?: number;
}

/** Runs one pass over every scheduler of the host's queue. */
export async function runSchedulerPass(host: SchedulerHost, opts: SchedulerPassOptions = {}): Promise<SchedulerPassResult> {
  const result: SchedulerPassResult = { nextDueMs: null, nextRunMs: null, enqueued: [], skipped: {}, problems: [] };
  for (const dir of await listSchedulerDirs(host)) {
    let def: StoredScheduler | undefined;
    try {
      // Fast path: the newest run of the current definition is still ahead, so there is nothing
      // to do until it is due.
      const newest = (await listMarkerMillis(dir)).at(-1);
      def = await readScheduler(dir);
      if (def === undefined) continue;
      if (newest !== undefined && newest > host.now()) {
        const marker = await readMarker(dir, newest);
        // A claim whose claimer died is finished now, before its job can come due and run.
        if (marker !== undefined && marker.generation === def.generation && (marker.phase === 'enqueued' || !claimAbandoned(marker, host.now()))) {
          const due = marker.phase === 'claimed' ? Math.min(newest, marker.claimedAt + CLAIM_GRACE_MS) : newest;
          if (result.nextRunMs === null || due < result.nextRunMs) result.nextRunMs = due;
          continue;
        }
        // A run ahead left by an older definition (a redefinition raced a pass): it is dead.
        if (marker !== undefined && marker.generation < def.generation) {
          await removePendingJob(host, marker.jobId);
          await deleteMarker(dir, newest);
        }
      }
      const r = await advanceScheduler(host, dir, def);
      for (const job of r.added) if (job.id !== undefined) result.enqueued.push(String(job.id));
      if (r.skipped > 0) result.skipped[def.id] = r.skipped;
      if (r.nextDueMs !== null && (result.nextRunMs === null || r.nextDueMs < result.nextRunMs)) result.nextRunMs = r.nextDueMs;
    } catch (err) {
      result.problems.push({ schedulerId: def?.id ?? schedulerIdOfDirName(basename(dir)), error: err });
    }
  }
  const rescanMs = opts.rescanMs ?? DEFAULT_RESCAN_MS;
  const rescanAt = Number.isFinite(rescanMs) ? host.now() + rescanMs : null;
  result.nextDueMs = result.nextRunMs === null ? rescanAt : rescanAt === null ? result.nextRunMs : Math.min(result.nextRunMs, rescanAt);
  return result;
}

/** Enqueues what is due for one scheduler and says when it next needs a pass. */
export async function advanceScheduler(host: SchedulerHost, dir: string, def: StoredScheduler): Promise<AdvanceResult> {
  const out: AdvanceResult = { nextDueMs: null, added: [], skipped: 0, latest: undefined };
  let raced = false;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const now = host.now();
    const millis = await listMarkerMillis(dir);
    if (millis.length > KEPT_MARKERS * 2) await pruneMarkers(dir, millis);
    const latest = await latestOfGeneration(dir, millis, def.generation);
    out.latest = latest;
    let candidate: number | null;
    let iteration: number;
    if (latest === undefined) {
      candidate = def.firstTickMs;
      iteration = 1;
    } else {
      if (latest.phase === 'claimed') {
        const age = now - latest.claimedAt;
        if (!claimAbandoned(latest, now)) {
          // Another pass is adding this run now. Look again when the run is due, or, if it is
          // due already, after a wait that doubles with the claim's age (a sub-second schedule
          // must not stall for the whole grace); finish the claimer's work once it is known to
          // be gone, or after the grace.
          const again = Math.max(latest.millis, now + Math.max(CLAIM_RECHECK_MIN_MS, age));
          out.nextDueMs = Math.min(latest.claimedAt + CLAIM_GRACE_MS, again);
          return out;
        }
        await finishTick(host, dir, def, latest);
        continue;
      }
      if (latest.millis > now) {
        out.nextDueMs = latest.millis;
        return out;
      }
      if (def.spec.limit !== undefined && latest.iteration >= def.spec.limit) return out;
      candidate = nextRunAfter(scheduleOf(def), latest.millis);
      iteration = latest.iteration + 1;
    }
    if (candidate === null) return out;
    let tick = candidate;
    let skipped = 0;
    if (candidate <= now) {
      tick = latestRunAtOrBefore(scheduleOf(def), candidate, now);
      skipped = countRunsBetween(scheduleOf(def), candidate, tick);
    }
    const r = await enqueueTick(host, dir, def, tick, iteration, skipped, (latest?.skippedTotal ?? 0) + skipped);
    if (r.outcome === 'added' || r.outcome === 'existing') {
      if (r.outcome === 'added') out.added.push(r.job);
      out.skipped += skipped;
      out.latest = r.marker;
    }
    if (r.outcome === 'lost' || r.outcome === 'abandoned') raced = true;
    if (r.outcome === 'abandoned') {
      const current = await readScheduler(dir);
      if (current === undefined) return out;
      def = current;
    }
    // Loop: the run just handled may itself be due, and then the one after it is enqueued.
  }
  // Rounds ran out. Still racing other replicas: ask for another pass shortly. Only catching up
  // (a sub-second `every` whose runs fell due while this pass ran): ask for one at once.
  out.nextDueMs = host.now() + (raced ? RETRY_AFTER_MS : 0);
  return out;
}

/** The newest marker made by `generation`, reading from the newest down. */
export async function latestOfGeneration(dir: string, millis: number[], generation: number): Promise<TickMarker | undefined> {
  for (let i = millis.length - 1; i >= 0; i--) {
    const marker = await readMarker(dir, millis[i] as number);
    if (marker !== undefined && marker.generation === generation) return marker;
  }
  return undefined;
}
