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
 * first the few directories every job passes through or under (each priority, the first and last
 * top bucket of each set, the id shard of the newest thousand automatic ids), then the leaves at
 * both ends of every set (the head is where claims and promotions rename from, and where a worker
 * stuck on an unwritable leaf stays; the tail is where adds rename into), then the other top
 * buckets (one per 17.5 minutes of keys), the other id shards (custom ids hash into up to 256 a
 * queue) and the other leaves. Many queues, or many custom ids, so cannot use up a bounded
 * check before it reaches the leaves.
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
  const seen = new Set<string>();
  function* once(dir: string): Generator<string> {
    if (seen.has(dir)) return;
    seen.add(dir);
    yield dir;
  }
  const sets: { dir: string; tops: string[] }[] = [];
  const shards: string[][] = [];
  // Every priority, the two end top buckets of every set, the newest automatic-id shard.
  for (const q of queueDirs) {
    const setDirs = TIME_SETS.map((s) => path.join(q, s));
    for (const p of names(path.join(q, 'prioritized'), /^\d{7}$/)) {
      const dir = path.join(q, 'prioritized', p);
      yield* once(dir);
      setDirs.push(dir);
    }
    for (const dir of setDirs) {
      const tops = names(dir, /^\d{7}$/);
      if (tops.length === 0) continue;
      sets.push({ dir, tops });
      yield* once(path.join(dir, tops[0] as string));
      yield* once(path.join(dir, tops[tops.length - 1] as string));
    }
    const ids = idShards(path.join(q, 'ids')).map((shard) => path.join(q, 'ids', shard));
    if (ids[0]?.includes(`${path.sep}n`)) yield* once(ids[0]);
    shards.push(ids);
  }
  const leavesOf = new Map<string, string[]>();
  const leaves = (top: string): string[] => {
    let l = leavesOf.get(top);
    if (!l) leavesOf.set(top, (l = names(top, /^\d{10}$/).map((n) => path.join(top, n))));
    return l;
  };
  // The leaves at both ends of every set: where claims and promotions rename from, adds into.
  for (const { dir, tops } of sets) {
    const head = leaves(path.join(dir, tops[0] as string)).slice(0, END_LEAVES);
    const tail = leaves(path.join(dir, tops[tops.length - 1] as string)).slice(-END_LEAVES).reverse();
    for (const leaf of [...head, ...tail]) yield* once(leaf);
  }
  // Then the other top buckets, the other id shards (up to 256 hash shards a queue), the rest.
  for (const { dir, tops } of sets) for (const t of tops) yield* once(path.join(dir, t));
  for (const ids of shards) for (const shard of ids) yield* once(shard);
  for (const { dir, tops } of sets) {
    for (const t of tops) {
      for (const leaf of leaves(path.join(dir, t))) yield* once(leaf);
      leavesOf.delete(path.join(dir, t));
    }
  }
}
