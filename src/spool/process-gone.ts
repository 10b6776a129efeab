/**
 * Whether a process named in a spool file (a heartbeat, a lock's owner) is known to be gone.
 * Only a process on this host can be checked; one on another host (another container with its
 * own hostname) is never reported gone, so callers fall back to a time limit for those.
 */
import os from 'node:os';
import { PROCESS_TAG } from './keys.js';

/** True when `hostname` is this host and no process `pid` exists on it. */
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
 * Like {@link processGoneOnThisHost}, for a file that also names the writer's process tag (the
 * random `PROCESS_TAG` each process picks at start). The same host and pid as this process with
 * another tag is an earlier process whose pid this one now has: a restarted container's processes
 * start with the same pids, so "is that pid alive" would answer for the wrong process. Without a
 * tag (files from versions that wrote none) a record naming this pid is taken as this process's.
 */
export function taggedProcessGone(hostname: string, pid: number, tag: string | undefined): boolean {
  if (hostname === os.hostname() && pid === process.pid) return tag !== undefined && tag !== PROCESS_TAG;
  return processGoneOnThisHost(hostname, pid);
}
