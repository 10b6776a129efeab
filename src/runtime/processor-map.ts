/**
 * The processors module: what `spoolkit worker` runs. Its default export (or `module.exports`)
 * maps queue names to processors:
 *
 * ```js
 * export default {
 *   emails: async (job, token, signal) => { ... },          // every job name
 *   reports: './processors/report.js',                      // a file, run in a sandbox
 *   media: {
 *     concurrency: 2,                                        // jobs at once for this queue
 *     timeoutMs: 60_000,                                     // per-job time limit
 *     jobs: { thumbnail: async (job) => {}, transcode: './transcode.js' },
 *     processor: async (job) => {},                          // names not listed in jobs
 *     sandbox: { useWorkerThreads: false, killGraceMs: 5000, maxJobsPerChild: 100 },
 *     worker: { lockDuration: 30_000 },                      // more Worker options
 *   },
 * };
 * ```
 *
 * A processor is a function or a path (relative to the processors module). Paths run sandboxed
 * unless `sandbox: false`, which imports them into the worker process instead. A job whose name
 * has no processor fails at once with an UnrecoverableError naming the names that exist.
 */
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, UnrecoverableError } from '../errors.js';
import { MAX_TIMER_MS } from '../spool/defaults.js';
import { createSandboxedProcessor, type SandboxedProcessor, type SandboxOptions } from '../sandbox/index.js';

/** A processor as the worker calls it. */
export type ProcessorFunction = (job: RuntimeJob, token?: string, signal?: AbortSignal) => Promise<unknown>;

/** The job fields and methods the runtime itself uses; the core Job has them all. */
export interface RuntimeJob {
  readonly id?: string | undefined;
  readonly name: string;
  data: unknown;
  readonly attemptsMade: number;
  updateProgress(value: unknown): Promise<unknown>;
  log(row: string): Promise<unknown>;
  updateData(data: unknown): Promise<unknown>;
  moveToDelayed(timestamp: number, token?: string): Promise<unknown>;
}

/** One queue's processing, resolved from the processors module. */
export interface QueuePlan {
  queueName: string;
  /** Dispatches by job name; unknown names fail with UnrecoverableError. */
  processor: ProcessorFunction;
  /** Jobs at once; undefined means the CLI default. */
  concurrency: number | undefined;
  /** Per-job time limit in ms; undefined means the CLI default. */
  timeoutMs: number | undefined;
  /** Names with their own processor, for messages and logs. */
  jobNames: string[];
  /** True when a catch-all processor handles names not in `jobNames`. */
  hasCatchAll: boolean;
  /** Extra options for the core Worker, passed through as written. */
  workerOptions: Record<string, unknown>;
  /** Sandboxes created for this queue; closed with the worker. */
  sandboxes: SandboxedProcessor[];
  /** The sandboxes' child processes, for the heartbeat of the Worker that runs them. */
  sandboxChildren: SandboxChildren;
  /** True when jobs of this name run in a sandbox (which kills a processor that ignores its abort). */
  runsInSandbox(jobName: string): boolean;
}

/**
 * The child processes of a queue's sandboxes. A child outlives its worker process when that is
 * killed, so the Worker names them in its heartbeat: its jobs are not recovered until they are
 * gone too.
 */
export interface SandboxChildren {
  /** Pids of the live child processes (worker threads end with this process and are left out). */
  pids(): number[];
  /** Sets what runs when a child process starts or ends (the Worker rewrites its heartbeat). */
  onChange(listener: () => void): void;
}

/** Tracks the children of the sandboxes a queue's plan creates. */
function trackSandboxChildren(sandboxes: SandboxedProcessor[]): SandboxChildren & { options(o: SandboxOptions): SandboxOptions } {
  let listener: (() => void) | undefined;
  return {
    pids: () => sandboxes.flatMap((s) => s.stats().pids).filter((pid): pid is number => pid !== undefined && pid !== process.pid),
    onChange: (l) => {
      listener = l;
    },
    options: (o) => {
      const own = o.onChildrenChange;
      return {
        ...o,
        onChildrenChange: () => {
          listener?.();
          own?.();
        },
      };
    },
  };
}

const ENTRY_KEYS = ['processor', 'jobs', 'concurrency', 'timeoutMs', 'sandbox', 'worker'] as const;

/**
 * Worker options the runtime sets itself, with what to do instead. Given in an entry's `worker`,
 * they were overridden without a word (concurrency, spool), or kept the queue's worker from ever
 * running (autorun: false).
 */
const RUNTIME_WORKER_KEYS: Readonly<Record<string, string>> = {
  concurrency: 'set it on the queue itself: { concurrency: 4, processor, ... }',
  spool: 'every queue runs on the spool of --spool or SPOOLKIT_SPOOL',
  autorun: 'the runtime starts every worker it makes',
};

function checkRuntimeWorkerKeys(workerOptions: Record<string, unknown>, where: string): void {
  const key = Object.keys(workerOptions).find((k) => Object.hasOwn(RUNTIME_WORKER_KEYS, k));
  if (key !== undefined) throw new ConfigError(`worker.${key} of ${where} is set by the worker runtime, not by the processors module; ${RUNTIME_WORKER_KEYS[key]}.`);
}

/** Imports the processors module and resolves every queue in it. */
export async function loadProcessorPlans(modulePath: string, sandboxDefaults: SandboxOptions = {}): Promise<QueuePlan[]> {
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(modulePath).href)) as { default?: unknown };
  } catch (err) {
    throw new ConfigError(`The processors module ${modulePath} failed to load: ${(err as Error).message}. Fix the error in that file (or one it imports).`, { cause: err });
  }
  let map: unknown = mod.default ?? mod;
  if (isPlainObject(map) && isPlainObject(map.default) && Object.keys(map).length === 1) map = map.default;
  return planProcessors(map, modulePath, sandboxDefaults);
}

/** Validates a processors map (already imported) and resolves it into plans. */
export async function planProcessors(map: unknown, modulePath: string, sandboxDefaults: SandboxOptions = {}): Promise<QueuePlan[]> {
  if (!isPlainObject(map)) {
    throw new ConfigError(`The processors module ${modulePath} must export an object mapping queue names to processors (export default { myQueue: async (job) => {...} }); it exports ${describe(map)}.`);
  }
  const names = Object.keys(map);
  if (names.length === 0) throw new ConfigError(`The processors module ${modulePath} exports no queues; add at least one queue name with its processor.`);
  const plans: QueuePlan[] = [];
  for (const queueName of names) plans.push(await planQueue(queueName, map[queueName], modulePath, sandboxDefaults));
  return plans;
}

async function planQueue(queueName: string, entry: unknown, modulePath: string, sandboxDefaults: SandboxOptions): Promise<QueuePlan> {
  const where = `queue "${queueName}" in ${modulePath}`;
  const base = dirname(modulePath);
  const sandboxes: SandboxedProcessor[] = [];
  const sandboxChildren = trackSandboxChildren(sandboxes);
  if (typeof entry === 'function' || typeof entry === 'string') {
    const processor = await resolveProcessor(entry, where, base, true, sandboxChildren.options(sandboxDefaults), sandboxes);
    const sandboxed = sandboxes.length > 0;
    return {
      queueName,
      processor: dispatcher(queueName, {}, processor, modulePath),
      concurrency: undefined,
      timeoutMs: undefined,
      jobNames: [],
      hasCatchAll: true,
      workerOptions: {},
      sandboxes,
      sandboxChildren,
      runsInSandbox: () => sandboxed,
    };
  }
  if (!isPlainObject(entry)) {
    throw new ConfigError(`The ${where} must be a function, a file path or { processor?, jobs?, concurrency?, timeoutMs?, sandbox?, worker? }; got ${describe(entry)}.`);
  }
  const unknown = Object.keys(entry).filter((k) => !(ENTRY_KEYS as readonly string[]).includes(k));
  if (unknown.length > 0) throw new ConfigError(`The ${where} has unknown key(s) ${unknown.map((k) => `"${k}"`).join(', ')}; allowed: ${ENTRY_KEYS.join(', ')}.`);

  const concurrency = optionalInteger(entry.concurrency, `concurrency of ${where}`, 1);
  const timeoutMs = optionalInteger(entry.timeoutMs, `timeoutMs of ${where}`, 0, MAX_TIMER_MS);
  const sandboxSetting = entry.sandbox;
  if (sandboxSetting !== undefined && typeof sandboxSetting !== 'boolean' && !isPlainObject(sandboxSetting)) {
    throw new ConfigError(`sandbox of ${where} must be true, false or { useWorkerThreads?, killGraceMs?, maxJobsPerChild?, maxMemoryMb? }.`);
  }
  const useSandbox = sandboxSetting !== false;
  const sandboxOptions = sandboxChildren.options({ ...sandboxDefaults, ...(isPlainObject(sandboxSetting) ? (sandboxSetting as SandboxOptions) : {}) });
  if (entry.worker !== undefined && !isPlainObject(entry.worker)) throw new ConfigError(`worker of ${where} must be an object of Worker options.`);
  const workerOptions = { ...((entry.worker as Record<string, unknown> | undefined) ?? {}) };
  checkRuntimeWorkerKeys(workerOptions, where);

  if (entry.jobs !== undefined && !isPlainObject(entry.jobs)) throw new ConfigError(`jobs of ${where} must be an object mapping job names to processors.`);
  const jobs: Record<string, ProcessorFunction> = {};
  for (const [jobName, p] of Object.entries((entry.jobs as Record<string, unknown> | undefined) ?? {})) {
    jobs[jobName] = await resolveProcessor(p, `job "${jobName}" of ${where}`, base, useSandbox, sandboxOptions, sandboxes, sandboxSetting === true);
  }
  const catchAll = entry.processor === undefined ? undefined : await resolveProcessor(entry.processor, `processor of ${where}`, base, useSandbox, sandboxOptions, sandboxes, sandboxSetting === true);
  if (!catchAll && Object.keys(jobs).length === 0) throw new ConfigError(`The ${where} has no processor: give processor, or jobs with at least one job name.`);
  return {
    queueName,
    processor: dispatcher(queueName, jobs, catchAll, modulePath),
    concurrency,
    timeoutMs,
    jobNames: Object.keys(jobs),
    hasCatchAll: catchAll !== undefined,
    workerOptions,
    sandboxes,
    sandboxChildren,
    runsInSandbox: (jobName) => (sandboxes as unknown[]).includes(Object.hasOwn(jobs, jobName) ? jobs[jobName] : catchAll),
  };
}

async function resolveProcessor(
  value: unknown,
  where: string,
  base: string,
  useSandbox: boolean,
  sandboxOptions: SandboxOptions,
  sandboxes: SandboxedProcessor[],
  sandboxRequired = false,
): Promise<ProcessorFunction> {
  if (typeof value === 'function') {
    if (sandboxRequired) throw new ConfigError(`The ${where} is a function, which cannot run in a sandbox; give a file path instead (e.g. './processors/task.js').`);
    return value as ProcessorFunction;
  }
  if (typeof value === 'string') {
    const file = isAbsolute(value) ? value : resolve(base, value);
    if (!existsSync(file)) {
      const how = isAbsolute(value) ? '' : `, which is resolved against the folder of the processors module (${base}) to ${file}`;
      throw new ConfigError(`The ${where} names ${value}${how}; no such file. Fix the path (relative to ${base}, or absolute).`);
    }
    if (useSandbox) {
      const sandboxed = createSandboxedProcessor(file, sandboxOptions);
      sandboxes.push(sandboxed);
      return sandboxed as unknown as ProcessorFunction;
    }
    let mod: { default?: unknown };
    try {
      mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
    } catch (err) {
      throw new ConfigError(`The ${where} (${file}) failed to load: ${(err as Error).message}`, { cause: err });
    }
    const fn = mod.default ?? mod;
    if (typeof fn !== 'function') throw new ConfigError(`The ${where} (${file}) must export a function; it exports ${describe(fn)}.`);
    return fn as ProcessorFunction;
  }
  throw new ConfigError(`The ${where} must be a function or a file path; got ${describe(value)}.`);
}

/** The processor a queue's Worker runs: picks the job's own processor by name. */
function dispatcher(queueName: string, jobs: Record<string, ProcessorFunction>, catchAll: ProcessorFunction | undefined, modulePath: string): ProcessorFunction {
  const known = Object.keys(jobs);
  return (job, token, signal) => {
    const fn = Object.hasOwn(jobs, job.name) ? jobs[job.name] : catchAll;
    if (!fn) {
      const list = known.length > 0 ? known.map((n) => `"${n}"`).join(', ') : '(none)';
      return Promise.reject(new UnrecoverableError(`No processor for job name "${job.name}" in queue "${queueName}"; known job names: ${list}. Add "${job.name}" to the jobs of "${queueName}" in ${modulePath}, or fix the name the job was added with.`));
    }
    return fn(job, token, signal);
  };
}

function optionalInteger(value: unknown, what: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) throw new ConfigError(`${what} must be a whole number >= ${min}; got ${JSON.stringify(value)}.`);
  if (value > max) throw new ConfigError(`${what} must be at most ${max} (the longest Node timer, about 24.8 days); got ${value}.`);
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null || Object.prototype.toString.call(value) === '[object Module]';
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}
