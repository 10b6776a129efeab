/**
 * Validation of untrusted input at the API boundary: queue names, job ids and job data. Every
 * error names the offending field and says what to do instead.
 */
import { ConfigError, SpoolkitError } from '../errors.js';

/** Longest accepted job id, in UTF-8 bytes (it becomes part of file names capped at 255 bytes). */
export const MAX_ID_BYTES = 200;
/** Longest accepted queue name, in UTF-8 bytes. */
export const MAX_QUEUE_NAME_BYTES = 100;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function invalidJob(message: string): SpoolkitError {
  return new SpoolkitError('ERR_INVALID_JOB', message);
}

function pathProblem(value: string): string | undefined {
  if (value.includes('/') || value.includes('\\')) return 'contains a path separator (/ or \\)';
  if (value.includes('..')) return "contains '..'";
  if (value === '.') return "is '.'";
  if (CONTROL.test(value)) return 'contains a control character';
  return undefined;
}

/** Throws a ConfigError unless `name` is a usable queue name. */
export function assertQueueName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new ConfigError(`Queue name must be provided: a non-empty string, got ${describe(name)}; pass a name such as 'emails'.`);
  }
  if (name.includes(':')) throw new ConfigError(`Queue name cannot contain : (got ${JSON.stringify(name)}); use letters, digits, '-', '_' or '.'.`);
  const problem = pathProblem(name) ?? (name.startsWith('.') ? "starts with '.'" : undefined);
  if (problem) throw new ConfigError(`Queue name ${JSON.stringify(name)} ${problem}; use letters, digits, '-', '_' or '.'.`);
  if (Buffer.byteLength(name) > MAX_QUEUE_NAME_BYTES) {
    throw new ConfigError(`Queue name ${JSON.stringify(name.slice(0, 20))}... is longer than ${MAX_QUEUE_NAME_BYTES} bytes; use a shorter name.`);
  }
}

/**
 * True for ids that read as integers (BullMQ's test: the id survives `parseInt` unchanged). Only
 * automatic ids, taken from the queue's counter, are like that: custom ones are refused.
 */
export function isIntegerId(id: string): boolean {
  return `${Number.parseInt(id, 10)}` === id;
}

/**
 * Throws unless `id` is a usable custom job id. BullMQ's rules apply (not an integer, no ':');
 * `reserved` ids (made by spoolkit, e.g. for schedulers) may contain ':'.
 */
export function assertJobId(id: unknown, reserved = false): asserts id is string {
  if (typeof id !== 'string' || id.length === 0) {
    throw invalidJob(`jobId must be a non-empty string, got ${describe(id)}; pass a string id or leave jobId out for an automatic one.`);
  }
  const problem = pathProblem(id);
  if (problem) throw invalidJob(`jobId ${JSON.stringify(id)} ${problem}; job ids become file names, so use another id.`);
  if (Buffer.byteLength(id) > MAX_ID_BYTES) throw invalidJob(`jobId ${JSON.stringify(id.slice(0, 20))}... is longer than ${MAX_ID_BYTES} bytes; use a shorter id (e.g. a hash).`);
  if (!reserved) {
    if (id === '0' || id.startsWith('0:')) throw invalidJob(`JobId cannot be '0' or start with '0:' (jobId ${JSON.stringify(id)}); use another id, such as 'job-0'.`);
    if (isIntegerId(id)) throw invalidJob(`Custom Id cannot be integers (jobId ${JSON.stringify(id)}); automatic ids are integers, so prefix yours (e.g. 'order-${id}').`);
    if (id.includes(':')) throw invalidJob(`Custom Id cannot contain : (jobId ${JSON.stringify(id)}); use another separator such as '-'.`);
  }
}

/**
 * A job id given to a lookup (`getJob`, `remove`, `addJobLog`, ...) as the name it is filed under,
 * or undefined when no job can have it. Numbers name the job of that id, as in BullMQ (which
 * builds its keys from them: an id parsed from a URL or JSON finds its job). A string that could
 * not be a file name (a path separator, '..', a control character, too long) names no job: it is
 * never joined into a path, so a lookup cannot read or write outside the spool.
 */
export function lookupJobId(id: unknown): string | undefined {
  if (typeof id === 'number') return Number.isFinite(id) ? String(id) : undefined;
  if (typeof id !== 'string' || id === '' || pathProblem(id) !== undefined) return undefined;
  return Buffer.byteLength(id) > MAX_ID_BYTES ? undefined : id;
}

/**
 * Throws unless `id` is safe to join into a path inside the spool. Ids are checked where they
 * enter; this guards the places that build paths from them against one that slipped through.
 */
export function assertFileSafeId(id: string): void {
  if (pathProblem(id) !== undefined || id === '') throw invalidJob(`job id ${JSON.stringify(id)} cannot name a file in the spool; job ids have no path separators, '..' or control characters.`);
}

/** Throws unless `name` is a usable job name. */
export function assertJobName(name: unknown): asserts name is string {
  if (typeof name !== 'string') throw invalidJob(`Job name must be a string, got ${describe(name)}.`);
}

/**
 * Serialises `value` as JSON, refusing anything that would not come back the same: functions,
 * symbols, BigInt, undefined (at the top or in arrays), NaN and Infinity, cycles, sparse arrays,
 * and objects that are not plain (Date, Map, Set, Buffer, class instances). Undefined object
 * properties are allowed: JSON drops them and they read back as undefined.
 */
export function toJsonStrict(value: unknown, what: string): string {
  // A primitive (a processor's usual null) needs no cycle set.
  checkJson(value, what, value !== null && typeof value === 'object' ? new Set() : NO_CYCLES);
  return JSON.stringify(value);
}

/** The cycle set of a primitive value: never added to (checkJson returns before it would). */
const NO_CYCLES: Set<object> = new Set();

function checkJson(value: unknown, at: string, stack: Set<object>): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw invalidJob(`${at} is ${String(value)}, which JSON cannot carry; use null or a finite number.`);
      return;
    case 'undefined':
      throw invalidJob(`${at} is undefined, which JSON cannot carry; use null (or {} for job data).`);
    case 'bigint':
      throw invalidJob(`${at} is a BigInt, which JSON cannot carry; pass it as a string.`);
    case 'function':
      throw invalidJob(`${at} is a function, which JSON cannot carry; pass data only.`);
    case 'symbol':
      throw invalidJob(`${at} is a symbol, which JSON cannot carry.`);
    case 'object':
      break;
  }
  if (value === null) return;
  const obj = value as object;
  if (stack.has(obj)) throw invalidJob(`${at} refers back to itself (a cycle); JSON cannot carry cycles.`);
  stack.add(obj);
  if (Array.isArray(obj)) {
    for (let i = 0; i < obj.length; i++) {
      if (!(i in obj)) throw invalidJob(`${at}[${i}] is a hole in a sparse array; JSON turns it into null. Fill the array.`);
      checkJson(obj[i], `${at}[${i}]`, stack);
    }
  } else {
    const proto = Object.getPrototypeOf(obj);
    if (proto !== Object.prototype && proto !== null) {
      const kind = (obj as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      const hint = kind === 'Date' ? ' Pass date.toISOString() or a timestamp.' : ' Pass a plain object.';
      throw invalidJob(`${at} is a ${kind}, which does not survive JSON unchanged.${hint}`);
    }
    for (const key of Object.keys(obj)) {
      const v = (obj as Record<string, unknown>)[key];
      if (v === undefined) continue;
      checkJson(v, `${at}${/^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`}`, stack);
    }
    if (Object.getOwnPropertySymbols(obj).length > 0) throw invalidJob(`${at} has symbol keys, which JSON drops.`);
  }
  stack.delete(obj);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  return typeof v;
}
