/**
 * Whether a process named in a spool file (a heartbeat, a lock's owner) is known to be gone.
 * Only a process in this process's pid namespace on this host can be checked: one on another
 * host, or in another container (its own pid namespace, even under the same hostname, as with
 * `network_mode: host` or a fixed `hostname:` on replicas), is never reported gone, so callers
 * fall back to a time limit (a lease, a lock's age) for those.
 */
import fs from 'node:fs';
import os from 'node:os';
import { PROCESS_TAG } from './keys.js';

function readPidNamespace(): string {
  try {
    return fs.readlinkSync('/proc/self/ns/pid');
  } catch {
    return ''; // no /proc (not Linux): no pid namespaces either
  }
}

/** This process's pid namespace as Linux names it (`pid:[4026531836]`), or '' where /proc does not say. */
export const PID_NAMESPACE = readPidNamespace();

/**
 * This process's start time in clock ticks since boot (`/proc/self/stat`, field 22): the same in
 * every thread of the process, different for a later process that gets the same pid.
 */
function readStartTicks(): number | undefined {
  return statOf('self')?.startTicks;
}

/** State and start time of a process from `/proc/<pid>/stat`, or undefined when it has none (gone, or no /proc). */
function statOf(pid: number | 'self'): { state: string; startTicks: number | undefined } | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name (which may hold spaces) start with field 3, the state.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = fields[22 - 3];
  return { state: fields[0] ?? '', startTicks: ticks !== undefined && /^\d+$/.test(ticks) ? Number(ticks) : undefined };
}

const START_TICKS = readStartTicks();

/**
 * True when the /proc this process sees belongs to its own pid namespace (`/proc/self` names its
 * pid): a pid namespace entered without a /proc of its own (`unshare --pid --fork` without
 * `--mount-proc`) sees its parent's, where a pid of this namespace names another process.
 */
function readProcIsOurs(): boolean {
  try {
    return fs.readlinkSync('/proc/self') === String(process.pid);
  } catch {
    return false;
  }
}

const PROC_IS_OURS = readProcIsOurs();

/**
 * Names this process, all its threads alike, in heartbeats and lock owners: its start time where
 * /proc tells it. (`PROCESS_TAG` differs per thread: each thread loads its own copy of the
 * modules, and names made from it must be unique per thread.) Elsewhere a per-thread random tag,
 * which is never used to judge this pid gone.
 */
export const LIVENESS_TAG = START_TICKS !== undefined ? `t${START_TICKS.toString(36)}` : `r${PROCESS_TAG}`;

/** True when `hostname` is this host and no process `pid` exists on it. Says nothing of namespaces. */
export function processGoneOnThisHost(hostname: string, pid: number): boolean {
  if (hostname !== os.hostname() || !Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Whether the process a spool file names by host, pid namespace, pid and tag (`LIVENESS_TAG`, or
 * an older version's random tag) is known to be gone. Only a record from this host and this pid
 * namespace is judged; a record without a namespace (older versions) never is. In it, this
 * process's pid with another tag is an earlier process whose pid this one now has (judged only
 * where the tag is this process's start time, the same in all its threads).
 */
export function taggedProcessGone(hostname: string, pidNamespace: string | undefined, pid: number, tag: string | undefined): boolean {
  if (hostname !== os.hostname() || pidNamespace !== PID_NAMESPACE) return false;
  if (pid === process.pid) return START_TICKS !== undefined && tag !== undefined && tag !== LIVENESS_TAG;
  return processGoneOnThisHost(hostname, pid);
}

/**
 * The liveness tag of another process of this pid namespace (its start time, as `LIVENESS_TAG`
 * names this one), or undefined where /proc does not tell.
 */
export function livenessTagOf(pid: number): string | undefined {
  if (!PROC_IS_OURS) return undefined;
  const ticks = statOf(pid)?.startTicks;
  return ticks === undefined ? undefined : `t${ticks.toString(36)}`;
}

/**
 * Whether a process of this pid namespace, named by pid and liveness tag, is gone: no such pid, a
 * zombie (dead, not yet reaped: an orphan whose new parent does not reap), or a later process
 * that got the pid. Without a /proc of this pid namespace, or without a tag (its writer could not
 * read one), it is never judged gone.
 */
export function processOfTagGone(pid: number, tag: string): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0 || !PROC_IS_OURS || tag === '') return false;
  const st = statOf(pid);
  if (!st) return START_TICKS !== undefined;
  if (st.state === 'Z' || st.state === 'X') return true;
  return st.startTicks !== undefined && `t${st.startTicks.toString(36)}` !== tag;
}
