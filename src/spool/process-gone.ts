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
 * Whether the process a spool file names by host, pid namespace, pid and process tag (the random
 * `PROCESS_TAG` each process picks at start) is known to be gone. Only a record from this host
 * and this pid namespace is judged; a record without a namespace (older versions) never is. In
 * it, this process's pid with another tag is an earlier process whose pid this one now has.
 */
export function taggedProcessGone(hostname: string, pidNamespace: string | undefined, pid: number, tag: string | undefined): boolean {
  if (hostname !== os.hostname() || pidNamespace !== PID_NAMESPACE) return false;
  if (pid === process.pid) return tag !== undefined && tag !== PROCESS_TAG;
  return processGoneOnThisHost(hostname, pid);
}
