/**
 * Run-time arithmetic for job schedulers. Pure functions of the schedule and a clock reading, so
 * every replica that looks at the same stored scheduler computes the same run times.
 *
 * A schedule's runs form a strictly increasing sequence:
 * - `every`: `anchor + k * every`, starting at the first run (which is on that grid);
 * - `pattern`: the first run (now, with `immediately`), then the cron pattern's instants after it.
 * `startDate` removes runs before it; `endDate` ends the sequence; `limit` is counted elsewhere.
 */
import { CronExpressionParser } from 'cron-parser';
import type { ScheduleSpec, StoredScheduler } from './types.js';

/**
 * The time zone a pattern without `tz` follows: this process's local zone, as with BullMQ
 * (cron-parser's default). It is fixed at upsert and stored, so replicas in containers with
 * other zones still agree on every run.
 */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** The schedule of a stored scheduler for arithmetic: its spec, with the stored zone filled in. */
export function scheduleOf(def: Pick<StoredScheduler, 'spec' | 'zone'>): ScheduleSpec {
  return def.spec.tz === undefined && def.zone !== undefined && def.spec.pattern !== undefined ? { ...def.spec, tz: def.zone } : def.spec;
}

/** The first run of a new (or redefined) scheduler and, for `every`, the grid anchor. */
export interface FirstRun {
  /** null when the schedule has no run at all before its endDate. */
  firstTickMs: number | null;
  anchorMs?: number;
}

/**
 * The first run, as BullMQ computes it at upsert:
 * - `every`: at once; with `startDate`, at `max(startDate, now)` (an `offset` is then ignored,
 *   as BullMQ ignores it); with `offset` alone, at the next instant `t > now` with
 *   `t % every === offset`.
 * - `pattern`: the first instant of the pattern at or after `max(now, startDate)` (strictly after
 *   now); with `immediately`, now.
 */
export function firstRun(spec: ScheduleSpec, now: number): FirstRun {
  if (spec.every !== undefined) {
    const every = spec.every;
    let first: number;
    if (spec.startDate !== undefined) {
      // As in BullMQ, a startDate wins over an offset: the grid follows the first run.
      first = Math.max(spec.startDate, now);
    } else if (spec.offset !== undefined) {
      first = Math.floor(now / every) * every + spec.offset;
      if (first <= now) first += every;
    } else {
      first = now;
    }
    const anchorMs = spec.offset !== undefined && spec.startDate === undefined ? spec.offset : mod(first, every);
    return { firstTickMs: withinEnd(spec, first), anchorMs };
  }
  if (spec.immediately) return { firstTickMs: withinEnd(spec, Math.max(now, spec.startDate ?? now)) };
  const from = spec.startDate !== undefined && spec.startDate > now ? spec.startDate - 1 : now;
  return { firstTickMs: withinEnd(spec, cronNext(spec, from)) };
}

/** The run after `millis` in the sequence, or null when the schedule has ended. */
export function nextRunAfter(spec: ScheduleSpec, millis: number): number | null {
  if (spec.every !== undefined) return withinEnd(spec, millis + spec.every);
  return withinEnd(spec, cronNext(spec, millis));
}

/**
 * The latest run at or before `now`, given that `from` (a run of the sequence) is at or before
 * `now`. Used to collapse runs that fell due while nothing ran.
 */
export function latestRunAtOrBefore(spec: ScheduleSpec, from: number, now: number): number {
  if (now <= from) return from;
  if (spec.every !== undefined) {
    const candidate = from + Math.floor((now - from) / spec.every) * spec.every;
    return spec.endDate !== undefined && candidate > spec.endDate ? lastEveryRunBefore(spec, from, spec.endDate) : candidate;
  }
  const limitMs = spec.endDate !== undefined ? Math.min(now, spec.endDate) : now;
  const prev = cronPrevAtOrBefore(spec, limitMs);
  return prev !== null && prev > from ? prev : from;
}

/**
 * How many runs lie in `[from, to)`, counting at most `cap` (the result is then `cap`).
 * `from` and `to` are runs of the sequence.
 */
export function countRunsBetween(spec: ScheduleSpec, from: number, to: number, cap = 100_000): number {
  if (to <= from) return 0;
  if (spec.every !== undefined) return Math.min(cap, Math.round((to - from) / spec.every));
  let count = 0;
  let t: number | null = from;
  while (t !== null && t < to && count < cap) {
    count += 1;
    t = cronNext(spec, t);
  }
  return count;
}

function withinEnd(spec: ScheduleSpec, millis: number | null): number | null {
  if (millis === null) return null;
  if (spec.endDate !== undefined && millis > spec.endDate) return null;
  return millis;
}

function lastEveryRunBefore(spec: ScheduleSpec, from: number, end: number): number {
  const every = spec.every as number;
  return from + Math.floor((end - from) / every) * every;
}

/** First instant of the pattern strictly after `after`. */
function cronNext(spec: ScheduleSpec, after: number): number | null {
  try {
    const expr = CronExpressionParser.parse(spec.pattern as string, { currentDate: new Date(after), tz: spec.tz ?? 'UTC' });
    return expr.next().getTime();
  } catch {
    return null;
  }
}

/** Latest instant of the pattern at or before `at`. */
function cronPrevAtOrBefore(spec: ScheduleSpec, at: number): number | null {
  try {
    const expr = CronExpressionParser.parse(spec.pattern as string, { currentDate: new Date(at + 1), tz: spec.tz ?? 'UTC' });
    return expr.prev().getTime();
  } catch {
    return null;
  }
}

function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}
