/**
 * Inline mode, for application unit tests: `queue.add()` runs the job at once in the calling
 * process, through the same code path as a Worker (same Job fields, events and results), and
 * resolves after the job has completed or failed for good. Retries run back to back and delays
 * are not waited for (the job keeps its `delay` field). Turn it on with the `inline` option of
 * Queue and Worker, or `SPOOLKIT_INLINE=1`; register the processor with an inline Worker
 * (`new Worker(name, fn, { inline: true })`) or `registerInlineProcessor(name, fn)`.
 */
import { ConfigError } from './errors.js';
import type { Job } from './job.js';
import { executeRun, startRun, type ProcessingContext, type RunningJob } from './processing.js';
import { newClaimTag, readActive, type Claim } from './spool/claim.js';
import { readJob } from './spool/lookup.js';
import { promoteJob } from './spool/admin.js';
import { resolveSpoolRoot } from './spool/root.js';
import type { QueueStore } from './spool/store.js';
import type { Processor } from './types.js';
import type { Worker } from './worker.js';
import fs from 'node:fs';

type Entry = { worker: Worker } | { processor: Processor };

const registry = new Map<string, Entry>();

function key(root: string, queue: string): string {
  return `${root}\0${queue}`;
}

/** @internal Called by inline Workers. */
export function registerInlineWorker(queue: string, root: string, worker: Worker): void {
  registry.set(key(root, queue), { worker });
}

/** @internal Called by inline Workers on close. */
export function unregisterInlineWorker(queue: string, root: string, worker: Worker): void {
  const e = registry.get(key(root, queue));
  if (e && 'worker' in e && e.worker === worker) registry.delete(key(root, queue));
}

/** Registers the processor inline mode runs for `queue` (on the spool `opts.spool`, default as for Queue). */
export function registerInlineProcessor(queue: string, processor: Processor, opts: { spool?: string | URL } = {}): void {
  registry.set(key(resolveSpoolRoot(opts.spool), queue), { processor });
}

/** Removes a processor registered with `registerInlineProcessor`. */
export function unregisterInlineProcessor(queue: string, opts: { spool?: string | URL } = {}): void {
  registry.delete(key(resolveSpoolRoot(opts.spool), queue));
}

/**
 * @internal Throws the ConfigError `runInline` would, before anything is added: an inline add
 * without a processor adds nothing (else its job would wait for a worker no test starts).
 */
export function assertInlineProcessor(host: { name: string; store: QueueStore }): void {
  contextFor(host);
}

function contextFor(host: { name: string; store: QueueStore }): ProcessingContext {
  const e = registry.get(key(host.store.root, host.name));
  if (!e) {
    throw new ConfigError(
      `Queue ${host.name} is in inline mode but no processor is registered for it; create new Worker('${host.name}', processor, { inline: true }) or call registerInlineProcessor('${host.name}', processor) first.`,
    );
  }
  if ('worker' in e) return e.worker.processingContext;
  return { host, store: host.store, processor: e.processor, emit: () => undefined };
}

function claimById(store: QueueStore, id: string): Claim | undefined {
  const found = readJob(store, id);
  if (!found || (found.loc.place !== 'waiting' && found.loc.place !== 'lifo' && found.loc.place !== 'prioritized')) return undefined;
  const tag = newClaimTag();
  const dest = store.claimPath('active', id, tag);
  try {
    fs.renameSync(found.loc.path, dest);
  } catch {
    return undefined;
  }
  const read = readActive(dest);
  return { id, rec: read.rec, path: dest, tag, from: found.loc.path, gen: read.rec.gen, renewedAt: Date.now(), token: `inline:${tag}` };
}

/** @internal Runs an added job to its end in this process, then refreshes `job` from the spool. */
export async function runInline(host: { name: string; store: QueueStore }, job: Job): Promise<void> {
  const ctx = contextFor(host);
  const id = job.id!;
  let last: RunningJob | undefined;
  for (let round = 0; round < 1000; round++) {
    const found = readJob(host.store, id);
    if (!found) break;
    if (found.loc.place === 'delayed') {
      promoteJob(host.store, id);
      continue;
    }
    // A paused queue runs nothing, inline or not: the job waits for resume() and a worker.
    if (host.store.isPaused()) break;
    const claim = claimById(host.store, id);
    if (!claim) break;
    last = startRun(ctx, claim);
    const outcome = await executeRun(ctx, last);
    // Rate-limited: the job waits in the queue, as it would for a Worker until the limit ends.
    if (outcome === 'completed' || outcome === 'failed' || outcome === 'lost' || outcome === 'rate-limited') break;
  }
  const final = readJob(host.store, id);
  if (final) job.applyRecord(final.rec);
  // Removed on finishing (removeOnComplete / removeOnFail: true): the run's own job object has
  // the outcome, as a Worker's completed or failed event does.
  else if (last) job.applyRecord(last.job.toRecord());
}
