/**
 * A client for the spool inside a running stack. The spool lives on a volume the host may not be
 * able to reach (Docker Desktop, remote engines), so every call runs a short Node script inside one
 * of the stack's containers, importing the app's own `spoolkit`, and returns its JSON answer.
 */
import type Docker from 'dockerode';
import { SpoolkitError } from '../errors.js';
import { execInContainer, type ExecResult } from './exec.js';

/** A job as the spool client reports it. */
export interface SpoolJobView {
  id: string;
  name: string;
  state: string;
  progress: unknown;
  attemptsMade: number;
  returnvalue: unknown;
  failedReason: string | undefined;
  data: unknown;
  timestamp: number;
  processedOn: number | undefined;
  finishedOn: number | undefined;
}

/** Calls into the spool of a running stack (each call is one `docker exec` of `node`). */
export interface SpoolClient {
  /** `readSpoolStatus` of the stack's spool (counts per queue, workers' heartbeats). */
  status(queues?: string[]): Promise<Record<string, unknown> & { queues: Record<string, { counts: Record<string, number> }>; workers: Record<string, unknown>[] }>;
  /** Adds a job (`Queue#add`) and returns its id. */
  add(queue: string, name: string, data?: unknown, opts?: Record<string, unknown>): Promise<string>;
  /** Reads one job, or null when there is no such job. */
  getJob(queue: string, id: string): Promise<SpoolJobView | null>;
  /** `Queue#getJobCounts` for one queue. */
  counts(queue: string): Promise<Record<string, number>>;
  /**
   * Runs the body of an async function with `spoolkit` (the module namespace) in scope and returns
   * what it returns (JSON-serialisable). Example: `return (await new spoolkit.Queue('q').getJobs(['failed'])).length`.
   */
  run<T = unknown>(body: string): Promise<T>;
  /** Runs the `spoolkit` CLI in the container (`spoolkit <args>`). */
  cli(args: string[], options?: { timeoutMs?: number; env?: string[] }): Promise<ExecResult>;
}

/** Which container a spool client runs in; resolved again on every call so restarts are fine. */
export type ContainerPicker = () => Promise<string>;

const SCRIPT = `
import * as spoolkit from 'spoolkit';
const call = JSON.parse(process.env.SPOOLKIT_TESTING_CALL);
const view = async (job) => job && ({ id: job.id, name: job.name, state: await job.getState(), progress: job.progress,
  attemptsMade: job.attemptsMade, returnvalue: job.returnvalue, failedReason: job.failedReason, data: job.data,
  timestamp: job.timestamp, processedOn: job.processedOn, finishedOn: job.finishedOn });
const withQueue = async (name, fn) => { const q = new spoolkit.Queue(name); try { return await fn(q); } finally { await q.close(); } };
try {
  let result;
  if (call.op === 'status') result = await spoolkit.readSpoolStatus(spoolkit.resolveSpoolRoot(), call.queues ? { queues: call.queues } : undefined);
  else if (call.op === 'add') result = await withQueue(call.queue, async (q) => (await q.add(call.name, call.data, call.opts)).id);
  else if (call.op === 'getJob') result = await withQueue(call.queue, async (q) => (await view(await q.getJob(call.id))) ?? null);
  else if (call.op === 'counts') result = await withQueue(call.queue, (q) => q.getJobCounts());
  else if (call.op === 'run') result = await new (Object.getPrototypeOf(async () => {}).constructor)('spoolkit', call.body)(spoolkit);
  else if (call.op === 'bin') {
    const { createRequire } = await import('node:module');
    const path = await import('node:path');
    const pkgFile = createRequire(process.cwd() + '/').resolve('spoolkit/package.json');
    const pkg = JSON.parse((await import('node:fs')).readFileSync(pkgFile, 'utf8'));
    const bin = typeof pkg.bin === 'string' ? pkg.bin : pkg.bin.spoolkit;
    result = path.join(path.dirname(pkgFile), bin);
  }
  process.stdout.write(JSON.stringify({ ok: true, result: result ?? null }) + '\\n');
} catch (err) {
  process.stdout.write(JSON.stringify({ ok: false, error: { name: err?.name, code: err?.code, message: String(err?.message ?? err) } }) + '\\n');
  process.exitCode = 1;
}
`;

/** Creates a spool client that runs in the container `pick` names. */
export function createSpoolClient(docker: Docker, pick: ContainerPicker): SpoolClient {
  let bin: string | null = null;
  const call = async <T>(payload: Record<string, unknown>, timeoutMs = 60_000): Promise<T> => {
    const id = await pick();
    const r = await execInContainer(docker, id, ['node', '--input-type=module', '-e', SCRIPT], {
      env: [`SPOOLKIT_TESTING_CALL=${JSON.stringify(payload)}`, 'LOG_LEVEL=warn'],
      timeoutMs,
    });
    const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
    let parsed: { ok: boolean; result?: T; error?: { name?: string; code?: string; message: string } } | undefined;
    try {
      parsed = line ? JSON.parse(line) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!parsed) {
      throw new SpoolkitError('ERR_DOCKER', `The spool client's ${String(payload.op)} call printed no answer (exit ${r.exitCode}). Does the image contain the app's node_modules/spoolkit?\n${r.stderr.trim()}`);
    }
    if (!parsed.ok) {
      const e = parsed.error ?? { message: 'unknown error' };
      throw new SpoolkitError('ERR_DOCKER', `The spool client's ${String(payload.op)} call failed in the container: ${e.name ?? 'Error'}${e.code ? ` [${e.code}]` : ''}: ${e.message}`, { details: { remote: e } });
    }
    return parsed.result as T;
  };
  return {
    status: (queues) => call({ op: 'status', queues }),
    add: (queue, name, data = {}, opts = {}) => call({ op: 'add', queue, name, data, opts }),
    getJob: (queue, id) => call({ op: 'getJob', queue, id }),
    counts: (queue) => call({ op: 'counts', queue }),
    run: (body) => call({ op: 'run', body }),
    cli: async (args, options = {}) => {
      bin ??= await call<string>({ op: 'bin' });
      return execInContainer(docker, await pick(), ['node', bin, ...args], { timeoutMs: options.timeoutMs, env: options.env });
    },
  };
}
