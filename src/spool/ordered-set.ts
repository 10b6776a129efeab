/**
 * An ordered set of job files kept as a two-level, time-bucketed directory tree:
 *
 *     <set>/<top = ms >> 20>/<leaf = ms >> 10>/<key>.<id>.json
 *
 * The key's first 13 digits pick the buckets, so a leaf holds about one second of keys and the
 * tree never has a directory whose size grows with the backlog's length (only with its rate).
 * Producers rename a finished temp file into a leaf, creating the buckets on ENOENT; consumers
 * read the oldest leaf, rename its entries away, and remove buckets that are empty and can no
 * longer receive keys. Nothing here lists the whole set on a hot path.
 */
import fs from 'node:fs';
import path from 'node:path';
import { bucketOf, keyMs, leafRange, topRange } from './keys.js';
import { isErrno, tryReaddir, tryRmdir } from './fs.js';

/** One file of a set. */
export interface SetEntry {
  readonly key: string;
  readonly id: string;
  readonly path: string;
}

/** `fifo` sets are keyed by time; `lifo` sets by inverted time (newest first). */
export type SetKind = 'fifo' | 'lifo';

/** Parses `<key>.<id>.json`; undefined for anything else (temp files, stray names). */
export function parseEntryName(name: string): { key: string; id: string } | undefined {
  if (!name.endsWith('.json')) return undefined;
  const dot = name.indexOf('.');
  if (dot < 13 || dot >= name.length - 6) return undefined;
  return { key: name.slice(0, dot), id: name.slice(dot + 1, -5) };
}

/** Empty buckets younger than this are kept, so producers writing "now" do not race their removal. */
const BUCKET_GRACE_MS = 2000;
const MAX_MS = 9_999_999_999_999;

/** A cached count for one leaf directory, valid while the leaf's mtime is unchanged. */
export interface LeafCount {
  mtimeNs: string;
  count: number;
}

/** Per-leaf count cache, keyed by leaf path relative to the queue directory. */
export type CountCache = Map<string, LeafCount>;

export class OrderedSet {
  constructor(
    /** Absolute directory of the set. */
    readonly dir: string,
    readonly kind: SetKind,
  ) {}

  /** Absolute path of the file for `key` and `id`. */
  pathFor(key: string, id: string): string {
    const [top, leaf] = bucketOf(keyMs(key));
    return path.join(this.dir, top, leaf, `${key}.${id}.json`);
  }

  /** True when a bucket spanning [start, end) in key-ms can no longer receive new keys. */
  isStale(start: number, end: number, nowMs: number): boolean {
    if (this.kind === 'fifo') return end < nowMs - BUCKET_GRACE_MS;
    return start > MAX_MS - nowMs + BUCKET_GRACE_MS;
  }

  /** Sorted bucket names (tops, or leaves of a top). */
  listSorted(dir: string, desc = false): string[] {
    const names = tryReaddir(dir).filter((n) => /^\d+$/.test(n));
    names.sort();
    if (desc) names.reverse();
    return names;
  }

  /**
   * Every leaf directory, in key order (or reverse), with its relative name `top/leaf`. Lazy: a top
   * is listed only when the walk reaches it, so a reader of the first few entries lists the set's
   * root, one top and one leaf, however many buckets the set has.
   */
  *leaves(desc = false): Generator<{ dir: string; top: string; leaf: string }> {
    for (const top of this.listSorted(this.dir, desc)) {
      for (const leaf of this.listSorted(path.join(this.dir, top), desc)) {
        yield { dir: path.join(this.dir, top, leaf), top, leaf };
      }
    }
  }

  /** Sorted entry names of one leaf. */
  leafFiles(dir: string, desc = false): string[] {
    const names = tryReaddir(dir).filter((n) => n.endsWith('.json'));
    names.sort();
    if (desc) names.reverse();
    return names;
  }

  /**
   * Counts the set's entries, re-listing only leaves whose mtime changed since `cache` saw them.
   * Leaves modified in the last two seconds are never cached (mtime granularity is coarse).
   * `walked.leaves` grows by the number of leaves stat'ed: what the count cost.
   */
  count(cache: CountCache, nowMs: number, relBase: string, walked?: { leaves: number }): number {
    let total = 0;
    const seen = new Set<string>();
    // Relative names are built by concatenation: a path.relative per leaf (and per cache entry
    // below) cost more than the leaf's stat once a set has tens of thousands of leaves.
    const prefix = path.relative(relBase, this.dir) + path.sep;
    for (const top of this.listSorted(this.dir)) {
      const topDir = path.join(this.dir, top);
      for (const leaf of this.listSorted(topDir)) {
        const dir = topDir + path.sep + leaf;
        const rel = prefix + top + path.sep + leaf;
        seen.add(rel);
        if (walked) walked.leaves++;
        let st: fs.BigIntStats;
        try {
          st = fs.statSync(dir, { bigint: true });
        } catch (err) {
          if (isErrno(err, 'ENOENT')) continue;
          throw err;
        }
        const mtimeNs = String(st.mtimeNs);
        const hit = cache.get(rel);
        if (hit && hit.mtimeNs === mtimeNs) {
          total += hit.count;
          continue;
        }
        const n = this.leafFiles(dir).length;
        total += n;
        if (Number(st.mtimeMs) < nowMs - BUCKET_GRACE_MS) cache.set(rel, { mtimeNs, count: n });
        else cache.delete(rel);
      }
    }
    for (const rel of cache.keys()) if (rel.startsWith(prefix) && !seen.has(rel)) cache.delete(rel);
    return total;
  }

  /** Entries in key order (or reverse), listing each top and each leaf only when the walk reaches it. */
  *entries(desc = false): Generator<SetEntry> {
    for (const { dir } of this.leaves(desc)) {
      for (const name of this.leafFiles(dir, desc)) {
        const parsed = parseEntryName(name);
        if (parsed) yield { key: parsed.key, id: parsed.id, path: path.join(dir, name) };
      }
    }
  }

  /**
   * Removes the given leaf directories (absolute paths) and then their tops, each only if it is
   * empty and can no longer receive keys: the prune of a few leaves an operation emptied.
   */
  pruneLeaves(leafDirs: Iterable<string>, nowMs: number): void {
    const tops = new Set<string>();
    for (const dir of leafDirs) {
      const [s, e] = leafRange(path.basename(dir));
      if (this.isStale(s, e, nowMs) && tryRmdir(dir)) tops.add(path.dirname(dir));
    }
    for (const topDir of tops) {
      const [s, e] = topRange(path.basename(topDir));
      // rmdir removes only an empty directory: a top with a leaf left stays.
      if (this.isStale(s, e, nowMs)) tryRmdir(topDir);
    }
  }

  /** Removes empty buckets that can no longer receive keys. */
  prune(nowMs: number): void {
    for (const top of this.listSorted(this.dir)) {
      const topDir = path.join(this.dir, top);
      let kept = 0;
      for (const leaf of this.listSorted(topDir)) {
        const [s, e] = leafRange(leaf);
        if (!(this.isStale(s, e, nowMs) && tryRmdir(path.join(topDir, leaf)))) kept++;
      }
      const [s, e] = topRange(top);
      if (kept === 0 && this.isStale(s, e, nowMs)) tryRmdir(topDir);
    }
  }
}

/**
 * Reads the head of a set: keeps the sorted listing of the oldest non-empty leaf in memory and
 * re-lists (from the top) only when that listing is used up. Empty buckets that can no longer
 * receive keys are removed on the way.
 */
export class SetCursor {
  private files: string[] = [];
  private idx = 0;
  private leafDir = '';

  constructor(
    readonly set: OrderedSet,
    private readonly now: () => number = Date.now,
  ) {}

  /** The next entry, or undefined when the set is empty. */
  next(): SetEntry | undefined {
    for (;;) {
      while (this.idx < this.files.length) {
        const name = this.files[this.idx++]!;
        const parsed = parseEntryName(name);
        // `leafDir` is a joined path and listed names hold no separator: concatenation is the join.
        if (parsed) return { key: parsed.key, id: parsed.id, path: `${this.leafDir}${path.sep}${name}` };
      }
      if (!this.refill()) return undefined;
    }
  }

  /** Looks at the next entry without consuming it. */
  peek(): SetEntry | undefined {
    const e = this.next();
    if (e) this.idx--;
    return e;
  }

  /** Skips up to `n` cached entries (used to spread racing claimers apart). */
  skip(n: number): void {
    this.idx = Math.min(this.files.length, this.idx + n);
  }

  /** Forgets the cached listing; the next call re-lists from the top. */
  reset(): void {
    this.files = [];
    this.idx = 0;
  }

  private refill(): boolean {
    const nowMs = this.now();
    const set = this.set;
    for (const top of set.listSorted(set.dir)) {
      const topDir = path.join(set.dir, top);
      const leaves = set.listSorted(topDir);
      let removed = 0;
      for (const leaf of leaves) {
        const dir = path.join(topDir, leaf);
        const files = set.leafFiles(dir);
        if (files.length > 0) {
          this.files = files;
          this.idx = 0;
          this.leafDir = dir;
          return true;
        }
        const [s, e] = leafRange(leaf);
        if (set.isStale(s, e, nowMs) && tryRmdir(dir)) removed++;
      }
      const [s, e] = topRange(top);
      if (removed === leaves.length && set.isStale(s, e, nowMs)) tryRmdir(topDir);
    }
    this.files = [];
    this.idx = 0;
    return false;
  }
}
