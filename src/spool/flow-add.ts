/**
 * Adding a flow: a tree of jobs across the queues of one spool, all or nothing. Every job's file
 * is written under the tmp/ of the root job's queue as one bulk (add.ts: `b-<tag>-<n>` files
 * between a `.open` marker and its rename to `.commit`), each file naming its own queue (`q`) and
 * linked into that queue's id index; only then are they renamed into place, parents first (a
 * parent into `waiting-children/`), children after. A producer that dies before the commit leaves
 * a bulk that the root queue's stalled check undoes; one that dies after it leaves files that
 * check publishes (tmp-recovery.ts), so a flow is never seen in part.
 *
 * A job whose custom id is taken is not added (as BullMQ, it is `duplicated`): the existing job
 * stands in for it. Its children in the flow are listed in the existing job's record before the
 * commit, and once the flow is in, the existing job is linked to its parent in the flow by
 * `Queue.add`'s rules for a duplicate child (deps.ts, linkDuplicate).
 */
import fs from 'node:fs';
import path from 'node:path';
import { SpoolkitError } from '../errors.js';
import type { JobsOptions } from '../types.js';
import { bulkTmpPath, commitBulk, decideUndo, newBulkTag, openBulk, prepare, takeId, undoneError, type Prepared } from './add.js';
import { attachChildren, childRef, clearRemoved, detachChildren, linkDuplicate, removeEntries, settleParent, siblingStore, splitRef, writeEntry } from './deps.js';
import { isErrno, tryReaddir, tryStat, tryUnlink } from './fs.js';
import { appendPatch, serializeRecord, type JobRecord } from './record.js';
import { readJob } from './lookup.js';
import { recycle } from './pool.js';
import { claimIdOf, type QueueStore } from './store.js';
import { isDiscardName } from './keys.js';
import { DeadAddRecovery, undoTempJob } from './tmp-recovery.js';

/** How often a flow still being written refreshes its bulk's `.open` marker. */
const OPEN_TOUCH_MS = 500;

/** One job of a flow, with its id chosen; `children` index into the same list. */
export interface FlowNodeSpec {
  queue: string;
  name: string;
  data: unknown;
  opts: JobsOptions;
  id: string;
  /** The parent's index in the list (absent for a root). */
  parent?: number;
  /** An existing job this root is a child of (`opts.parent` of a root). */
  parentOf?: { id: string; queue: string };
  children: number[];
}

interface Staged {
  store: QueueStore;
  p: Prepared;
  dest: string;
  tmp?: string;
  linked?: boolean;
  published?: boolean;
  /** The id was taken: the existing job stands in for this one. */
  duplicate?: boolean;
  /** Children of this flow a duplicate's existing job was made to await by this call. */
  listed?: string[];
}

/** A job of a flow as added: its record, and whether it was added (false: its id was taken). */
export interface FlowJobAdded {
  rec: JobRecord;
  added: boolean;
}

/**
 * Adds the jobs of one or more flows together (every parent listed before its children; jobs are
 * published in the list's order), all or nothing. `master` is the store whose tmp/ holds the bulk.
 * Returns the jobs, in the list's order; a job whose custom id is taken is not added (`added`
 * false) and the existing job stands in for it.
 */
export function addFlowJobs(master: QueueStore, nodes: FlowNodeSpec[], nowMs = Date.now()): FlowJobAdded[] {
  // A root naming an existing parent is listed among its children first (as Queue.add does),
  // once for the call: an attempt undone by another process is made again under the same listing.
  const attached = nodes.some((n) => n.parentOf !== undefined)
    ? attachChildren(
        master,
        nodes.map((n) => ({ opts: n.parentOf ? { parent: n.parentOf } : {} })),
        (i) => nodes[i]!.id,
        (i) => nodes[i]!.queue,
      )
    : [];
  try {
    try {
      return addFlowOnce(master, nodes, nowMs);
    } catch (err) {
      if (!(err instanceof SpoolkitError && err.code === 'ERR_ADD_UNDONE')) throw err;
      return addFlowOnce(master, nodes, nowMs);
    }
  } catch (err) {
    if (!(err instanceof SpoolkitError && err.details?.committed === true)) detachChildren(master, attached);
    throw err;
  }
}

function addFlowOnce(master: QueueStore, nodes: FlowNodeSpec[], nowMs: number): FlowJobAdded[] {
  const staged: Staged[] = nodes.map((n) => {
    const store = siblingStore(master, n.queue);
    const p = prepare(store, { name: n.name, data: n.data, opts: n.opts, presetId: n.id }, nowMs);
    const rec = p.rec;
    rec.id = n.id;
    if (n.queue !== master.name) rec.q = n.queue;
    const parent = n.parent !== undefined ? nodes[n.parent]! : undefined;
    if (parent) rec.parent = { id: parent.id, queue: parent.queue };
    else if (n.parentOf) rec.parent = n.parentOf;
    if (rec.opts.deduplication && n.children.length > 0) {
      throw new SpoolkitError('ERR_INVALID_JOB', `Job ${JSON.stringify(n.name)} of queue ${n.queue} has children and a deduplication id: spoolkit does not deduplicate parents; drop the deduplication option.`);
    }
    let dest: string;
    if (n.children.length > 0) {
      rec.deps = n.children.map((c) => childRef(nodes[c]!.queue, nodes[c]!.id));
      dest = store.filePath('waiting-children', rec.id);
    } else {
      dest = p.route.set.pathFor(p.route.key, rec.id);
    }
    rec.at = store.rel(dest);
    return { store, p, dest };
  });
  const ids = new Set<string>();
  for (const s of staged) {
    const key = childRef(s.store.name, s.p.rec.id);
    if (ids.has(key)) throw new SpoolkitError('ERR_INVALID_JOB', `Job id ${s.p.rec.id} appears twice in queue ${s.store.name} in one flow; give each job its own id.`);
    ids.add(key);
  }
  const bulk = newBulkTag(master);
  let intent: string | undefined = openBulk(master, bulk);
  let commit: string | undefined;
  try {
    const recoveries = new Map<QueueStore, DeadAddRecovery>();
    const recovery = (store: QueueStore): DeadAddRecovery => {
      let r = recoveries.get(store);
      if (!r) recoveries.set(store, (r = new DeadAddRecovery(store)));
      return r;
    };
    let touchedAt = Date.now();
    for (const s of staged) {
      // A long flow keeps its marker fresh: the files of its duplicates leave tmp/ at once, and an
      // open bulk with nothing new for two seconds is taken for stalled by other adds' quick pass.
      if (Date.now() - touchedAt >= OPEN_TOUCH_MS && intent) {
        touchedAt = Date.now();
        const when = new Date(touchedAt);
        try {
          fs.utimesSync(intent, when, when);
        } catch (err) {
          // Taken for stalled by another process, which undoes it: as a refused commit.
          if (isErrno(err, 'ENOENT')) throw undoneError(master);
          throw err;
        }
      }
      s.tmp = s.store.writeJobTmp(serializeRecord(s.p.rec, s.p.dataJson), bulkTmpPath(master, bulk));
      s.p.tmp = s.tmp;
      // As an add: an id held by a dead writer's files is settled first, a stale index name taken
      // back. A flow's files are in its root queue's tmp/: that queue's dead writers are settled too.
      if (takeId(s.store, s.p, nowMs, recovery(s.store)) || (s.store !== master && recovery(master).run(nowMs) && s.store.linkIdEntry(s.tmp, s.p.rec.id))) {
        s.linked = true;
        // The id is this flow's now: child files left under it by an earlier job of the id are stale.
        if (s.p.rec.deps) removeEntries(s.store, s.p.rec.id);
        continue;
      }
      // Taken: the existing job stands in, and must list this flow's children of it before any
      // of them can finish.
      const existing = readJob(s.store, s.p.rec.id);
      const refused = whyNotStandIn(s.store, s.p.rec.id, existing);
      if (refused !== undefined || !existing) throw takenError(s, refused ?? 'is being removed');
      recycle(s.store, s.tmp);
      s.tmp = undefined;
      s.duplicate = true;
      const known = new Set(existing.rec.deps ?? []);
      // Children listed already whose `removed` file an undone add or a removal left: awaited
      // again (not one that exists and names this parent: it failed with removeDependencyOnFailure).
      const relisted = (s.p.rec.deps ?? []).filter((r) => known.has(r));
      s.listed = clearRemoved(s.store, s.p.rec.id, relisted, (r) => !namesParent(master, r, s.store.name, s.p.rec.id));
      const refs = (s.p.rec.deps ?? []).filter((r) => !known.has(r));
      if (refs.length > 0) {
        try {
          appendPatch(s.store.idPath(s.p.rec.id), { addDeps: refs, i: s.p.rec.id });
        } catch (err) {
          if (isErrno(err, 'ENOENT')) throw takenError(s, 'is being removed');
          throw err;
        }
        s.listed.push(...refs);
      }
    }
    // Every job has its file and id name: from here a crash leaves the flow to be published.
    commit = commitBulk(master, bulk, intent!);
    intent = undefined;
    if (commit === undefined) throw undoneError(master);
    // Committed, so the flow will be whole: its jobs' events go into the logs before the jobs
    // become visible (as BullMQ writes them with the job), so none can be heard started first.
    for (const s of staged) {
      if (s.duplicate) continue;
      const rec = s.p.rec;
      s.store.events.append('added', { jobId: rec.id, name: rec.name });
      if (rec.deps) s.store.events.append('waiting-children', { jobId: rec.id });
      else if (s.p.route.place === 'delayed') s.store.events.append('delayed', { jobId: rec.id, delay: rec.timestamp + rec.delay });
      else s.store.events.append('waiting', { jobId: rec.id });
    }
    for (const store of new Set(staged.map((s) => s.store))) store.events.flushQuietly();
    for (const s of staged) {
      if (s.duplicate) continue;
      try {
        s.store.publish(s.tmp!, s.dest, () => (s.published = true));
      } catch (err) {
        // Published by a stalled check meanwhile (committed files are never undone).
        if (!isErrno(err, 'ENOENT') || fs.existsSync(s.tmp!)) throw err;
        s.published = true;
      }
    }
    tryUnlink(commit);
  } catch (err) {
    if (commit) throw committedFlowError(master, err);
    // Not committed: undone here, unless another process took the call for dead and undoes it.
    if (intent) intent = decideUndo(master, bulk, intent);
    const ours = intent !== undefined;
    for (const s of staged) {
      if (!s.tmp) continue;
      if (ours) {
        if (s.linked) s.store.removeIdEntry(s.p.rec.id);
        tryUnlink(s.tmp);
      } else {
        const st = tryStat(s.tmp);
        if (st) undoTempJob(s.store, s.tmp, st.ino, s.p.rec, nowMs);
      }
    }
    if (intent) tryUnlink(intent);
    // Children listed (or awaited again) in existing jobs for this call will not come, unless
    // another add made one of them meanwhile (it names the parent): that one stays awaited.
    // Each child on its own: one unreadable record does not keep the others awaited, and the
    // caller gets the add's own error. One left is handled as after an undo by another process:
    // taken as removed after five minutes if it does not exist, linked by the sweep once it
    // finishes if it does.
    for (const s of staged) {
      let gone = 0;
      for (const k of s.listed ?? []) {
        try {
          if (namesParent(master, k, s.store.name, s.p.rec.id)) continue;
          writeEntry(s.store, s.p.rec.id, { k, s: 'removed', t: Date.now() });
          gone++;
        } catch {
          // left awaited (see above)
        }
      }
      if (gone === 0) continue;
      try {
        settleParent(s.store, s.p.rec.id, false, true);
      } catch {
        // the sweep checks it again
      }
    }
    throw err;
  }
  for (const s of staged) if (s.duplicate) s.store.events.append('duplicated', { jobId: s.p.rec.id });
  // An existing job standing in for a child of the flow is linked to its parent now (a crash
  // before this is mended by the parent queue's stalled check, which links it the same way).
  for (const s of staged) {
    if (s.duplicate && s.p.rec.parent) linkDuplicate(s.store, s.p.rec.id, s.p.rec.parent);
  }
  for (const store of new Set(staged.map((s) => s.store))) store.wakeLocal();
  return staged.map((s) => ({ rec: s.p.rec, added: !s.duplicate }));
}

function takenError(s: Staged, why: string): SpoolkitError {
  return new SpoolkitError('ERR_DUPLICATE_JOB', `Job id ${s.p.rec.id} of queue ${s.store.name} ${why}; nothing of the flow was added: add it again in a moment.`, {
    details: { queue: s.store.name, jobId: s.p.rec.id },
  });
}

/**
 * Why an existing job of this id (`first`: as just read) cannot stand in for a flow's job, or
 * undefined when it can. A job in no set and not claimed is another call's files, not yet visible
 * (they may still be undone), or one being removed. Looked at twice: a job that left `active/`
 * between the read and the look at the claims (finished, put back) is found in its new place.
 */
function whyNotStandIn(store: QueueStore, id: string, first: ReturnType<typeof readJob>): string | undefined {
  let found = first;
  for (let look = 0; ; look++) {
    if (!found) return 'is being removed';
    if (found.loc.place !== 'active' || store.findClaimed(id).length > 0) return undefined;
    if (look === 1) break;
    found = readJob(store, id);
  }
  const removing = tryReaddir(path.join(store.dir, 'reclaiming')).some((n) => claimIdOf(n) === id && isDiscardName(n));
  return removing ? 'is being removed' : 'is being added by another call';
}

/** Whether the child `ref` exists and names the parent `parentId` of queue `parentQueue`. */
function namesParent(master: QueueStore, ref: string, parentQueue: string, parentId: string): boolean {
  const { queue, id } = splitRef(ref);
  const parent = readJob(siblingStore(master, queue), id)?.rec.parent;
  return parent?.id === parentId && parent.queue === parentQueue;
}

function committedFlowError(master: QueueStore, err: unknown): SpoolkitError {
  const cause = err instanceof Error ? err : new Error(String(err));
  return new SpoolkitError(
    err instanceof SpoolkitError ? err.code : 'ERR_SPOOL_UNWRITABLE',
    `Adding a flow failed after it committed (${cause.message}). The flow is added all the same: the jobs not yet visible are published by a worker's stalled check of queue ${master.name} within about five minutes. Do not add it again; fix the cause above.`,
    { cause, details: { committed: true } },
  );
}
