/**
 * The directories below a queue's state directories that jobs are renamed into and out of: the
 * time buckets of the ordered sets (`waiting/<top>/<leaf>/`, `lifo/`, `delayed/`,
 * `prioritized/<priority>/<top>/<leaf>/`) and the id index shards (`ids/<shard>/`). Each is made by
 * whichever process first needed it, so one made by another user (`sudo spoolkit jobs add` on a
 * spool without the setgid bit) can be unwritable for the worker while every state directory is
 * fine; the worker then fails every claim from it.
 *
 * A spool that spans a day of delays has about 85,000 leaves, and visiting them all takes about
 * half a second, so `bucketDirs` yields them in the order a bounded check should visit them:
 * first the few directories every job passes through or under (each priority, each top bucket:
 * one per 17.5 minutes of keys, each id shard: one per thousand ids, newest first), then the leaves
 * at both ends of every set (the head is where claims and promotions rename from, and where a
 * worker stuck on an unwritable leaf stays; the tail is where adds rename into), then the rest.
 */
import fs from 'node:fs';
import path from 'node:path';

/** Bucketed sets directly under a queue directory (`prioritized/` holds one set per priority). */
const TIME_SETS = ['waiting', 'lifo', 'delayed'] as const;
/** Leaves taken from each end of a set before the leaves in between. */
const END_LEAVES = 16;

/** Sorted names in `dir` that match `pattern`; none when it cannot be listed (the check of `dir` itself reports that). */
function names(dir: string, pattern: RegExp): string[] {
  try {
    return fs
      .readdirSync(dir)
      .filter((n) => pattern.test(n))
      .sort();
  } catch {
    return [];
  }
}

/** The id shards, newest automatic-id range first (that is where adds link), then the hash shards. */
function idShards(idsDir: string): string[] {
  const all = names(idsDir, /^(n\d+|[0-9a-f]{2})$/);
  const ranges = all.filter((n) => n.startsWith('n')).sort((a, b) => Number(b.slice(1)) - Number(a.slice(1)));
  return [...ranges, ...all.filter((n) => !n.startsWith('n'))];
}

/** Bucket directories of the queues in `queueDirs`, most important first (see the module comment). */
export function* bucketDirs(queueDirs: readonly string[]): Generator<string> {
  const sets: { dir: string; tops: string[] }[] = [];
  for (const q of queueDirs) {
    const setDirs = TIME_SETS.map((s) => path.join(q, s));
    for (const p of names(path.join(q, 'prioritized'), /^\d{7}$/)) {
      const dir = path.join(q, 'prioritized', p);
      yield dir;
      setDirs.push(dir);
    }
    for (const dir of setDirs) {
      const tops = names(dir, /^\d{7}$/);
      for (const t of tops) yield path.join(dir, t);
      if (tops.length) sets.push({ dir, tops });
    }
    for (const shard of idShards(path.join(q, 'ids'))) yield path.join(q, 'ids', shard);
  }
  const leavesOf = new Map<string, string[]>();
  const leaves = (top: string): string[] => {
    let l = leavesOf.get(top);
    if (!l) leavesOf.set(top, (l = names(top, /^\d{10}$/).map((n) => path.join(top, n))));
    return l;
  };
  const seen = new Set<string>();
  for (const { dir, tops } of sets) {
    const head = leaves(path.join(dir, tops[0] as string)).slice(0, END_LEAVES);
    const tail = leaves(path.join(dir, tops[tops.length - 1] as string)).slice(-END_LEAVES).reverse();
    for (const leaf of [...head, ...tail]) {
      if (seen.has(leaf)) continue;
      seen.add(leaf);
      yield leaf;
    }
  }
  for (const { dir, tops } of sets) {
    for (const t of tops) {
      for (const leaf of leaves(path.join(dir, t))) if (!seen.has(leaf)) yield leaf;
      leavesOf.delete(path.join(dir, t));
    }
  }
}
