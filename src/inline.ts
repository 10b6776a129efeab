/**
 * Inline mode, for application unit tests: `queue.add()` runs the job at once in the calling
 * process, through the same code path as a Worker (same Job fields, events and results), and
 * resolves after the job has completed or failed for good. The jobs of one add (addBulk, a flow)
 * run one at a time in the order a Worker takes them; retries and delays are not waited for.
 * Turn it on with the `inline` option of Queue and Worker, or `SPOOLKIT_INLINE=1`; register the
 * processor with an inline Worker (`new Worker(name, fn, { inline: true })`) or
 * `registerInlineProcessor(name, fn)`.
 */
import { ConfigError } from './errors.js';
import { Job } from './job.js';
import { executeRun, startRun, type ProcessingContext, type RunOutcome, type RunningJob } from './processing.js';
import { newClaimTag, readActive, type Claim } from './spool/claim.js';
import { listState, readListed } from './spool/bulk.js';
import { MinHeap } from './min-heap.js';
import { hasActiveOrDelayedJobs, hasReadyJobs } from './spool/counts.js';
import { readJob } from './spool/lookup.js';
import { promoteJob } from './spool/admin.js';
import { resolveSpoolRoot } from './spool/root.js';
import type { JobRecord } from './spool/record.js';
import type { Place, QueueStore } from './spool/store.js';
import type { Processor } from './types.js';
import type { Worker } from './worker.js';
import fs from 'node:fs';
import path from 'node:path';

type Entry = { worker: Worker } | { processor: Processor };

type InlineHost = { name: string; store: QueueStore };

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
export function assertInlineProcessor(host: InlineHost): void {
  runnerFor(host);
}

/** What runs a queue's jobs inline: a registered processor, or an inline Worker's own processing. */
interface InlineRunner {
  ctx: ProcessingContext;
  /** False while the inline Worker is paused or closing: jobs then wait, as for a Worker that takes none. */
  takesJobs(): boolean;
  execute(run: RunningJob): Promise<RunOutcome>;
}

function runnerFor(host: InlineHost): InlineRunner {
  const e = registry.get(key(host.store.root, host.name));
  if (!e) {
    throw new ConfigError(
      `Queue ${host.name} is in inline mode but no processor is registered for it; create new Worker('${host.name}', processor, { inline: true }) or call registerInlineProcessor('${host.name}', processor) first.`,
    );
  }
  if ('worker' in e) {
    const worker = e.worker;
    return { ctx: worker.processingContext, takesJobs: () => worker.takesInlineJobs, execute: (run) => worker.runInlineJob(run) };
  }
  const ctx: ProcessingContext = { host, store: host.store, processor: e.processor, emit: () => undefined };
  return { ctx, takesJobs: () => true, execute: (run) => executeRun(ctx, run) };
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

/** A job an inline add runs, with the queue it is in. */
export interface InlineEntry {
  host: InlineHost;
  job: Job;
}

/** A Worker takes LIFO jobs first, then waiting ones, then prioritized ones; a delayed job once due. */
const PLACE_RANK: Partial<Record<Place, number>> = { lifo: 0, waiting: 1, prioritized: 2, delayed: 3 };

/** Turns (runs and promotions) of one job an inline add takes at most (a processor that moves its job back forever). */
const MAX_RUNS_PER_JOB = 1000;

/** @internal A job an inline call may run next, and where it stands in a Worker's order. */
export interface Candidate {
  index: number;
  place: Place;
  order: [number, number, string];
}

/** Where a found job stands in a Worker's order: its set, its priority, then its set key (the file name's first part). */
function orderOf(place: Place, rec: JobRecord, file: string): [number, number, string] | undefined {
  const rank = PLACE_RANK[place];
  if (rank === undefined) return undefined;
  const name = path.basename(file);
  return [rank, place === 'prioritized' ? rec.priority : 0, name.slice(0, name.indexOf('.'))];
}

function before(a: Candidate['order'], b: Candidate['order']): boolean {
  if (a[0] !== b[0]) return a[0] < b[0];
  if (a[1] !== b[1]) return a[1] < b[1];
  return a[2] < b[2];
}

/**
 * @internal The jobs of an inline call that can run now, first the one a Worker would take: a
 * choice costs O(log n), so a call of n jobs chooses in O(n log n), not n².
 */
export class ReadyJobs {
  private readonly byIndex = new Map<number, Candidate>();
  /** Every candidate set; one no longer in `byIndex` (deleted, set again) is skipped once on top. */
  private readonly heap: MinHeap<Candidate>;

  constructor(first: (a: Candidate['order'], b: Candidate['order']) => boolean = before) {
    this.heap = new MinHeap<Candidate>((a, b) => first(a.order, b.order));
  }

  set(candidate: Candidate): void {
    this.byIndex.set(candidate.index, candidate);
    this.heap.push(candidate);
  }

  delete(index: number): void {
    this.byIndex.delete(index);
  }

  first(): Candidate | undefined {
    while (this.heap.size > 0 && this.byIndex.get(this.heap.peek()!.index) !== this.heap.peek()) this.heap.pop();
    return this.heap.peek();
  }
}

/**
 * The jobs of one inline call not finished yet, and where each stands in a Worker's order. A job
 * is read again only when it may have moved (it ran, its claim failed) or while it cannot run
 * (waiting for children, active elsewhere), so a call of n jobs reads about n files, not n².
 */
class PendingJobs {
  private readonly ready = new ReadyJobs();
  /** Jobs that cannot run now (waiting for children, active elsewhere): read again when no other job can run. */
  private readonly blocked = new Set<number>();
  private readonly stale: Set<number>;
  /** The entries holding each job id: a parent is read again once one of its children ran. */
  private readonly byId = new Map<string, number[]>();

  constructor(private readonly entries: InlineEntry[]) {
    this.stale = new Set(entries.keys());
    entries.forEach(({ job }, index) => this.byId.set(job.id!, [...(this.byId.get(job.id!) ?? []), index]));
  }

  /**
   * The job a Worker would take next, or undefined when none can run now. The blocked jobs are
   * read only when no other job can run (a parent its child's run moved on is read through
   * `ran`), else a bulk of n flows read n parents after each of n runs.
   */
  next(): Candidate | undefined {
    for (const index of [...this.stale]) this.read(index);
    if (this.ready.first()) return this.ready.first();
    for (const index of [...this.blocked]) this.read(index);
    return this.ready.first();
  }

  /** The job ran: it, and its parent if this call holds it, may have moved. */
  ran(index: number): void {
    this.touch(index);
    const parentId = this.entries[index]!.job.parent?.id;
    for (const parent of parentId === undefined ? [] : (this.byId.get(parentId) ?? [])) this.touch(parent);
  }

  /** The job may have moved: read it again before choosing. */
  touch(index: number): void {
    this.ready.delete(index);
    this.stale.add(index);
  }

  /** The job is done with in this call. */
  drop(index: number): void {
    this.ready.delete(index);
    this.blocked.delete(index);
    this.stale.delete(index);
  }

  private read(index: number): void {
    const { host, job } = this.entries[index]!;
    const found = readJob(host.store, job.id!);
    if (!found || found.loc.place === 'completed' || found.loc.place === 'failed') return this.drop(index);
    this.stale.delete(index);
    const order = orderOf(found.loc.place, found.rec, found.loc.path);
    if (!order) {
      this.blocked.add(index);
      return;
    }
    this.blocked.delete(index);
    this.ready.set({ index, place: found.loc.place, order });
  }
}

/**
 * How many `runInline` calls of this process (thread) have started and not ended. A call made while
 * one is in progress (an add from a processor) waits for a fresh stack; an outermost one starts at
 * once, as before, so an add followed by a Worker's close() (without awaiting the add) still runs
 * the job it added.
 */
let inlineRunsInProgress = 0;

/**
 * @internal Runs the jobs an add added to their end in this process, one at a time in the order
 * a Worker would take them (a flow's children before their parent, a retry after the jobs that
 * were waiting when it failed, delayed jobs last, by due time, without waiting for them), then
 * refreshes each `job` from the spool. Jobs of a paused queue, or of a paused or closing inline
 * Worker, stay waiting (for resume() or a worker).
 */
export async function runInline(entries: InlineEntry[]): Promise<void> {
  if (inlineRunsInProgress > 0) await freshStack();
  inlineRunsInProgress++;
  try {
    await runInlineNow(entries);
  } finally {
    inlineRunsInProgress--;
  }
}

/** `runInline`, from the current stack. */
async function runInlineNow(entries: InlineEntry[]): Promise<void> {
  const runners = entries.map((e) => runnerFor(e.host));
  const pending = new PendingJobs(entries);
  const lastRuns = new Map<number, RunningJob>();
  const turns = new Map<number, number>();
  // The queue of the last run, told `drained` unless the next job to run is ready in it.
  let ranLast: { ctx: ProcessingContext; host: InlineHost } | undefined;
  for (let round = 0; round < MAX_RUNS_PER_JOB * entries.length; round++) {
    const next = pending.next();
    if (ranLast && !(next && next.place !== 'delayed' && entries[next.index]!.host.store === ranLast.host.store)) reportIdle(ranLast.ctx, ranLast.host);
    ranLast = undefined;
    if (!next) break;
    const { host, job } = entries[next.index]!;
    const runner = runners[next.index]!;
    pending.touch(next.index);
    if (!takeTurn(turns, next.index) || host.store.isPaused() || !runner.takesJobs()) {
      pending.drop(next.index);
      continue;
    }
    if (next.place === 'delayed') {
      promoteJob(host.store, job.id!);
      continue;
    }
    // Not claimed: it moved meanwhile, and is read again.
    const claim = claimById(host.store, job.id!);
    if (!claim) continue;
    const run = startRun(runner.ctx, claim);
    lastRuns.set(next.index, run);
    const outcome = await executeCounted(host, runner, run);
    pending.ran(next.index);
    ranLast = { ctx: runner.ctx, host };
    // Rate-limited: the job waits in the queue, as it would for a Worker until the limit ends.
    if (outcome === 'completed' || outcome === 'failed' || outcome === 'lost' || outcome === 'rate-limited') pending.drop(next.index);
  }
  if (ranLast) reportIdle(ranLast.ctx, ranLast.host);
  entries.forEach((e, i) => refresh(e, lastRuns.get(i)));
}

/** Counts a turn of the job; false once it had its MAX_RUNS_PER_JOB, whatever the other jobs of the call had. */
function takeTurn(turns: Map<number, number>, index: number): boolean {
  const n = (turns.get(index) ?? 0) + 1;
  turns.set(index, n);
  return n <= MAX_RUNS_PER_JOB;
}

/**
 * Lets the caller's synchronous frames return before a nested run: a processor adding to a queue
 * runs the new job from the microtask queue, not on top of its own stack, so a chain of jobs each
 * adding the next (thousands deep) does not overflow the stack.
 */
function freshStack(): Promise<void> {
  return Promise.resolve();
}

/** Inline runs in progress in this process, by queue (a processor's add runs inside its own run). */
const running = new Map<string, number>();

async function executeCounted(host: InlineHost, runner: InlineRunner, run: RunningJob): Promise<RunOutcome> {
  const k = key(host.store.root, host.name);
  running.set(k, (running.get(k) ?? 0) + 1);
  try {
    return await runner.execute(run);
  } finally {
    const left = running.get(k)! - 1;
    if (left > 0) running.set(k, left);
    else running.delete(k);
  }
}

/**
 * After a run, as a Worker that finds nothing more to take: `drained` on the Worker when no job
 * of the queue is ready to run, and in the event log (QueueEvents) when none is delayed or active
 * either. Nothing while an inline run of the queue is still in progress (the run whose processor
 * added this job): a Worker tells drained only once its last running job is done, and a chain of
 * n nested adds would list the n active jobs n times.
 */
function reportIdle(ctx: ProcessingContext, host: InlineHost): void {
  if (running.has(key(host.store.root, host.name))) return;
  const store = host.store;
  if (hasReadyJobs(store)) return;
  // isDrained without reading the ready sets a second time.
  if (!hasActiveOrDelayedJobs(store)) store.events.append('drained', {});
  ctx.emit('drained');
}

/**
 * The states a resumed Worker takes jobs from: delayed ones once due (inline, at once, but for a
 * job scheduler's later runs), and parents waiting for children once their children (run
 * meanwhile) are done.
 */
const RESUMED_STATES = ['waiting', 'prioritized', 'delayed', 'waiting-children'];

/**
 * @internal Runs the jobs the queue holds back (waiting, prioritized, delayed, and parents whose
 * children finish meanwhile), as a Worker does once the queue or the worker resumes. Nothing when
 * no processor is registered for the queue.
 */
export async function runWaitingInline(host: InlineHost): Promise<void> {
  if (!registry.has(key(host.store.root, host.name))) return;
  const recs = RESUMED_STATES.flatMap((state) => readResumed(host.store, state, Date.now()));
  await runInline(recs.map((rec) => ({ host, job: Job.fromRecord(host, rec) })));
}

/** The jobs of a state a resumed Worker takes, less a job scheduler's later runs not due yet. */
function readResumed(store: QueueStore, state: string, now: number): JobRecord[] {
  const listed = listState(store, state, 0, -1, true);
  const recs = readListed(store, listed);
  if (state !== 'delayed') return recs;
  const dueAt = new Map(listed.map((l) => [l.id, l.at]));
  return recs.filter((rec) => !isLaterSchedulerRun(rec, dueAt.get(rec.id) ?? 0, now));
}

/**
 * A job scheduler's run due later waits for its time, as for a worker (see Queue.addReservedJob):
 * run at once, tomorrow's run ran today and left no run after it.
 */
function isLaterSchedulerRun(rec: JobRecord, dueAt: number, now: number): boolean {
  return rec.repeatJobKey !== undefined && dueAt > now;
}

function refresh({ host, job }: InlineEntry, last: RunningJob | undefined): void {
  const final = readJob(host.store, job.id!);
  if (final) job.applyRecord(final.rec);
  // Removed on finishing (removeOnComplete / removeOnFail: true): the run's own job object has
  // the outcome, as a Worker's completed or failed event does.
  else if (last) job.applyRecord(last.job.toRecord());
}
