/**
 * The Queue's job-scheduler methods (`upsertJobScheduler`, `getJobScheduler`, `getJobSchedulers`,
 * `getJobSchedulersCount`, `removeJobScheduler`), as functions of a {@link SchedulerHost}.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Job } from '../job.js';
import type { SchedulerHost } from './host.js';
import { advanceScheduler, latestOfGeneration } from './pass.js';
import { firstRun, localTimeZone, nextRunAfter, scheduleOf } from './schedule.js';
import { deleteMarker, listMarkerMillis, listSchedulerDirs, readMarker, readScheduler, removeSchedulerDir, schedulerDir, setMarkerPhase, withSchedulerLock, writeScheduler } from './store.js';
import { addTickJob, isPendingRun, lookupJob, PENDING_STATES, removePendingJob } from './tick.js';
import type { JobSchedulerJson, JobSchedulerTemplate, RepeatOptions, ScheduleSpec, StoredScheduler, TickMarker } from './types.js';
import { normalizeRepeatOptions, normalizeTemplate, validateSchedulerId } from './validate.js';

/**
 * Creates or updates the scheduler `id` and resolves the job of its first run (or of its pending
 * run, when an identical definition was already stored: calling this at every boot changes
 * nothing). A changed definition takes back the pending run if it has not started and starts the
 * new schedule; for `every`, an unchanged interval keeps its time slot, as BullMQ does.
 *
 * Resolves `undefined` (as BullMQ does at run time) when the schedule has no run left to enqueue,
 * for instance when `limit` runs were already enqueued.
 */
export async function upsertJobScheduler(host: SchedulerHost, id: string, repeatOpts: Omit<RepeatOptions, 'key'>, template?: JobSchedulerTemplate): Promise<Job> {
  validateSchedulerId(id);
  const now = host.now();
  const spec = normalizeRepeatOptions(repeatOpts as RepeatOptions, now);
  const tpl = normalizeTemplate(id, template);
  const fingerprint = canonicalJson({ spec, name: tpl.name, data: tpl.data, opts: tpl.opts });
  return withSchedulerLock(host, id, () => upsertLocked(host, id, spec, tpl, fingerprint));
}

async function upsertLocked(host: SchedulerHost, id: string, spec: ScheduleSpec, tpl: ReturnType<typeof normalizeTemplate>, fingerprint: string): Promise<Job> {
  const now = host.now();
  const dir = schedulerDir(host, id);
  const existing = await readScheduler(dir);

  if (existing !== undefined && existing.fingerprint === fingerprint) {
    const r = await advanceScheduler(host, dir, existing);
    // The pending run due now, as BullMQ returns its waiting job; else the run kept ahead.
    const due = await pendingDueRun(host, dir, existing.generation, host.now());
    if (due !== undefined) return due;
    if (r.added[0] !== undefined) return r.added[0];
    if (r.latest !== undefined && r.latest.millis > host.now()) {
      // A committed run's job is there, or it already ran (promoted early) and is gone: never
      // enqueued again. Only a run whose add may not have finished is added (create-if-absent).
      if (r.latest.phase === 'enqueued') return (await lookupJob(host, r.latest.jobId)) as Job;
      return (await addTickJob(host, existing, r.latest)).job;
    }
    return undefined as unknown as Job;
  }

  const generation = (existing?.generation ?? 0) + 1;
  const zone = spec.pattern !== undefined && spec.tz === undefined ? localTimeZone() : undefined;
  let first = firstRun(scheduleOf({ spec, zone }), now);
  // Every run of the old definition that has not started is taken back (the run due now as well
  // as the run kept ahead), quietly, as BullMQ replaces its pending job without a `removed` event.
  // They are only found here; they are taken back once the new definition is written, so a
  // process killed in between leaves them to run under the old one rather than losing them.
  const pending = existing ? await pendingRunsOf(host, dir, existing.generation) : [];
  const duePending = pending.filter((m) => m.millis <= now);
  if (existing && keepsEverySlot(existing, spec) && pending.length > 0) {
    // Same interval: the new definition keeps the old one's slot instead of firing at once
    // (BullMQ's rule): a run that was due runs now under the new definition; otherwise the run
    // ahead keeps its time.
    const slot = duePending.length > 0 ? Math.min(...duePending.map((m) => m.millis)) : pending[0]!.millis;
    first = { firstTickMs: slot, anchorMs: existing.anchorMs };
  }
  const def: StoredScheduler = {
    format: 1,
    id,
    name: tpl.name,
    generation,
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
    spec,
    ...(first.anchorMs !== undefined ? { anchorMs: first.anchorMs } : {}),
    ...(zone !== undefined ? { zone } : {}),
    firstTickMs: first.firstTickMs,
    template: { data: tpl.data, opts: tpl.opts },
    fingerprint,
  };
  await writeScheduler(dir, def);
  if (existing) {
    // A run taken back never ran: once its job is gone its marker goes, so the new definition may
    // run that time. The marker says `withdrawn` while the job goes: a process killed in between
    // leaves one the new definition's claim of that time replaces (tick.ts). A run that started
    // since it was found stands, marker and all, so its time does not run twice.
    for (const m of pending) {
      const marker = await readMarker(dir, m.millis);
      // Replaced meanwhile by the new definition's claim (another process): its run stands.
      if (marker?.generation === existing.generation) await takeBackRun(host, dir, marker);
    }
    await dropFutureMarkers(host, dir, generation, now);
  }
  const r = await advanceScheduler(host, dir, def);
  return (r.added[0] ?? (r.latest && r.latest.millis > host.now() ? (await addTickJob(host, def, r.latest)).job : undefined)) as Job;
}

/** The scheduler `id` in BullMQ's `JobSchedulerJson` shape, or undefined. */
export async function getJobScheduler(host: SchedulerHost, id: string): Promise<JobSchedulerJson | undefined> {
  const dir = schedulerDir(host, id);
  const def = await readScheduler(dir);
  if (def === undefined) return undefined;
  return toJson(def, await latestOfGeneration(dir, await listMarkerMillis(dir), def.generation));
}

/**
 * Schedulers ordered by their next run (descending unless `asc`), then sliced like Redis
 * `ZRANGE start end` (inclusive; negative indexes count from the end; `end = -1` is the last).
 */
export async function getJobSchedulers(host: SchedulerHost, start = 0, end = -1, asc = false): Promise<JobSchedulerJson[]> {
  const all: JobSchedulerJson[] = [];
  for (const dir of await listSchedulerDirs(host)) {
    const def = await readScheduler(dir);
    if (def === undefined) continue;
    all.push(toJson(def, await latestOfGeneration(dir, await listMarkerMillis(dir), def.generation)));
  }
  all.sort((a, b) => {
    const d = (a.next ?? 0) - (b.next ?? 0);
    const cmp = d !== 0 ? d : a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
    return asc ? cmp : -cmp;
  });
  const n = all.length;
  const from = start < 0 ? Math.max(0, n + start) : start;
  const to = end < 0 ? n + end : Math.min(end, n - 1);
  return from > to ? [] : all.slice(from, to + 1);
}

/** How many schedulers the queue has. */
export async function getJobSchedulersCount(host: SchedulerHost): Promise<number> {
  let count = 0;
  for (const dir of await listSchedulerDirs(host)) if (existsSync(join(dir, 'scheduler.json'))) count += 1;
  return count;
}

/**
 * Removes the scheduler `id` and its pending run, if that run is still delayed (as BullMQ does).
 * Resolves true when the scheduler existed.
 */
export async function removeJobScheduler(host: SchedulerHost, id: string): Promise<boolean> {
  const dir = schedulerDir(host, id);
  const def = await readScheduler(dir);
  const latest = def ? await latestOfGeneration(dir, await listMarkerMillis(dir), def.generation) : undefined;
  const removed = await removeSchedulerDir(host, id);
  if (latest) await removePendingJob(host, latest.jobId, ['delayed']);
  return removed;
}

/** BullMQ's JSON shape for a stored scheduler and its newest run marker. */
export function toJson(def: StoredScheduler, latest: TickMarker | undefined): JobSchedulerJson {
  const out: JobSchedulerJson = { key: def.id, name: def.name };
  const next = latest?.millis ?? def.firstTickMs;
  if (next !== null && next !== undefined) out.next = next;
  if (latest) out.iterationCount = latest.iteration;
  const { spec } = def;
  if (spec.limit !== undefined) out.limit = spec.limit;
  if (spec.startDate !== undefined) out.startDate = spec.startDate;
  if (spec.endDate !== undefined) out.endDate = spec.endDate;
  if (spec.tz !== undefined) out.tz = spec.tz;
  if (spec.pattern !== undefined) out.pattern = spec.pattern;
  if (spec.every !== undefined) out.every = spec.every;
  if (spec.every !== undefined && def.anchorMs !== undefined && def.anchorMs !== 0) out.offset = def.anchorMs;
  // BullMQ lists offset 0 for a pattern scheduler (it has no grid offset).
  if (spec.pattern !== undefined) out.offset = 0;
  const hasData = canonicalJson(def.template.data) !== '{}';
  const hasOpts = Object.keys(def.template.opts).length > 0;
  if (hasData || hasOpts) {
    out.template = {};
    if (hasData) out.template.data = def.template.data;
    if (hasOpts) out.template.opts = def.template.opts;
  }
  out.skippedCount = latest?.skippedTotal ?? 0;
  out.done = isDone(def, latest);
  return out;
}

function isDone(def: StoredScheduler, latest: TickMarker | undefined): boolean {
  if (latest === undefined) return def.firstTickMs === null;
  if (def.spec.limit !== undefined && latest.iteration >= def.spec.limit) return true;
  return nextRunAfter(scheduleOf(def), latest.millis) === null;
}

function keepsEverySlot(existing: StoredScheduler, spec: StoredScheduler['spec']): boolean {
  return (
    existing.spec.every !== undefined &&
    existing.spec.every === spec.every &&
    existing.spec.offset === spec.offset &&
    existing.spec.startDate === spec.startDate &&
    existing.anchorMs !== undefined
  );
}

/** The oldest run of `generation` that is due by `now` and has not started, or undefined. */
async function pendingDueRun(host: SchedulerHost, dir: string, generation: number, now: number): Promise<Job | undefined> {
  for (const millis of await listMarkerMillis(dir)) {
    if (millis > now) break;
    const marker = await readMarker(dir, millis);
    if (marker === undefined || marker.generation !== generation || !(await isPendingRun(host, marker.jobId))) continue;
    const job = (await lookupJob(host, marker.jobId)) as Job | undefined;
    if (job !== undefined) return job;
  }
  return undefined;
}

/** The runs of `generation` that have not started, newest first. */
async function pendingRunsOf(host: SchedulerHost, dir: string, generation: number): Promise<TickMarker[]> {
  const pending: TickMarker[] = [];
  for (const millis of (await listMarkerMillis(dir)).reverse()) {
    const marker = await readMarker(dir, millis);
    if (marker === undefined || marker.generation !== generation) continue;
    if (await isPendingRun(host, marker.jobId)) pending.push(marker);
  }
  return pending;
}

/** After a redefinition: markers of older generations for runs still ahead are dropped, with their jobs if not started. */
async function dropFutureMarkers(host: SchedulerHost, dir: string, generation: number, now: number): Promise<void> {
  for (const millis of await listMarkerMillis(dir)) {
    if (millis <= now) continue;
    const marker = await readMarker(dir, millis);
    if (marker === undefined || marker.generation >= generation) continue;
    await takeBackRun(host, dir, marker);
  }
}

/**
 * Takes a run of an older definition back: its job, if it has not started, then its marker. The
 * marker says `withdrawn` while the job goes (a process killed in between leaves one the new
 * definition's claim of that time replaces once the job is gone: tick.ts); a run that started
 * meanwhile keeps its marker as it was, so its time is not run again.
 */
async function takeBackRun(host: SchedulerHost, dir: string, marker: TickMarker): Promise<void> {
  await setMarkerPhase(dir, marker, 'withdrawn');
  if (await removePendingJob(host, marker.jobId, PENDING_STATES, { quiet: true })) await deleteMarker(dir, marker.millis);
  else {
    // Left as it was, unless its claimer committed it meanwhile.
    const now = await readMarker(dir, marker.millis);
    if (now?.phase === 'withdrawn' && now.generation === marker.generation) await setMarkerPhase(dir, marker, marker.phase);
  }
}

/** JSON with object keys sorted, so equal values give equal strings. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value as Record<string, unknown>).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}
