/**
 * A queue's directory on disk and the state every operation on it shares within one process
 * (paths, ordered sets, the event writer, file modes). Operations live in sibling modules
 * (add, claim, finish, lookup, admin) and take a `QueueStore`.
 *
 * Layout of `<root>/queues/<name>/` (see docs/spool-format.md):
 *
 *     waiting/  lifo/  prioritized/<7-digit priority>/  delayed/   ordered sets (ordered-set.ts)
 *     waiting-children/<id>.json   parents waiting for their children (flows; deps.ts)
 *     deps/<parent id>/      what became of a parent's children, one file per child (deps.ts)
 *     active/<id>.<claim>.json   claimed jobs, one name per claim (the lease)
 *     completed/<id>.json  failed/<id>.json   finished jobs
 *     reclaiming/<id>.<claim>.json   jobs being moved by a reclaimer or an admin operation
 *     reclaiming/<id>.rm-<tag>.json  jobs being removed (taken out of view before their id is freed)
 *     ids/<shard>/<id>       id index: a hard link to the job file, created exclusively (dedup; id-index.ts)
 *     dedup/<sha1>.json      deduplication keys
 *     logs/<id>.jsonl        job log rows
 *     events/<seg>.jsonl     event log (events.ts)
 *     corrupt/               unparseable files, kept for inspection
 *     tmp/                   temp files before their rename (a bulk's: b-<tag>-<n>, and b-<tag>.commit)
 *     free/<slot>            spare job files (inodes) for reuse (pool.ts)
 *     trash/<n>              removed job files beyond the pool, deleted when idle (trash.ts)
 *     paused                 marker: nobody claims while it exists
 *     limiter/               the shared rate limiter (rate-limit.ts), rate-limit.json its global limit
 *     concurrency.json       global concurrency, and concurrency.lock (global-concurrency.ts)
 *     dedup-next/            jobs kept by deduplication keepLastIfActive (dedup-next.ts)
 *     seq, seq.lock          automatic id counter and its lock
 */
import { assertFileSafeId, assertQueueName } from './validate.js';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { Logger } from '../log.js';
import { silentLogger } from '../log.js';
import type { Durability } from '../types.js';
import { EventWriter } from './events.js';
import { fsyncDir, isErrno, mkdirp, renameInto, rethrowFs, tryUnlink, writeNewFile, writeNewFileQuick, type FileModes, type OnDirCreated } from './fs.js';
import { isDiscardName } from './keys.js';
import { OWNER_REFRESH_MS, TMP_OWNER_KEY, writeTmpOwner } from './tmp-owner.js';
import { OrderedSet } from './ordered-set.js';
import { writePooled } from './pool.js';
import { idShard } from './id-index.js';
import { ensureSpoolRoot, spoolFormatVersion } from './root.js';

/** The fixed state directories of a queue. */
export const STATE_DIRS = ['waiting', 'lifo', 'prioritized', 'delayed', 'waiting-children', 'active', 'completed', 'failed', 'reclaiming', 'ids', 'dedup', 'logs', 'events', 'corrupt', 'tmp', 'free', 'trash'] as const;

/** Where a job file sits. */
export type Place = 'waiting' | 'lifo' | 'prioritized' | 'delayed' | 'waiting-children' | 'active' | 'completed' | 'failed' | 'reclaiming';

/** Options resolved once per store. */
export interface StoreSettings {
  durability: Durability;
  modes: FileModes;
  logger?: Logger;
  /** Never create directories (status readers). */
  readOnly?: boolean;
  /** The spool's format version (root.ts); decides the id index layout (id-index.ts). */
  formatVersion: number;
}

let tmpCounter = 0;

/** Tries of a link into the id index whose directory keeps vanishing (pruned between mkdir and link). */
const MAX_LINK_TRIES = 64;

export class QueueStore {
  readonly dir: string;
  readonly durable: boolean;
  /** Directories whose fsync waits for `syncDeferredDirs` while a batch is open (durable mode). */
  private deferredDirs: Set<string> | undefined;
  /** The directories `syncDirSoon` fsyncs at the end of this turn of the event loop, and when that is done. */
  private soon: { dirs: Set<string>; done: Promise<void> } | undefined;
  /**
   * Durable mode: given to every `mkdir -p` of the spool, so the entry of each directory it makes
   * is fsynced in its parent (deferred in a batch, like other directory fsyncs). Otherwise unset.
   */
  readonly onDirCreated: OnDirCreated | undefined;
  readonly modes: FileModes;
  readonly logger: Logger;
  readonly waiting: OrderedSet;
  readonly lifo: OrderedSet;
  readonly delayed: OrderedSet;
  readonly events: EventWriter;
  /** In-process notifications (`wake` when this process added work), shared by stores of one directory. */
  readonly local: EventEmitter;
  private readonly prio = new Map<number, OrderedSet>();

  private constructor(
    readonly root: string,
    readonly name: string,
    settings: StoreSettings,
    events: EventWriter,
    local: EventEmitter,
  ) {
    this.dir = path.join(root, 'queues', name);
    this.durable = settings.durability === 'durable';
    this.onDirCreated = this.durable ? (dir) => this.syncDir(path.dirname(dir)) : undefined;
    this.modes = settings.modes;
    this.logger = settings.logger ?? silentLogger;
    this.waiting = new OrderedSet(path.join(this.dir, 'waiting'), 'fifo');
    this.lifo = new OrderedSet(path.join(this.dir, 'lifo'), 'lifo');
    this.delayed = new OrderedSet(path.join(this.dir, 'delayed'), 'fifo');
    this.events = events;
    this.local = local;
    this.readOnly = !!settings.readOnly;
    this.formatVersion = settings.formatVersion;
    this.ensureDirs();
  }

  /** True for stores opened by readers that must not create anything. */
  readonly readOnly: boolean;
  /** The spool's format version (decides where id index entries go). */
  readonly formatVersion: number;

  /** A store for reading only: creates nothing, shares nothing with writers. */
  static openReadOnly(root: string, name: string, modes: FileModes): QueueStore {
    assertQueueName(name);
    const dir = path.join(root, 'queues', name);
    return new QueueStore(root, name, { durability: 'fast', modes, readOnly: true, formatVersion: spoolFormatVersion(root) }, new EventWriter(path.join(dir, 'events'), modes), new EventEmitter());
  }

  private static stores = new Map<string, QueueStore>();
  private static writers = new Map<string, EventWriter>();
  private static wakers = new Map<string, EventEmitter>();

  /** The store for `root`/`name` with these settings (one per combination per process). */
  static open(root: string, name: string, settings: Omit<StoreSettings, 'formatVersion'>): QueueStore {
    const key = `${root}\0${name}\0${settings.durability}\0${settings.modes.file}`;
    let store = QueueStore.stores.get(key);
    if (!store) {
      // Also names that come from job options (a parent's queue) and files, not only Queue's.
      assertQueueName(name);
      const formatVersion = ensureSpoolRoot(root, settings.modes, settings.durability === 'durable');
      const dir = path.join(root, 'queues', name);
      let writer = QueueStore.writers.get(dir);
      if (!writer) {
        writer = new EventWriter(path.join(dir, 'events'), settings.modes);
        QueueStore.writers.set(dir, writer);
      }
      let waker = QueueStore.wakers.get(dir);
      if (!waker) {
        waker = new EventEmitter();
        waker.setMaxListeners(0);
        QueueStore.wakers.set(dir, waker);
      }
      store = new QueueStore(root, name, { ...settings, formatVersion }, writer, waker);
      QueueStore.stores.set(key, store);
    }
    return store;
  }

  /** Creates the state directories (again, after an obliterate). */
  ensureDirs(): void {
    if (this.readOnly) return;
    // Durable mode: each parent of the directories made is fsynced once, not once per child.
    const parents = new Set<string>();
    const made = this.durable ? (dir: string) => void parents.add(path.dirname(dir)) : undefined;
    for (const d of STATE_DIRS) mkdirp(path.join(this.dir, d), this.modes, made);
    for (const dir of parents) this.syncDir(dir);
    // A new tmp/ (the queue was obliterated under this process) needs the owner file again.
    if (this.tmpOwnerWrittenAt !== 0) writeTmpOwner(path.join(this.dir, 'tmp'), this.modes);
  }

  /** Absolute path of a fixed-place job file. */
  filePath(place: 'completed' | 'failed' | 'waiting-children', id: string): string {
    // `dir` is normalized and ids never hold a separator: plain concatenation is the join (and cheaper, once per job).
    return `${this.dir}${path.sep}${place}${path.sep}${id}.json`;
  }

  /** Path of a claimed (or held) job: `<place>/<id>.<tag>.json`; the tag is unique per claim. */
  claimPath(place: 'active' | 'reclaiming', id: string, tag: string): string {
    return `${this.dir}${path.sep}${place}${path.sep}${id}.${tag}.json`;
  }

  /** The claimed or held files of a job, not those being discarded (active/ and reclaiming/ are bounded by total concurrency). */
  findClaimed(id: string): { place: 'active' | 'reclaiming'; path: string }[] {
    const out: { place: 'active' | 'reclaiming'; path: string }[] = [];
    for (const place of ['active', 'reclaiming'] as const) {
      let names: string[];
      try {
        names = fs.readdirSync(path.join(this.dir, place));
      } catch (err) {
        if (isErrno(err, 'ENOENT')) continue;
        throw err;
      }
      for (const n of names) if (claimIdOf(n) === id && !isDiscardName(n)) out.push({ place, path: path.join(this.dir, place, n) });
    }
    return out;
  }

  /** The ordered set for a priority (1..2^21-1). */
  prioritized(priority: number): OrderedSet {
    let set = this.prio.get(priority);
    if (!set) {
      set = new OrderedSet(path.join(this.dir, 'prioritized', String(priority).padStart(7, '0')), 'fifo');
      this.prio.set(priority, set);
    }
    return set;
  }

  /** Priorities that currently have a directory, ascending. */
  priorities(): number[] {
    let names: string[];
    try {
      names = fs.readdirSync(path.join(this.dir, 'prioritized'));
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return [];
      throw err;
    }
    return names.filter((n) => /^\d{7}$/.test(n)).map(Number).sort((a, b) => a - b);
  }

  /** When this process last wrote its owner file into tmp/ (0: not yet). */
  private tmpOwnerWrittenAt = 0;

  /**
   * This process's key for the start of its temp names (tmp-owner.ts). Its owner file is written
   * before the first temp name is handed out, and again every hour, so that an owner file left
   * unchanged for a day with no temp file of its own can be taken for a writer gone elsewhere.
   */
  tmpWriterKey(nowMs = Date.now()): string {
    if (nowMs - this.tmpOwnerWrittenAt > OWNER_REFRESH_MS && !this.readOnly) {
      this.tmpOwnerWrittenAt = nowMs;
      writeTmpOwner(path.join(this.dir, 'tmp'), this.modes);
    }
    return TMP_OWNER_KEY;
  }

  /** A fresh temp file path inside the queue. */
  tmpPath(): string {
    return path.join(this.dir, 'tmp', `${this.tmpWriterKey()}-${(tmpCounter++).toString(36)}.tmp`);
  }

  /** Writes a job file to a temp path, reusing a spare inode from the pool when there is one (pool.ts). */
  writeJobTmp(text: string, tmp = this.tmpPath()): string {
    if (writePooled(this, tmp, text)) return tmp;
    return this.writeTmp(text, false, tmp).tmp;
  }

  /** Writes `text` to a new temp file (recreating the queue's directories if it was obliterated); returns its path and inode. */
  writeTmp(text: string, wantInode = false, tmp = this.tmpPath()): { tmp: string; ino: number } {
    for (let i = 0; ; i++) {
      try {
        if (wantInode) return { tmp, ino: writeNewFile(tmp, text, this.modes, this.durable) };
        writeNewFileQuick(tmp, text, this.modes, this.durable);
        return { tmp, ino: 0 };
      } catch (err) {
        if (isErrno(err, 'ENOENT') && i === 0) {
          this.ensureDirs();
          continue;
        }
        return rethrowFs(err, tmp);
      }
    }
  }

  /** Renames a temp file to its destination (creating buckets), fsyncing the directory when durable. */
  publish(tmp: string, dest: string, onVisible?: () => void): void {
    renameInto(tmp, dest, this.modes, this.onDirCreated);
    onVisible?.();
    if (this.durable) this.syncDir(path.dirname(dest));
  }

  /**
   * Durable mode, for a batch of jobs: directory fsyncs are collected instead of made at once, and
   * `syncDeferredDirs` makes each one once (a bulk add touches a few directories many times). The
   * caller syncs before anything that must come after durability, and always calls
   * `stopDeferringDirSyncs`. Only for synchronous code: nothing else may run in between.
   */
  deferDirSyncs(): void {
    if (this.durable) this.deferredDirs = new Set();
  }

  /** fsyncs each directory collected since `deferDirSyncs` (or the last call) once. */
  syncDeferredDirs(): void {
    const dirs = this.deferredDirs;
    if (!dirs) return;
    this.deferredDirs = new Set();
    for (const dir of dirs) fsyncDir(dir);
  }

  /**
   * Durable mode: fsyncs `dir` once this turn of the event loop ends, together with every other
   * directory asked for in the same turn, each once. Resolves when they are synced.
   */
  syncDirSoon(dir: string): Promise<void> {
    if (!this.soon) {
      const dirs = new Set<string>();
      const done = new Promise<void>((resolve, reject) => {
        setImmediate(() => {
          this.soon = undefined;
          try {
            for (const d of dirs) fsyncDir(d);
            resolve();
          } catch (err) {
            reject(err);
          }
        });
      });
      this.soon = { dirs, done };
    }
    this.soon.dirs.add(dir);
    return this.soon.done;
  }

  /** Ends a batch; directories not synced yet are dropped (the batch failed and was undone). */
  stopDeferringDirSyncs(): void {
    this.deferredDirs = undefined;
  }

  /** fsyncs `dir` now, or with the next `syncDeferredDirs` while deferring. */
  syncDir(dir: string): void {
    if (this.deferredDirs) this.deferredDirs.add(dir);
    else fsyncDir(dir);
  }

  /** Writes a whole file atomically (temp + rename). */
  writeAtomic(dest: string, text: string): number {
    const { tmp, ino } = this.writeTmp(text, true);
    try {
      this.publish(tmp, dest);
    } catch (err) {
      tryUnlink(tmp);
      throw err;
    }
    return ino;
  }

  /** Path of a job's id-index entry: a hard link to the job file itself. */
  idPath(id: string): string {
    assertFileSafeId(id);
    return path.join(this.dir, 'ids', idShard(id, this.formatVersion), id);
  }

  /**
   * Links a freshly written job file into the id index. Fails (false) when the id is taken: the
   * link is the atomic create-if-absent that makes custom ids unique across processes.
   */
  linkIdEntry(file: string, id: string): boolean {
    const p = this.idPath(id);
    for (let i = 0; ; i++) {
      try {
        fs.linkSync(file, p);
        // Durable mode: the index name must survive a power loss too, or the job would be orphaned.
        if (this.durable) this.syncDir(path.dirname(p));
        return true;
      } catch (err) {
        if (isErrno(err, 'EEXIST')) return false;
        // ENOENT: the shard directory is missing (new, or an empty range pruned meanwhile): make it.
        // A pruner can remove it again between the mkdir and the link, so this is retried; but
        // ENOENT for want of the source file would never end, so that is checked once in a while.
        if (isErrno(err, 'ENOENT') && i < MAX_LINK_TRIES && (i % 8 !== 7 || fs.existsSync(file))) {
          mkdirp(path.dirname(p), this.modes, this.onDirCreated);
          continue;
        }
        return rethrowFs(err, p);
      }
    }
  }

  /** Frees an id (unlinks the index name of the job file). */
  removeIdEntry(id: string): void {
    tryUnlink(this.idPath(id));
  }

  /** Path relative to the queue directory (what the id index stores). */
  rel(abs: string): string {
    return path.relative(this.dir, abs);
  }

  /** True while the queue's pause marker exists. */
  isPaused(): boolean {
    return fs.existsSync(path.join(this.dir, 'paused'));
  }

  /** Wakes this process's workers for the queue. */
  wakeLocal(): void {
    this.local.emit('wake');
  }
}

/** The job id of an `active/` or `reclaiming/` name (`<id>.<tag>.json`), or undefined. */
export function claimIdOf(name: string): string | undefined {
  if (!name.endsWith('.json')) return undefined;
  const base = name.slice(0, -5);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : undefined;
}

/** The claim tag of a claimed file name `<id>.<tag>.json`; undefined for any other name. */
export function claimTagOf(name: string): string | undefined {
  if (!name.endsWith('.json')) return undefined;
  const base = name.slice(0, -5);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1) : undefined;
}

/** File name of a deduplication key (ids are free-form, so they are hashed). */
export function dedupFile(store: QueueStore, dedupId: string): string {
  return path.join(store.dir, 'dedup', `${createHash('sha1').update(dedupId).digest('hex')}.json`);
}
