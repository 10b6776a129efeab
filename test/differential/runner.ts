/**
 * Plays one scenario against one backend and returns what an application could observe.
 * Every wait is bounded in time; every Queue, Worker and QueueEvents is closed at the end.
 */
import type { Backend } from './backends.js';
import type { AddSpec, Behaviour, FlowSpec, Scenario, StrategyName, WorkerSpec } from './scenario.js';
import { normalizeArgs, type EventRecord, type JobSnapshot, type RunResult } from './normalize.js';

const QUEUE = 'diff';
const SETTLE_TIMEOUT_MS = 20_000;
const QUIET_MS = 400;
const QUIET_TIMEOUT_MS = 5_000;
const MAX_SLEEP_MS = 2_000;

/** Per-job events QueueEvents may deliver; queue-wide ones are listed apart. */
const JOB_EVENTS = [
  'added', 'waiting', 'active', 'progress', 'completed', 'failed', 'delayed', 'stalled', 'removed',
  'duplicated', 'deduplicated', 'retries-exhausted', 'waiting-children',
];
const QUEUE_WIDE_EVENTS = ['paused', 'resumed'];

const STRATEGIES: Record<StrategyName, (attemptsMade: number) => number> = {
  linear10: (attemptsMade) => attemptsMade * 10,
  failAfterFirst: () => -1,
  requeueNow: () => 0,
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/* eslint-disable @typescript-eslint/no-explicit-any */
export async function runScenario(sc: Scenario, backend: Backend): Promise<RunResult> {
  const idToLabel = new Map<string, string>();
  const labelToId = new Map<string, string>();
  const label = (id: unknown) => idToLabel.get(String(id)) ?? `?${String(id)}`;
  // Job keys inside texts (a parent failed by its child: `child bull:<queue>:<id> failed`) name the job by label.
  const labelKeys = (text: unknown) => (typeof text === 'string' ? text.replace(/bull:([^:\s]+):([^\s]+)/g, (_m, q: string, id: string) => `bull:${q}:${label(id)}`) : text);
  const result: RunResult = {
    adds: {}, order: [], jobs: {}, counts: {}, events: {}, queueEvents: [], workerEvents: {}, lists: {}, snapshots: {},
  };
  const push = (bucket: Record<string, EventRecord[]>, key: string, rec: EventRecord) => {
    (bucket[key] ??= []).push(rec);
  };
  let lastEventAt = Date.now();
  // Ids are turned into labels only at the end: a fast backend may start a job before the
  // `add` that created it has resolved in this process.
  const rawEvents: { event: string; args: Record<string, unknown> }[] = [];
  const rawOrder: { id: string; attemptsMade: number }[] = [];
  const rawWorkerEvents: { id: string; rec: EventRecord }[] = [];

  const queue = new backend.Queue(QUEUE, { ...backend.options, defaultJobOptions: sc.queue?.defaultJobOptions });
  const queueEvents = new backend.QueueEvents(QUEUE, { ...backend.options, ...backend.queueEventsOptions });
  for (const event of JOB_EVENTS) {
    queueEvents.on(event, (args: Record<string, unknown>) => {
      lastEventAt = Date.now();
      rawEvents.push({ event, args });
    });
  }
  for (const event of QUEUE_WIDE_EVENTS) {
    queueEvents.on(event, () => {
      lastEventAt = Date.now();
      result.queueEvents.push(event);
    });
  }
  await queueEvents.waitUntilReady();

  let worker: any;
  let inFlight = 0;
  const calls = new Map<string, number>();

  const processor = async (job: any, token?: string) => {
    inFlight++;
    try {
      const id = String(job.id);
      const n = calls.get(id) ?? 0;
      calls.set(id, n + 1);
      rawOrder.push({ id, attemptsMade: job.attemptsMade });
      const table: Behaviour[] = sc.behaviour[job.name] ?? [{}];
      const b = table[Math.min(n, table.length - 1)] ?? {};
      if (b.sleepMs !== undefined) await sleep(Math.min(b.sleepMs, MAX_SLEEP_MS));
      for (const p of b.progress ?? []) await job.updateProgress(p);
      for (const row of b.log ?? []) await job.log(row);
      if (b.updateData !== undefined) await job.updateData(b.updateData);
      if (b.moveToDelayedMs !== undefined) {
        await job.moveToDelayed(Date.now() + b.moveToDelayedMs, token);
        throw new backend.DelayedError();
      }
      if (b.rateLimitMs !== undefined) {
        await worker.rateLimit(b.rateLimitMs);
        throw backend.Worker.RateLimitError();
      }
      if (b.reportChildren) return await reportChildren(job);
      if (b.unrecoverable !== undefined) throw new backend.UnrecoverableError(b.unrecoverable);
      if (b.throw !== undefined) throw new Error(b.throw);
      return b.return;
    } finally {
      inFlight--;
    }
  };

  // Child keys (`bull:<queue>:<id>`) by label, keys sorted: both backends list children in their own order.
  const byLabel = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o ?? {}).map(([k, v]) => [label(k.split(':').pop()), v]).sort(([a], [b]) => String(a).localeCompare(String(b))));
  const labels = (keys: string[]) => (keys ?? []).map((k) => label(k.split(':').pop())).sort();
  const reportChildren = async (job: any) => {
    const deps = await job.getDependencies();
    return { values: byLabel(await job.getChildrenValues()), ignored: byLabel(await job.getIgnoredChildrenFailures()), unprocessed: labels(deps.unprocessed), failed: labels(deps.failed) };
  };

  let flows: any;
  const addFlow = async (spec: FlowSpec) => {
    flows ??= new backend.FlowProducer({ ...backend.options });
    const toFlow = (f: FlowSpec): any => ({ name: f.name, queueName: QUEUE, data: f.data ?? {}, opts: f.opts, children: f.children?.map(toFlow) });
    const tree = await flows.add(toFlow(spec));
    const walk = (f: FlowSpec, node: any) => {
      record(f, node.job);
      (f.children ?? []).forEach((c, i) => walk(c, node.children[i]));
    };
    walk(spec, tree);
  };

  const startWorker = async (spec: WorkerSpec) => {
    const opts: Record<string, unknown> = { ...backend.options, concurrency: spec.concurrency ?? 1 };
    if (spec.removeOnComplete) opts.removeOnComplete = spec.removeOnComplete;
    if (spec.removeOnFail) opts.removeOnFail = spec.removeOnFail;
    if (spec.backoffStrategy) opts.settings = { backoffStrategy: STRATEGIES[spec.backoffStrategy] };
    if (spec.limiter) opts.limiter = spec.limiter;
    if (spec.metrics) opts.metrics = spec.metrics;
    worker = new backend.Worker(QUEUE, processor, opts);
    const note = (job: any, rec: EventRecord) => rawWorkerEvents.push({ id: String(job.id), rec });
    worker.on('active', (job: any) => note(job, { event: 'active' }));
    worker.on('completed', (job: any, rv: unknown) => note(job, { event: 'completed', returnvalue: rv }));
    worker.on('failed', (job: any, err: Error) => {
      if (job) note(job, { event: 'failed', message: err?.message });
    });
    worker.on('progress', (job: any, p: unknown) => note(job, { event: 'progress', progress: p }));
    worker.on('error', () => undefined);
    await worker.waitUntilReady();
  };

  const record = (spec: AddSpec, job: any) => {
    const id = String(job.id);
    if (!idToLabel.has(id)) {
      idToLabel.set(id, spec.label);
      labelToId.set(spec.label, id);
    }
    result.adds[spec.label] = idToLabel.get(id) as string;
  };

  const idOf = (l: string) => {
    const id = labelToId.get(l);
    if (id === undefined) throw new Error(`scenario ${sc.id}: no job labelled ${l}`);
    return id;
  };

  const snapshotStates = async () => {
    const states: Record<string, string> = {};
    for (const [l, id] of labelToId) states[l] = await queue.getJobState(id);
    return states;
  };

  const settle = async () => {
    const deadline = Date.now() + SETTLE_TIMEOUT_MS;
    let idleSeen = 0;
    for (;;) {
      const c = await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active');
      const busy = (c.waiting ?? 0) + (c.prioritized ?? 0) + (c.delayed ?? 0) + (c.active ?? 0) + inFlight;
      idleSeen = busy === 0 ? idleSeen + 1 : 0;
      if (idleSeen >= 2) break;
      if (Date.now() > deadline) throw new Error(`scenario ${sc.id} on ${backend.kind}: not idle after ${SETTLE_TIMEOUT_MS} ms: ${JSON.stringify(c)}, ${inFlight} running`);
      await sleep(25);
    }
    // Every completion a worker saw must have reached QueueEvents too, then the stream must go quiet.
    const quietDeadline = Date.now() + QUIET_TIMEOUT_MS;
    const completedSeen = () => rawEvents.filter((e) => e.event === 'completed').length;
    const completedDone = () => rawWorkerEvents.filter((e) => e.rec.event === 'completed').length;
    while ((completedSeen() < completedDone() || Date.now() - lastEventAt < QUIET_MS) && Date.now() < quietDeadline) await sleep(25);
  };

  try {
    for (const step of sc.steps) {
      if ('add' in step) record(step.add, await queue.add(step.add.name, step.add.data ?? {}, step.add.opts));
      else if ('flow' in step) await addFlow(step.flow);
      else if ('addBulk' in step) {
        const jobs = await queue.addBulk(step.addBulk.map((s) => ({ name: s.name, data: s.data ?? {}, opts: s.opts })));
        step.addBulk.forEach((s, i) => record(s, jobs[i]));
      } else if ('startWorker' in step) await startWorker(step.startWorker);
      else if ('closeWorker' in step) await worker?.close();
      else if ('pause' in step) await queue.pause();
      else if ('resume' in step) await queue.resume();
      else if ('settle' in step) await settle();
      else if ('sleepMs' in step) await sleep(Math.min(step.sleepMs, MAX_SLEEP_MS));
      else if ('globalConcurrency' in step) await queue.setGlobalConcurrency(step.globalConcurrency);
      else if ('waitActive' in step) {
        const id = idOf(step.waitActive);
        const deadline = Date.now() + SETTLE_TIMEOUT_MS;
        while ((await queue.getJobState(id)) !== 'active') {
          if (Date.now() > deadline) throw new Error(`scenario ${sc.id} on ${backend.kind}: ${step.waitActive} not active after ${SETTLE_TIMEOUT_MS} ms`);
          await sleep(5);
        }
      }
      else if ('prometheus' in step) {
        const text: string = await queue.exportPrometheusMetrics(step.prometheus.labels);
        (result.prometheus ??= {})[step.prometheus.as] = text.split('\n');
      } else if ('snapshot' in step) {
        result.snapshots[step.snapshot] = { counts: await queue.getJobCounts(), states: await snapshotStates() };
      } else if ('list' in step) {
        const { as, types, start, end, asc } = step.list;
        const jobs = await queue.getJobs(types, start ?? 0, end ?? -1, asc ?? false);
        result.lists[as] = jobs.map((j: any) => label(j.id));
      } else if ('drain' in step) await queue.drain(step.drain.delayed ?? false);
      else if ('clean' in step) {
        const { as, graceMs, limit, type } = step.clean;
        const ids: string[] = await queue.clean(graceMs, limit, type);
        result.lists[as] = ids.map((id) => label(id)).sort();
      } else if ('retry' in step) await (await queue.getJob(idOf(step.retry))).retry();
      else if ('remove' in step) await queue.remove(idOf(step.remove));
      else if ('promote' in step) await (await queue.getJob(idOf(step.promote))).promote();
    }
    for (const [l, id] of labelToId) {
      const job = await queue.getJob(id);
      result.jobs[l] = job ? await snapshotJob(job) : null;
      if (job) result.jobs[l]!.failedReason = labelKeys(result.jobs[l]!.failedReason) as string | null;
    }
    result.counts = await queue.getJobCounts();
    for (const { event, args } of rawEvents) push(result.events, label(args?.jobId), normalizeArgs(event, { ...args, ...(args?.failedReason !== undefined ? { failedReason: labelKeys(args.failedReason) } : {}) }, label));
    result.order = rawOrder.map((o) => `${label(o.id)}#${o.attemptsMade}`);
    for (const { id, rec } of rawWorkerEvents) push(result.workerEvents, label(id), rec.message === undefined ? rec : { ...rec, message: labelKeys(rec.message) });
    return result;
  } finally {
    await worker?.close();
    await flows?.close();
    await queueEvents.close();
    await queue.close();
  }
}

async function snapshotJob(job: any): Promise<JobSnapshot> {
  return {
    name: job.name,
    data: job.data,
    state: await job.getState(),
    returnvalue: job.returnvalue ?? null,
    failedReason: job.failedReason ?? null,
    attemptsMade: job.attemptsMade,
    progress: job.progress,
  };
}
/* eslint-enable @typescript-eslint/no-explicit-any */
