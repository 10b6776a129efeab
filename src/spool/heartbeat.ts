/**
 * Heartbeat files: `<root>/workers/<workerId>.json`, rewritten (temp + rename) at start and every
 * `heartbeatIntervalMs`, removed on close. A file whose `heartbeatAt` is old belongs to a process
 * that died or hangs. Workers write them, and so do scheduler loops (`kind: "scheduler"`), which
 * run no jobs: readers that count workers skip those.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isErrno, mkdirp, rethrowFs, tryReaddir, tryUnlink, type FileModes } from './fs.js';

/** What wrote a heartbeat: a Worker, or a scheduler loop (the scheduler role), which runs no jobs. */
export type HeartbeatKind = 'worker' | 'scheduler';

/** One worker (or scheduler loop) as its heartbeat file describes it. */
export interface WorkerHeartbeat {
  workerId: string;
  /** Files written before this field existed are workers'. */
  kind: HeartbeatKind;
  hostname: string;
  pid: number;
  /** The writer's process tag: with `hostname` and `pid`, tells a dead process from a later one that got its pid. Absent in files of older versions. */
  processTag?: string;
  /** The writer's pid namespace (`pid:[…]`, '' without /proc): only a reader in the same one can check `pid`. Absent in files of older versions. */
  pidNamespace?: string;
  queues: string[];
  startedAt: number;
  heartbeatAt: number;
  /** Milliseconds since `heartbeatAt`, computed by the reader. */
  ageMs: number;
  concurrency: number;
  running: number;
  processed: number;
  failed: number;
  meta: Record<string, unknown>;
  /** Per-queue completions and failures in the minute before `heartbeatAt`. */
  recent?: Record<string, { completed: number; failed: number }>;
  /** Ids of the jobs this worker holds leases on. */
  activeJobs?: string[];
  /** Names of its active files (`<id>.<tag>.json`), so a worker on the same host can recover them if this process dies. */
  activeClaims?: string[];
  /** The claim owner every claim tag of its process starts with (claim.ts), so claims made after this heartbeat are recovered too. */
  claimOwner?: string;
  /**
   * Its sandbox's child processes, by pid and liveness tag (start time): a child outlives a killed
   * worker until it notices, so its jobs are recovered at once only when these are gone too.
   */
  children?: { pid: number; tag: string }[];
}

/** The valid entries of a heartbeat's `children`. */
function childrenOf(list: unknown[]): { pid: number; tag: string }[] {
  const out: { pid: number; tag: string }[] = [];
  for (const c of list) {
    const { pid, tag } = (c ?? {}) as { pid?: unknown; tag?: unknown };
    if (typeof pid === 'number' && typeof tag === 'string') out.push({ pid, tag });
  }
  return out;
}

/** Path of a worker's heartbeat file. */
export function heartbeatPath(root: string, workerId: string): string {
  return path.join(root, 'workers', `${workerId}.json`);
}

/** Writes a heartbeat file atomically. */
export function writeHeartbeat(root: string, hb: Omit<WorkerHeartbeat, 'ageMs'>, modes: FileModes): void {
  const file = heartbeatPath(root, hb.workerId);
  const tmp = `${file}.${process.pid}.tmp`;
  const body = JSON.stringify(hb);
  try {
    fs.writeFileSync(tmp, body, { mode: modes.file });
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) rethrowFs(err, tmp);
    mkdirp(path.dirname(file), modes);
    fs.writeFileSync(tmp, body, { mode: modes.file });
  }
  if (modes.chmodFiles) fs.chmodSync(tmp, modes.file);
  fs.renameSync(tmp, file);
}

/**
 * A heartbeat not rewritten for this long belongs to a process that is gone where it cannot be
 * judged (another host, such as a container replaced after a crash, or another pid namespace): a
 * Worker's stalled check removes it. Its jobs never depended on it (their leases expire), and a
 * process that still runs writes it again at its next beat.
 */
export const ABANDONED_HEARTBEAT_MS = 24 * 3600_000;

/** Whether a heartbeat is old enough to be removed whoever wrote it (`ABANDONED_HEARTBEAT_MS`). */
export function abandoned(hb: Pick<WorkerHeartbeat, 'ageMs'>): boolean {
  return hb.ageMs > ABANDONED_HEARTBEAT_MS;
}

/** Removes a heartbeat file. */
export function removeHeartbeat(root: string, workerId: string): void {
  tryUnlink(heartbeatPath(root, workerId));
}

/** Reads every heartbeat file (unreadable ones are skipped). */
export function readHeartbeats(root: string, nowMs = Date.now()): WorkerHeartbeat[] {
  const dir = path.join(root, 'workers');
  const out: WorkerHeartbeat[] = [];
  for (const name of tryReaddir(dir)) {
    if (!name.endsWith('.json')) continue;
    let text: string;
    try {
      text = fs.readFileSync(path.join(dir, name), 'utf8');
    } catch {
      continue;
    }
    try {
      const hb = JSON.parse(text) as Omit<WorkerHeartbeat, 'ageMs'>;
      if (typeof hb.workerId !== 'string' || typeof hb.heartbeatAt !== 'number') continue;
      out.push({
        workerId: hb.workerId,
        kind: hb.kind === 'scheduler' ? 'scheduler' : 'worker',
        hostname: String(hb.hostname ?? ''),
        pid: Number(hb.pid ?? 0),
        ...(typeof hb.processTag === 'string' ? { processTag: hb.processTag } : {}),
        ...(typeof hb.pidNamespace === 'string' ? { pidNamespace: hb.pidNamespace } : {}),
        queues: Array.isArray(hb.queues) ? hb.queues.map(String) : [],
        startedAt: Number(hb.startedAt ?? 0),
        heartbeatAt: hb.heartbeatAt,
        ageMs: Math.max(0, nowMs - hb.heartbeatAt),
        concurrency: Number(hb.concurrency ?? 0),
        running: Number(hb.running ?? 0),
        processed: Number(hb.processed ?? 0),
        failed: Number(hb.failed ?? 0),
        meta: typeof hb.meta === 'object' && hb.meta !== null ? hb.meta : {},
        ...(hb.recent ? { recent: hb.recent } : {}),
        ...(Array.isArray(hb.activeJobs) ? { activeJobs: hb.activeJobs.map(String) } : {}),
        ...(Array.isArray(hb.activeClaims) ? { activeClaims: hb.activeClaims.map(String) } : {}),
        ...(typeof hb.claimOwner === 'string' && hb.claimOwner !== '' ? { claimOwner: hb.claimOwner } : {}),
        ...(Array.isArray(hb.children) ? { children: childrenOf(hb.children) } : {}),
      });
    } catch {
      // torn or foreign file
    }
  }
  out.sort((a, b) => (a.workerId < b.workerId ? -1 : 1));
  return out;
}

/** The heartbeats of one kind: Workers (those that run jobs) or scheduler loops. */
export function ofKind<T extends Pick<WorkerHeartbeat, 'kind'>>(heartbeats: readonly T[], kind: HeartbeatKind): T[] {
  return heartbeats.filter((h) => h.kind === kind);
}

/** How many heartbeats are fresh (at most `staleAfterMs` old) and how many stale. */
export function liveAndStale(heartbeats: readonly Pick<WorkerHeartbeat, 'ageMs'>[], staleAfterMs: number): { live: number; stale: number } {
  const live = heartbeats.filter((h) => h.ageMs <= staleAfterMs).length;
  return { live, stale: heartbeats.length - live };
}
