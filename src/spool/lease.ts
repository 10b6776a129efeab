/**
 * Leases. A worker owns an active job while `active/<id>.json` is the file it claimed:
 *
 * - The claim rename sets the file's ctime; renewal (`utimes`) sets mtime and ctime to now. The
 *   lease time is max(ctime, mtime); it has expired when older than `lockDuration`.
 * - The owner remembers the file's inode. If the inode changed, the file was rewritten: when the
 *   new record has the generation the owner claimed, another process with the job in hand updated
 *   progress or data, and the owner adopts the new file; any other generation, or no file at all,
 *   means the lease is lost (the stalled checker took it, or the job was removed).
 * - The stalled checker (reclaim.ts) only takes files whose lease expired, by renaming them into
 *   `reclaiming/`, so exactly one reclaimer wins and the owner sees ENOENT.
 *
 * A lost lease fires the processor's AbortSignal; its result is discarded.
 */
import fs from 'node:fs';
import { isErrno, rethrowFs } from './fs.js';
import type { Claim } from './claim.js';
import { parseJobRecord } from './record.js';

/** True while `claim` is still this process's lease. May adopt a rewrite by a helper process. */
export function checkLease(claim: Claim): boolean {
  let st: fs.Stats;
  try {
    st = fs.statSync(claim.path);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    return rethrowFs(err, claim.path);
  }
  if (st.ino === claim.ino) return true;
  let text: string;
  try {
    text = fs.readFileSync(claim.path, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    return rethrowFs(err, claim.path);
  }
  try {
    const rec = parseJobRecord(text, claim.path);
    if (rec.gen !== claim.gen || rec.id !== claim.id) return false;
    // Adopt what the helper wrote; keep what only the owner tracks.
    claim.rec.progress = rec.progress;
    claim.rec.data = rec.data;
    claim.ino = fs.statSync(claim.path).ino;
    return true;
  } catch {
    return false;
  }
}

/** Renews the lease (utimes); false when it was lost. */
export function renewLease(claim: Claim, nowMs = Date.now()): boolean {
  if (!checkLease(claim)) return false;
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
