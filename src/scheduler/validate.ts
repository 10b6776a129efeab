import { CronExpressionParser } from 'cron-parser';
import { ConfigError } from '../errors.js';
import type { JobSchedulerTemplate, JobSchedulerTemplateOptions, RepeatOptions, ScheduleSpec } from './types.js';
import { validateJobOptions, withoutUnsetOptions } from '../spool/job-options.js';
import { toJsonStrict } from '../spool/validate.js';
import type { JobsOptions } from '../types.js';

/**
 * Longest scheduler id accepted, in UTF-8 bytes: every run's job id `repeat:<id>:<13-digit ms>`
 * must fit the spool's 200-byte job id limit.
 */
export const MAX_SCHEDULER_ID_BYTES = 200 - 'repeat:'.length - ':'.length - 13;

/** Template options the scheduler sets itself; a template that sets them is refused. */
const FORBIDDEN_TEMPLATE_OPTIONS: Record<string, string> = {
  jobId: 'each run gets the id repeat:<schedulerId>:<millis>; remove jobId from the template',
  delay: 'the schedule decides when each run is due; use startDate, offset or the pattern instead of delay',
  deduplication: 'each run already has a unique id; remove deduplication from the template',
  repeat: 'pass the schedule as the second argument of upsertJobScheduler, not as template.opts.repeat',
  debounce: 'debounce was removed in BullMQ v5; remove it from the template',
  parent: 'scheduled jobs cannot belong to a flow; remove parent from the template',
};

/** Refuses scheduler ids that cannot be stored safely; the message names the rule broken. */
export function validateSchedulerId(id: unknown): string {
  if (typeof id !== 'string' || id.length === 0) {
    throw new ConfigError(`A job scheduler id must be a non-empty string; got ${describe(id)}. Pass an id such as 'nightly-report'.`);
  }
  const bytes = Buffer.byteLength(id);
  if (bytes > MAX_SCHEDULER_ID_BYTES) {
    throw new ConfigError(`The job scheduler id "${id.slice(0, 40)}..." is ${bytes} bytes long; use at most ${MAX_SCHEDULER_ID_BYTES} (its runs' job ids must fit 200 bytes).`);
  }
  if (id === '.' || id.includes('..') || /[/\\]/.test(id) || hasControlChar(id)) {
    throw new ConfigError(`The job scheduler id "${printable(id)}" contains a path separator, '..' or a control character, or is "."; use letters, digits, '-', '_', ':' or '.'.`);
  }
  return id;
}

/**
 * Checks repeat options as BullMQ does (and a little more) and returns them normalized.
 * `now` decides whether `endDate` is in the past.
 */
export function normalizeRepeatOptions(repeat: RepeatOptions | undefined, now: number): ScheduleSpec {
  if (repeat === null || typeof repeat !== 'object') {
    throw new ConfigError(`upsertJobScheduler needs repeat options such as { every: 60000 } or { pattern: '0 * * * *' }; got ${describe(repeat)}.`);
  }
  if (repeat.key !== undefined) {
    throw new ConfigError('repeat.key belongs to legacy repeatable jobs; the scheduler id (first argument of upsertJobScheduler) is the key. Remove repeat.key.');
  }
  const { pattern, every } = repeat;
  if (pattern !== undefined && every !== undefined) {
    throw new ConfigError('Both .pattern and .every options are defined for this repeatable job; keep exactly one of them.');
  }
  if (pattern === undefined && every === undefined) {
    throw new ConfigError('Either .pattern or .every options must be defined for this repeatable job, e.g. { every: 60000 } or { pattern: "0 */5 * * * *" }.');
  }
  if (repeat.immediately && repeat.startDate != null) {
    throw new ConfigError('Both .immediately and .startDate options are defined for this repeatable job; drop one (immediately runs now, startDate runs no earlier than that date).');
  }
  const spec: ScheduleSpec = {};
  if (every !== undefined) {
    if (typeof every !== 'number' || !Number.isInteger(every) || every < 1) {
      throw new ConfigError(`repeat.every must be a whole number of milliseconds, at least 1; got ${describe(every)}.`);
    }
    if (now + every > MAX_DATE_MS) {
      throw new ConfigError(`repeat.every of ${every} ms puts the next run after ${new Date(MAX_DATE_MS).toISOString()}, past the 13-digit ms that run ids carry; use a shorter interval.`);
    }
    spec.every = every;
    if (repeat.offset !== undefined) {
      if (typeof repeat.offset !== 'number' || !Number.isInteger(repeat.offset) || repeat.offset < 0) {
        throw new ConfigError(`repeat.offset must be a whole number of milliseconds, 0 or more; got ${describe(repeat.offset)}.`);
      }
      if (repeat.offset > 0) spec.offset = repeat.offset % every;
    }
  }
  if (pattern !== undefined) {
    spec.pattern = validatePattern(pattern);
  }
  if (repeat.tz !== undefined) {
    spec.tz = validateTimeZone(repeat.tz);
  }
  if (repeat.limit !== undefined) {
    if (typeof repeat.limit !== 'number' || !Number.isInteger(repeat.limit) || repeat.limit < 1) {
      throw new ConfigError(`repeat.limit must be a whole number, at least 1; got ${describe(repeat.limit)}. Remove it for no limit.`);
    }
    spec.limit = repeat.limit;
  }
  // null dates are none, as in BullMQ (which tests them for truth).
  if (repeat.startDate != null) spec.startDate = toMillis(repeat.startDate, 'startDate');
  if (repeat.endDate != null) {
    spec.endDate = toMillis(repeat.endDate, 'endDate');
    if (spec.endDate < now) {
      throw new ConfigError(`repeat.endDate (${new Date(spec.endDate).toISOString()}) is in the past; pass a future endDate, or remove the scheduler with removeJobScheduler.`);
    }
    if (spec.startDate !== undefined && spec.endDate < spec.startDate) {
      throw new ConfigError(`repeat.endDate (${new Date(spec.endDate).toISOString()}) is before repeat.startDate (${new Date(spec.startDate).toISOString()}); swap or fix them.`);
    }
  }
  if (repeat.immediately === true && spec.pattern !== undefined) spec.immediately = true;
  return spec;
}

/** Checks a cron pattern: 5 or 6 fields (or an @alias) that cron-parser accepts. Returns it trimmed. */
export function validatePattern(pattern: unknown): string {
  const hint = 'use 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, e.g. "*/10 * * * * *", or an alias such as "@hourly"';
  if (typeof pattern !== 'string' || pattern.trim() === '') {
    throw new ConfigError(`repeat.pattern must be a cron pattern string; got ${describe(pattern)}; ${hint}.`);
  }
  const trimmed = pattern.trim();
  const fields = trimmed.split(/\s+/).length;
  if (!trimmed.startsWith('@') && fields !== 5 && fields !== 6) {
    throw new ConfigError(`repeat.pattern "${trimmed}" has ${fields} field${fields === 1 ? '' : 's'}; ${hint}.`);
  }
  try {
    CronExpressionParser.parse(trimmed, { tz: 'UTC' }).next();
  } catch (err) {
    throw new ConfigError(`repeat.pattern "${trimmed}" is not a valid cron pattern (${(err as Error).message}); ${hint}.`, { cause: err });
  }
  return trimmed;
}

/** Checks an IANA time zone name. */
export function validateTimeZone(tz: unknown): string {
  if (typeof tz !== 'string' || tz === '') {
    throw new ConfigError(`repeat.tz must be an IANA time zone name such as "Europe/Paris" or "UTC"; got ${describe(tz)}.`);
  }
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    throw new ConfigError(`repeat.tz "${tz}" is not a known time zone; use an IANA name such as "Europe/Paris", "America/New_York" or "UTC".`);
  }
  return tz;
}

/** Checks a template: a string name, JSON data, and no option the scheduler owns. */
export function normalizeTemplate(id: string, template: JobSchedulerTemplate | undefined): { name: string; data: unknown; opts: JobSchedulerTemplateOptions } {
  if (template !== undefined && (template === null || typeof template !== 'object')) {
    throw new ConfigError(`The job scheduler template must be an object { name?, data?, opts? }; got ${describe(template)}.`);
  }
  const name = template?.name ?? id;
  if (typeof name !== 'string' || name === '') {
    throw new ConfigError(`template.name must be a non-empty string; got ${describe(name)}. Omit it to use the scheduler id.`);
  }
  const data = template?.data ?? {};
  let json: string;
  try {
    // The check `add` makes, so every run's data comes back exactly as given (a Date, a Map or NaN
    // would otherwise be changed silently, run after run).
    json = toJsonStrict(data, 'template.data');
  } catch (err) {
    throw new ConfigError(`Job scheduler "${id}": ${(err as Error).message}`, { cause: err });
  }
  const given = (template?.opts ?? {}) as Record<string, unknown>;
  if (given === null || typeof given !== 'object') {
    throw new ConfigError(`template.opts must be an object of job options; got ${describe(given)}.`);
  }
  // A null option is not set, as in add.
  const opts = withoutUnsetOptions(given as JobsOptions) as Record<string, unknown>;
  for (const [key, why] of Object.entries(FORBIDDEN_TEMPLATE_OPTIONS)) {
    if (Object.prototype.hasOwnProperty.call(opts, key) && opts[key] !== undefined) {
      throw new ConfigError(`template.opts.${key} is not allowed on a job scheduler: ${why}.`);
    }
  }
  // Checked now as add will check each run's options, so a rejected call stores nothing.
  validateJobOptions(opts as JobsOptions, name);
  return { name, data: JSON.parse(json) as unknown, opts: JSON.parse(JSON.stringify(opts)) as JobSchedulerTemplateOptions };
}

/**
 * The latest startDate or endDate accepted: the last ms with 13 digits (2286-11-20), as run ids
 * (`repeat:<id>:<ms>`) are sized for. A later one made a run id too long for a long scheduler id
 * (after the scheduler was stored), or was no Date at all (a RangeError from toISOString).
 */
const MAX_DATE_MS = 9_999_999_999_999;
/** The earliest Date JavaScript has. */
const MIN_DATE_MS = -8.64e15;

function toMillis(value: unknown, field: string): number {
  const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : typeof value === 'string' ? new Date(value).getTime() : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new ConfigError(`repeat.${field} must be a Date, an ISO date string or ms since the epoch; got ${describe(value)}.`);
  }
  if (ms > MAX_DATE_MS) {
    throw new ConfigError(`repeat.${field} must be a date no later than ${new Date(MAX_DATE_MS).toISOString()} (ms since the epoch, 13 digits at most); got ${describe(value)}.`);
  }
  if (ms < MIN_DATE_MS) throw new ConfigError(`repeat.${field} is before the earliest date JavaScript has; got ${describe(value)}. Pass a Date, an ISO date string or ms since the epoch.`);
  return Math.trunc(ms);
}

function hasControlChar(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function printable(s: string): string {
  return JSON.stringify(s).slice(1, -1);
}

function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return JSON.stringify(value);
  // JSON has no NaN or Infinity (it would say null).
  if (typeof value === 'number') return `${String(value)} (number)`;
  try {
    return `${JSON.stringify(value)} (${value === null ? 'null' : typeof value})`;
  } catch {
    return typeof value;
  }
}
