/**
 * Whether a process named in a spool file (a heartbeat, a lock's owner) is known to be gone.
 * Only a process on this host can be checked; one on another host (another container with its
 * own hostname) is never reported gone, so callers fall back to a time limit for those.
 */
import os from 'node:os';

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
