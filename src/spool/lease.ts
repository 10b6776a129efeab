/**
 * Leases. A worker owns an active job while `active/<id>.<tag>.json` exists under the name it
 * claimed it with; the tag is unique to the claim, so no other claim can ever hold that name.
 *
 * - The claim rename sets the file's ctime; renewal (`utimes`) sets mtime and ctime to now, and so
 *   does any append (progress, data). The lease time is max(ctime, mtime); the lease has expired
 *   when that is older than `lockDuration`.
 * - The stalled checker (reclaim.ts) takes only files whose lease expired, by renaming them into
 *   `reclaiming/`, so exactly one reclaimer wins and the owner then sees ENOENT: lease lost.
 *
 * A lost lease fires the processor's AbortSignal; its result is discarded.
 */
import fs from 'node:fs';
import { isErrno, rethrowFs } from './fs.js';
import type { Claim } from './claim.js';

/** Renews the lease (utimes); false when it was lost. */
export function renewLease(claim: Claim, nowMs = Date.now()): boolean {
  try {
    const t = nowMs / 1000;
    fs.utimesSync(claim.path, t, t);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    return rethrowFs(err, claim.path);
  }
  claim.renewedAt = nowMs;
  return true;
}

/** Lease time of an active file from its stat. */
export function leaseTime(st: fs.Stats): number {
  return Math.max(st.ctimeMs, st.mtimeMs);
}
