/**
 * The spool root: where it is (`resolveSpoolRoot`), and its format marker `spool.json`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors.js';
import type { Durability } from '../types.js';
import { fsyncDir, isErrno, mkdirp, rethrowFs, tryUnlink, writeNewFile, type FileModes, type OnDirCreated } from './fs.js';

/**
 * Version of the on-disk format described in docs/spool-format.md, written into new spools.
 * Version 2 files automatic (integer) ids in the id index by number range (id-index.ts) and makes
 * the id counter lock a link naming its holder (id-alloc.ts); a spool made at version 1 keeps the
 * version 1 way of both, so older processes sharing it go on working. A spoolkit refuses a spool
 * whose version is newer than this.
 */
export const SPOOL_FORMAT_VERSION = 2;

/** The default spool directory, relative to the working directory. */
export const DEFAULT_SPOOL_DIR = '.spool';

/**
 * Resolves the spool root to an absolute path: `spool` (a path or `file://` URL), else
 * `SPOOLKIT_SPOOL`, else `./.spool`.
 */
export function resolveSpoolRoot(spool?: string | URL, env: NodeJS.ProcessEnv = process.env): string {
  const given = spool ?? (env.SPOOLKIT_SPOOL !== undefined && env.SPOOLKIT_SPOOL !== '' ? env.SPOOLKIT_SPOOL : undefined);
  if (given === undefined) return path.resolve(DEFAULT_SPOOL_DIR);
  const from = spool !== undefined ? 'the spool option' : 'SPOOLKIT_SPOOL';
  if (given instanceof URL || /^[a-z][a-z0-9+.-]*:\/\//i.test(given)) {
    const url = given instanceof URL ? given : new URL(given);
    if (url.protocol !== 'file:') {
      throw new ConfigError(`${from} must be a directory path or a file:// URL, got ${url.protocol}// (${String(given)}); use e.g. /var/spool/app.`);
    }
    return path.resolve(fileURLToPath(url));
  }
  if (typeof given !== 'string' || given.trim() === '') throw new ConfigError(`${from} must be a non-empty directory path.`);
  return path.resolve(given);
}

/** Resolves the durability mode: option, else `SPOOLKIT_DURABILITY`, else `fast`. */
export function resolveDurability(option: Durability | undefined, env: NodeJS.ProcessEnv = process.env): Durability {
  const v = option ?? (env.SPOOLKIT_DURABILITY ? env.SPOOLKIT_DURABILITY.toLowerCase() : 'fast');
  if (v !== 'fast' && v !== 'durable') {
    throw new ConfigError(`durability must be 'fast' or 'durable', got ${JSON.stringify(v)}; set SPOOLKIT_DURABILITY=fast or durable.`);
  }
  return v;
}

/** Contents of `<root>/spool.json`. */
export interface SpoolMarker {
  format: 'spoolkit';
  version: number;
  createdAt: number;
}

/** Reads `spool.json`: the marker, null when missing; throws ERR_SPOOL_CORRUPT when unreadable. */
export function readSpoolMarker(root: string): SpoolMarker | null {
  let text: string;
  try {
    text = fs.readFileSync(path.join(root, 'spool.json'), 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return null;
    return rethrowFs(err, root);
  }
  try {
    const m = JSON.parse(text) as Partial<SpoolMarker>;
    if (typeof m.version !== 'number') throw new Error('no version');
    return { format: 'spoolkit', version: m.version, createdAt: typeof m.createdAt === 'number' ? m.createdAt : 0 };
  } catch {
    throw new ConfigError(`${path.join(root, 'spool.json')} is not a spoolkit format marker; point SPOOLKIT_SPOOL at a spoolkit spool or an empty directory.`);
  }
}

/** Roots checked in this process: `durable` once a durable store checked it (and fsynced its entries), and the root's format version. */
const ensured = new Map<string, { durable: boolean; version: number }>();

/**
 * Creates the spool root and its format marker when missing; refuses a newer format. Cached per
 * process. `durable`: the marker is fsynced before it is linked into place, the parent of each
 * directory made here is fsynced, and so is the root itself, once per process, even when a
 * fast-mode store of this process made its entries first. Returns the spool's format version
 * (the one a new marker was written with, or the existing marker's).
 */
export function ensureSpoolRoot(root: string, modes: FileModes, durable = false): number {
  const done = ensured.get(root);
  if (done && (done.durable || !durable)) return done.version;
  const parents = new Set<string>();
  const made: OnDirCreated | undefined = durable ? (dir) => void parents.add(path.dirname(dir)) : undefined;
  mkdirp(path.join(root, 'queues'), modes, made);
  mkdirp(path.join(root, 'workers'), modes, made);
  let marker = readSpoolMarker(root);
  if (marker === null) {
    const tmp = path.join(root, `.spool.json.${process.pid}.tmp`);
    const body = JSON.stringify({ format: 'spoolkit', version: SPOOL_FORMAT_VERSION, createdAt: Date.now() }) + '\n';
    try {
      tryUnlink(tmp); // left by a process of the same pid that died here
      writeNewFile(tmp, body, modes, durable);
      // link fails with EEXIST when another process created the marker first; both are the same format.
      try {
        fs.linkSync(tmp, path.join(root, 'spool.json'));
      } catch (err) {
        if (!isErrno(err, 'EEXIST')) throw err;
      }
    } catch (err) {
      rethrowFs(err, root);
    } finally {
      tryUnlink(tmp);
    }
    // Another process may have written its marker first: its version is the spool's.
    marker = readSpoolMarker(root);
  }
  const version = marker?.version ?? SPOOL_FORMAT_VERSION;
  if (version > SPOOL_FORMAT_VERSION) {
    throw new ConfigError(`The spool at ${root} uses format version ${version}, newer than this spoolkit supports (${SPOOL_FORMAT_VERSION}); upgrade spoolkit in every container that shares it.`);
  }
  if (durable) {
    parents.add(root);
    for (const dir of parents) fsyncDir(dir);
  }
  ensured.set(root, { durable, version });
  return version;
}

/** The format version of the spool at `root` for readers: its marker's, or the current one when it has none (yet) or it is unreadable. */
export function spoolFormatVersion(root: string): number {
  try {
    return readSpoolMarker(root)?.version ?? SPOOL_FORMAT_VERSION;
  } catch {
    return SPOOL_FORMAT_VERSION;
  }
}

/** Forgets that `root` was checked (after it is removed, e.g. in tests). */
export function forgetSpoolRoot(root: string): void {
  ensured.delete(root);
}
