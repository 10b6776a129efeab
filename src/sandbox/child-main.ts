/**
 * Entry point of a sandbox child: a forked process or a worker thread that loads one processor
 * file and runs jobs for its host, one at a time. The module is loaded once, at start, so a warm
 * child runs each job without paying for the import again.
 *
 * The child never decides a job's outcome: it reports the processor's result or error, and the
 * host completes, fails or retries the job. It exits when its host goes away or tells it to; it
 * does not die of SIGTERM, SIGINT or SIGHUP, which its host handles.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { deserializeError, serializeError } from '../serialized-error.js';
import type { ChildMessage, HostMessage, JobSnapshot, ProxiedMethod } from './protocol.js';

type ProcessorFn = (job: unknown, token: string | undefined, signal: AbortSignal) => unknown;

interface Channel {
  send(message: ChildMessage): void;
  onMessage(handler: (message: HostMessage) => void): void;
}

function openChannel(): Channel {
  if (!isMainThread && parentPort) {
    const port = parentPort;
    return { send: (m) => port.postMessage(m), onMessage: (h) => port.on('message', h) };
  }
  if (typeof process.send !== 'function') {
    throw new Error('spoolkit sandbox child started without an IPC channel; it is started by createSandboxedProcessor, not by hand');
  }
  // The host is gone: nothing can receive our results, so stop at once (unless it asked us to
  // stop: then the output still being written is let out first, see stopWhenIdle).
  process.on('disconnect', () => {
    if (!stopRequested) process.exit(0);
  });
  // The host decides when a child ends (it drains, hands back or kills). A SIGTERM, SIGINT or
  // SIGHUP sent to the whole process group (Ctrl-C or a hang-up in a terminal, a platform stopping
  // every process) reaches the child too; dying of it would fail the job that the host's drain
  // lets finish.
  process.on('SIGTERM', ignoreSignal);
  process.on('SIGINT', ignoreSignal);
  process.on('SIGHUP', ignoreSignal);
  return {
    send: (m) => {
      process.send?.(m);
    },
    onMessage: (h) => process.on('message', (m) => h(m as HostMessage)),
  };
}

let stopRequested = false;

/**
 * The host retires this child between jobs. A thread exits at once (its exit hands what it wrote
 * on to the host first). A process closes its channel and ends once what it wrote has been
 * written, which exiting at once would drop when its output is a pipe; a timer the processor
 * left running is not waited for beyond a second.
 */
function stopWhenIdle(): void {
  if (!isMainThread) process.exit(0);
  stopRequested = true;
  process.disconnect?.();
  setTimeout(() => process.exit(0), 1000).unref();
}

function ignoreSignal(): void {
  // Listening replaces Node's default action (exit) for the signal.
}

function processorFile(): string {
  const fromThread = (workerData as { file?: unknown } | null)?.file;
  const file = typeof fromThread === 'string' ? fromThread : process.argv[2];
  if (!file) throw new Error('spoolkit sandbox child needs the processor file as its argument');
  return file;
}

async function loadProcessor(file: string): Promise<ProcessorFn> {
  const url = file.startsWith('file:') ? file : pathToFileURL(file).href;
  const mod = (await import(url)) as { default?: unknown };
  let candidate: unknown = mod.default ?? mod;
  // A CommonJS module compiled from `export default` arrives as { default: fn } under default.
  if (typeof candidate === 'object' && candidate !== null && typeof (candidate as { default?: unknown }).default === 'function') {
    candidate = (candidate as { default: unknown }).default;
  }
  if (typeof candidate !== 'function') {
    throw new TypeError(`The processor file ${file} must export a function (export default async (job) => ... or module.exports = ...); it exports ${typeof candidate}`);
  }
  return candidate as ProcessorFn;
}

const channel = openChannel();
const pendingCalls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
const aborts = new Map<number, AbortController>();
let nextCallId = 1;

function call(runId: number, method: ProxiedMethod, args: unknown[]): Promise<unknown> {
  const callId = nextCallId++;
  return new Promise((resolve, reject) => {
    pendingCalls.set(callId, { resolve, reject });
    channel.send({ t: 'call', runId, callId, method, args });
  });
}

function buildJob(runId: number, snapshot: JobSnapshot): Record<string, unknown> {
  const job: Record<string, unknown> = { ...snapshot };
  job.updateProgress = async (value: unknown) => {
    await call(runId, 'updateProgress', [value]);
    job.progress = value;
  };
  job.log = (row: unknown) => call(runId, 'log', [row]);
  job.updateData = async (data: unknown) => {
    await call(runId, 'updateData', [data]);
    job.data = data;
  };
  job.moveToDelayed = (timestamp: unknown, token?: unknown) => call(runId, 'moveToDelayed', [timestamp, token]);
  job.moveToWait = (token?: unknown) => call(runId, 'moveToWait', [token]);
  // Flow methods run on the worker's own job object.
  for (const method of FLOW_METHODS) job[method] = (...args: unknown[]) => call(runId, method, args);
  return job;
}

/** BullMQ's flow methods of a sandboxed job. */
const FLOW_METHODS = ['getChildrenValues', 'getFailedChildrenValues', 'getIgnoredChildrenFailures', 'getDependencies', 'getDependenciesCount', 'moveToWaitingChildren', 'removeChildDependency', 'removeUnprocessedChildren'] as const;

async function run(processor: Promise<ProcessorFn>, message: Extract<HostMessage, { t: 'run' }>): Promise<void> {
  const controller = new AbortController();
  aborts.set(message.runId, controller);
  try {
    const fn = await processor;
    // An abort that arrived while the module was loading ends the job before it starts.
    if (controller.signal.aborted) throw controller.signal.reason;
    const value = await fn(buildJob(message.runId, message.job), message.token, controller.signal);
    try {
      channel.send({ t: 'done', runId: message.runId, ok: true, value, rssBytes: process.memoryUsage.rss() });
    } catch (err) {
      const error = serializeError(new TypeError(`The processor's return value cannot be sent back from the sandbox (${(err as Error).message}); return plain JSON-like data`));
      channel.send({ t: 'done', runId: message.runId, ok: false, error, rssBytes: process.memoryUsage.rss() });
    }
  } catch (err) {
    channel.send({ t: 'done', runId: message.runId, ok: false, error: serializeError(err), rssBytes: process.memoryUsage.rss() });
  } finally {
    aborts.delete(message.runId);
  }
}

// A child process that throws outside a job's await (a timer, an unhandled rejection) fails the
// jobs it runs with that error, then exits: its state is unknown. (A worker thread's error already
// reaches the host as the thread's 'error' event.)
if (isMainThread) {
  const crash = (err: unknown): void => {
    const error = serializeError(err);
    const running = [...aborts.keys()];
    aborts.clear();
    if (running.length === 0 || typeof process.send !== 'function') process.exit(1);
    // Exit once the last report has left: IPC sends are asynchronous.
    running.forEach((runId, i) => {
      const report: ChildMessage = { t: 'done', runId, ok: false, error, rssBytes: process.memoryUsage.rss(), fatal: true };
      process.send!(report, () => {
        if (i === running.length - 1) process.exit(1);
      });
    });
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
}

const processor = loadProcessor(processorFile());
processor.then(
  () => channel.send({ t: 'ready' }),
  (err: unknown) => channel.send({ t: 'init-error', error: serializeError(err) }),
);

channel.onMessage((message) => {
  switch (message.t) {
    case 'run':
      void run(processor, message);
      return;
    case 'abort':
      aborts.get(message.runId)?.abort(deserializeError(message.reason));
      return;
    case 'stop':
      stopWhenIdle();
      return;
    case 'reply': {
      const pending = pendingCalls.get(message.callId);
      if (!pending) return;
      pendingCalls.delete(message.callId);
      if (message.ok) pending.resolve(message.value);
      else pending.reject(deserializeError(message.error));
      return;
    }
    default: {
      const never: never = message;
      void never;
    }
  }
});
