/**
 * BullMQ's FlowProducer: adds a tree of jobs across queues of one spool, all or nothing. A job
 * with children waits in `waiting-children` until every child is done, then runs; its processor
 * reads the children's results with `job.getChildrenValues()`. See spool/flow-add.ts for how a
 * tree is written and spool/deps.ts for how parents learn of their children.
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { SpoolkitError } from './errors.js';
import { Job, type JobHost } from './job.js';
import { assertInlineProcessor, runInline } from './inline.js';
import { dependenciesOf, KEY_PREFIX, parentQueueName, splitRef } from './spool/deps.js';
import { validateJobOptions, withoutUnsetOptions } from './spool/job-options.js';
import { addFlowJobs, type FlowNodeSpec } from './spool/flow-add.js';
import { readJob } from './spool/lookup.js';
import { inlineFromEnv, openQueueStore } from './spool/open.js';
import type { QueueStore } from './spool/store.js';
import { assertQueueName, lookupJobId } from './spool/validate.js';
import type { JobsOptions, SpoolOptions } from './types.js';

/** One job of a flow and its children (BullMQ's FlowJob). */
export interface FlowJob {
  name: string;
  queueName: string;
  data?: any;
  /** Accepted and ignored (BullMQ's Redis key prefix). */
  prefix?: string;
  opts?: Omit<JobsOptions, 'repeat'>;
  children?: FlowChildJob[];
}

/** A child in a flow: a FlowJob whose parent is the node above it. */
export type FlowChildJob = Omit<FlowJob, 'opts'> & { opts?: Omit<JobsOptions, 'repeat' | 'parent'> };

/** A job of a flow as added or read back, with its children (leaves have none). */
export interface JobNode {
  job: Job;
  children?: (JobNode | undefined)[];
}

/** Options of one `add`: per-queue defaults merged under each job's own options. */
export interface FlowOpts {
  queuesOptions?: { [queueName: string]: { defaultJobOptions?: JobsOptions } };
}

/** Options of a FlowProducer. */
export interface FlowProducerOptions extends SpoolOptions {
  /** Run the added jobs at once in this process (inline mode); default `SPOOLKIT_INLINE=1`. */
  inline?: boolean;
}

/** What `getFlow` reads. */
export interface NodeOpts {
  id: string;
  queueName: string;
  /** Accepted and ignored. */
  prefix?: string;
  /** Levels to read, the top one included (default 10). */
  depth?: number;
  /** Children to read per job and kind (default 20). */
  maxChildren?: number;
}

export class FlowProducer extends EventEmitter {
  private readonly stores = new Map<string, QueueStore>();
  private readonly hosts = new Map<string, JobHost>();
  private readonly inline: boolean;
  private closed = false;

  readonly opts: FlowProducerOptions;

  constructor(opts: FlowProducerOptions = {}) {
    super();
    // null reads as no options, as in BullMQ (which spreads it).
    this.opts = opts ?? {};
    this.inline = this.opts.inline ?? inlineFromEnv();
  }

  /** Resolves at once: there is no connection to wait for. */
  async waitUntilReady(): Promise<void> {}

  /** Adds a flow; resolves with its tree of jobs, as added (children in the order given). */
  async add(flow: FlowJob, opts: FlowOpts = {}): Promise<JobNode> {
    const [node] = await this.addFlows([flow], opts);
    return node!;
  }

  /** Adds several flows together, all or nothing. */
  async addBulk(flows: FlowJob[]): Promise<JobNode[]> {
    return this.addFlows(flows, {});
  }

  private async addFlows(flows: FlowJob[], opts: FlowOpts): Promise<JobNode[]> {
    this.assertOpen();
    if (!Array.isArray(flows) || flows.length === 0) return [];
    const nodes: FlowNodeSpec[] = [];
    const roots = flows.map((f) => this.flatten(f, nodes, opts));
    if (this.inline) for (const queue of new Set(nodes.map((n) => n.queue))) assertInlineProcessor(this.host(queue));
    const master = this.store(nodes[0]!.queue);
    const added = addFlowJobs(master, nodes);
    const jobs = added.map((a, i) => Job.fromRecord(this.host(nodes[i]!.queue), a.rec));
    const build = (i: number): JobNode => {
      const n = nodes[i]!;
      return n.children.length > 0 ? { job: jobs[i]!, children: n.children.map(build) } : { job: jobs[i]! };
    };
    if (this.inline) {
      // Each finished child moves its parent on, and the parent runs once its children are done.
      await runInline(jobs.flatMap((job, i) => (added[i]!.added ? [{ host: this.host(nodes[i]!.queue), job }] : [])));
    }
    return roots.map(build);
  }

  /**
   * Checks a flow's nodes and lists them level by level (a parent before its children, siblings in
   * their order: the order BullMQ adds them in, so jobs ready at once wait in the same order),
   * giving each an id (`opts.jobId` or a UUID, as BullMQ). Returns the root's index.
   */
  private flatten(root: FlowJob, out: FlowNodeSpec[], opts: FlowOpts): number {
    const first = out.length;
    const level: { flow: FlowJob; parent: number | undefined; depth: number }[] = [{ flow: root, parent: undefined, depth: 0 }];
    for (let i = 0; i < level.length; i++) {
      const { flow, parent, depth } = level[i]!;
      const index = this.addNode(flow, parent, out, opts, depth);
      if (parent !== undefined) out[parent]!.children.push(index);
      for (const c of flow.children ?? []) level.push({ flow: c as FlowJob, parent: index, depth: depth + 1 });
    }
    return first;
  }

  /** Checks one flow node and appends it to `out`; returns its index. */
  private addNode(flow: FlowJob, parent: number | undefined, out: FlowNodeSpec[], opts: FlowOpts, depth: number): number {
    if (typeof flow !== 'object' || flow === null) throw new SpoolkitError('ERR_INVALID_JOB', 'A flow job must be an object { name, queueName, data?, opts?, children? }.');
    if (typeof flow.queueName !== 'string') throw new SpoolkitError('ERR_INVALID_JOB', `Flow job ${JSON.stringify(flow.name)} has no queueName; every job of a flow names its queue.`);
    assertQueueName(flow.queueName);
    if (depth > 1000) throw new SpoolkitError('ERR_INVALID_JOB', 'A flow may be at most 1000 levels deep.');
    const children = flow.children ?? [];
    if (!Array.isArray(children)) throw new SpoolkitError('ERR_INVALID_JOB', `children of flow job ${JSON.stringify(flow.name)} must be an array.`);
    const given = (flow.opts ?? {}) as JobsOptions;
    if (given.deduplication && children.length > 0) throw new SpoolkitError('ERR_INVALID_JOB', 'Deduplication options cannot be used on flow nodes with children');
    if (given.deduplication?.keepLastIfActive && (parent !== undefined || given.parent)) {
      throw new SpoolkitError('ERR_INVALID_JOB', 'keepLastIfActive deduplication cannot be used on flow nodes with a parent');
    }
    const defaults = opts.queuesOptions?.[flow.queueName]?.defaultJobOptions ?? {};
    const merged: JobsOptions = { ...defaults, ...given };
    const p = parent === undefined ? undefined : out[parent]!;
    // A child's `parent` is the node above it; a root's names an existing job (or none).
    if (p) merged.parent = { id: p.id, queue: `${KEY_PREFIX}:${p.queue}` };
    // Checked here, before anything is written (a root's `parent` is attached first).
    validateJobOptions(withoutUnsetOptions(merged), flow.name);
    const spec: FlowNodeSpec = { queue: flow.queueName, name: flow.name, data: flow.data ?? {}, opts: merged, id: merged.jobId ?? randomUUID(), children: [] };
    if (p) spec.parent = parent;
    else if (merged.parent) spec.parentOf = { id: merged.parent.id, queue: parentQueueName(merged.parent.queue) };
    out.push(spec);
    return out.length - 1;
  }

  /**
   * Reads a flow back from its top job: the job and, down to `depth` levels, its children
   * (processed first, then unprocessed, failed and ignored ones, at most `maxChildren` of each, as
   * BullMQ); a child that no longer exists is `undefined`. Undefined when the job does not exist.
   */
  async getFlow(opts: NodeOpts): Promise<JobNode | undefined> {
    this.assertOpen();
    const depth = opts.depth ?? 10;
    const maxChildren = opts.maxChildren ?? 20;
    return this.readNode(opts.queueName, opts.id, depth, maxChildren);
  }

  private readNode(queue: string, jobId: string, depth: number, maxChildren: number): JobNode | undefined {
    const store = this.store(queue);
    const id = lookupJobId(jobId);
    const found = id !== undefined ? readJob(store, id) : undefined;
    if (!found) return undefined;
    const job = Job.fromRecord(this.host(queue), found.rec);
    if (depth <= 1 || !found.rec.deps?.length) return { job };
    const deps = dependenciesOf(store, found.rec.id);
    const refs = [...deps.processed.map(([r]) => r).slice(0, maxChildren), ...deps.unprocessed.slice(0, maxChildren), ...deps.failed.slice(0, maxChildren), ...deps.ignored.map(([r]) => r).slice(0, maxChildren)];
    if (refs.length === 0) return { job };
    return {
      job,
      children: refs.map((ref) => {
        const c = splitRef(ref);
        return this.readNode(c.queue, c.id, depth - 1, maxChildren);
      }),
    };
  }

  /** Closes the producer; later calls fail with ERR_CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const store of this.stores.values()) store.events.flush();
    this.emit('closed');
  }

  /** The same as `close`. */
  async disconnect(): Promise<void> {
    return this.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new SpoolkitError('ERR_CLOSED', 'This FlowProducer is closed; create a new one.');
  }

  private store(queue: string): QueueStore {
    let store = this.stores.get(queue);
    if (!store) {
      store = openQueueStore(queue, this.opts, this.opts.logger);
      this.stores.set(queue, store);
    }
    return store;
  }

  private host(queue: string): JobHost {
    let host = this.hosts.get(queue);
    if (!host) {
      host = { name: queue, store: this.store(queue) };
      this.hosts.set(queue, host);
    }
    return host;
  }
}
