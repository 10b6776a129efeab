/**
 * Naming the process that claims a run or holds a scheduler's lock, so that another process of
 * the same host and pid namespace can tell at once that it died (as worker heartbeats and the
 * spool's lock files do); a claimer elsewhere is judged by age only.
 */
import os from 'node:os';
import { LIVENESS_TAG, PID_NAMESPACE, processOfTagGone, taggedProcessGone } from '../spool/process-gone.js';
import type { ClaimerIdentity } from './types.js';

/** This process, as markers and lock files name it. */
export function thisClaimer(): ClaimerIdentity {
  return { hostname: os.hostname(), pidNamespace: PID_NAMESPACE, pid: process.pid, tag: LIVENESS_TAG };
}

/** True when `claimer` is known to be gone; false when it lives, is elsewhere, or is not named. */
export function claimerGone(claimer: Partial<ClaimerIdentity> | undefined): boolean {
  if (claimer === undefined || typeof claimer.hostname !== 'string' || typeof claimer.pid !== 'number') return false;
  if (taggedProcessGone(claimer.hostname, claimer.pidNamespace, claimer.pid, claimer.tag)) return true;
  // A later process that got the pid (its start time differs) does not keep a dead claim alive.
  const local = claimer.hostname === os.hostname() && claimer.pidNamespace === PID_NAMESPACE && PID_NAMESPACE !== '';
  return local && claimer.pid !== process.pid && typeof claimer.tag === 'string' && claimer.tag.startsWith('t') && processOfTagGone(claimer.pid, claimer.tag);
}
