/**
 * The id index: `ids/<shard>/<id>`, a hard link to each job's file (see store.ts `linkIdEntry`).
 *
 * Which shard directory an id lives in depends on the spool's format version:
 * - custom ids (and every id in a version 1 spool): two hex digits of the id's FNV-1a hash, 256
 *   directories whatever the spool holds;
 * - automatic ids in a version 2 spool: `n<id without its last three digits>` (`n0` for 1-999,
 *   `n1` for 1000-1999, `n1234` for 1234000-1234999). Consecutive adds then link into the same
 *   small, recently used directory (spread by hash, every link lands in another directory that
 *   grows with the index), and durable adds made together fsync that one directory once.
 *
 * Range directories empty out as jobs are removed and are never reused, so `pruneIdRanges`
 * removes empty ones (a worker runs it with its stalled check).
 */
import fs from 'node:fs';
import path from 'node:path';
import { isErrno } from './fs.js';
import { isIntegerId } from './validate.js';

/** Ids per range directory, as a count of trailing decimal digits dropped from the id. */
const RANGE_DIGITS = 3;
/** The newest range directories a pruning pass leaves alone even when empty (adds are filling them). */
const KEEP_NEWEST_RANGES = 2;

/** The shard directory name of `id` in a spool of format `version`. */
export function idShard(id: string, version: number): string {
  if (version >= 2 && isIntegerId(id) && !id.startsWith('-')) {
    return `n${id.length > RANGE_DIGITS ? id.slice(0, -RANGE_DIGITS) : '0'}`;
  }
  return hashShard(id);
}

/** Two hex characters of the id's FNV-1a hash. */
export function hashShard(id: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return ((h >>> 0) & 0xff).toString(16).padStart(2, '0');
}

/** The range number of a range directory name (`n123` is 123), or undefined for other names. */
function rangeOf(name: string): number | undefined {
  return /^n\d+$/.test(name) ? Number(name.slice(1)) : undefined;
}

/**
 * Removes the empty range directories of a queue's id index, except the newest ones. `rmdir`
 * removes only an empty directory, so a directory that holds an entry is never touched; an add
 * that finds its directory gone meanwhile makes it again (`linkIdEntry`). Returns how many were
 * removed.
 */
export function pruneIdRanges(queueDir: string): number {
  const ids = path.join(queueDir, 'ids');
  let names: string[];
  try {
    names = fs.readdirSync(ids);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return 0;
    throw err;
  }
  const ranges = names.map((n) => ({ n, r: rangeOf(n) })).filter((x): x is { n: string; r: number } => x.r !== undefined);
  ranges.sort((a, b) => a.r - b.r);
  let removed = 0;
  for (const { n } of ranges.slice(0, Math.max(0, ranges.length - KEEP_NEWEST_RANGES))) {
    try {
      fs.rmdirSync(path.join(ids, n));
      removed++;
    } catch (err) {
      if (!isErrno(err, 'ENOTEMPTY') && !isErrno(err, 'EEXIST') && !isErrno(err, 'ENOENT')) throw err;
    }
  }
  return removed;
}
