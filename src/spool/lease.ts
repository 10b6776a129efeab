/**
 * Leases. A worker owns an active job while `active/<id>.<tag>.json` exists under the name it
 * claimed it with; the tag is unique to the claim, so no other claim can ever hold that name.
 *
 * - The claim rename sets the file's ctime; renewal (`utimes`, or an appended empty line where the
 *   worker does not own the file) sets mtime and ctime to now, and so does any append (progress,
 *   data). The lease time is max(ctime, mtime); the lease has expired
 *   when that is older than `lockDuration`.
 * - The stalled checker (reclaim.ts) takes only files whose lease expired, by renaming them into
 *   `reclaiming/`, so exactly one reclaimer wins and the owner then sees ENOENT: lease lost.
 *
 * A lost lease fires the processor's AbortSignal; its result is discarded.
 */
import fs from 'node:fs';
import { isErrno, rethrowFs } from './fs.js';
import type { Claim } from './claim.js';

/** Open flags of a renewal by append: never create (a taken claim's name must stay gone). */
const APPEND_ONLY = fs.constants.O_WRONLY | fs.constants.O_APPEND;

/**
 * Renews the lease; false when it was lost. `utimes` with explicit times needs the file's owner,
 * and a job file belongs to whoever added the job (often the web user, not the worker's): when it
 * is refused, the lease is renewed by appending an empty line instead (write permission is
 * enough, and readers skip empty lines), and so for the rest of the claim.
 */
export function renewLease(claim: Claim, nowMs = Date.now()): boolean {
  try {
    if (claim.renewByAppend) appendEmptyLine(claim.path);
    else {
      try {
        const t = nowMs / 1000;
        fs.utimesSync(claim.path, t, t);
      } catch (err) {
        if (!isErrno(err, 'EPERM') && !isErrno(err, 'EACCES')) throw err;
        claim.renewByAppend = true;
        appendEmptyLine(claim.path);
      }
    }
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    return rethrowFs(err, claim.path);
  }
  claim.renewedAt = nowMs;
  return true;
}

/** Appends one newline: sets the file's mtime and ctime to now with only write permission. */
function appendEmptyLine(file: string): void {
  const fd = fs.openSync(file, APPEND_ONLY);
  try {
    fs.writeSync(fd, '\n');
  } finally {
    fs.closeSync(fd);
  }
}

/** Separates a claim tag from the lease length it carries (`<unique>~<ms, base 36>`). */
export const LEASE_MARK = '~';

/** The lease length an active file's name carries, or undefined (older claims, holds). */
export function leaseMsOfName(name: string): number | undefined {
  const end = name.endsWith('.json') ? name.length - 5 : name.length;
  const mark = name.lastIndexOf(LEASE_MARK, end);
  if (mark < 0 || name.indexOf('.', mark) !== end) return undefined;
  const ms = parseInt(name.slice(mark + 1, end), 36);
  return Number.isSafeInteger(ms) && ms > 0 ? ms : undefined;
}

/** True while an active file's lease runs: its owner's lease length when its name carries one, else `fallbackMs`. */
export function leaseLive(name: string, st: fs.Stats, nowMs: number, fallbackMs: number): boolean {
  return nowMs - leaseTime(st) < (leaseMsOfName(name) ?? fallbackMs);
}

/** Lease time of an active file from its stat. */
export function leaseTime(st: fs.Stats): number {
  return Math.max(st.ctimeMs, st.mtimeMs);
}
