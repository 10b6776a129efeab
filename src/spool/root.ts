/**
 * The spool root: where it is (`resolveSpoolRoot`), and its format marker `spool.json`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, spoolErrorFromErrno } from '../errors.js';
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
 * Refuses a spool setting with blanks at either end: `/var/spool/app ` (a stray space in a .env
 * file or a compose value) named another directory, so processes that read it made a spool of
 * their own, beside the one the others share.
 */
export function assertNoEdgeBlanks(raw: string, from: string): void {
  if (raw.trim() !== raw) throw new ConfigError(`${from} ${JSON.stringify(raw)} has blanks at its start or end; remove them (check the quoting in your .env or compose file).`);
}

/**
 * The path a spool URL names, or undefined when `raw` is not a URL (then it is a path). A URL is
 * `file:` followed by an absolute path in any of RFC 8089's forms (`file:///x`, `file:/x`,
 * `file://localhost/x`), the scheme in any case (`FILE:///x`); any other `<scheme>://` is
 * refused, and so is a `file:` URL without an absolute path or with another host. `from` names
 * the setting, for the error.
 */
export function spoolPathFromUrl(raw: string, from: string): string | undefined {
  const isFile = /^file:/i.test(raw);
  if (!isFile && !/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) return undefined;
  if (!isFile) {
    const scheme = raw.slice(0, raw.indexOf(':')).toLowerCase();
    throw new ConfigError(`${from} must be a path or a file:// URL, got a ${scheme}:// URL ("${raw}"); use e.g. /var/spool/app or file:///var/spool/app.`);
  }
  if (raw[5] !== '/') throw new ConfigError(`${from} is a file: URL without an absolute path ("${raw}"); use e.g. file:///var/spool/app or /var/spool/app.`);
  try {
    return path.resolve(fileURLToPath(new URL(raw)));
  } catch (err) {
    throw new ConfigError(`${from} is not a usable file:// URL ("${raw}"): ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Resolves the spool root to an absolute path: `spool` (a path or `file://` URL), else
 * `SPOOLKIT_SPOOL`, else `./.spool`.
 */
export function resolveSpoolRoot(spool?: string | URL, env: NodeJS.ProcessEnv = process.env): string {
  const given = spool ?? (env.SPOOLKIT_SPOOL !== undefined && env.SPOOLKIT_SPOOL !== '' ? env.SPOOLKIT_SPOOL : undefined);
  if (given === undefined) return path.resolve(DEFAULT_SPOOL_DIR);
  const from = spool !== undefined ? 'the spool option' : 'SPOOLKIT_SPOOL';
  if (given instanceof URL) return spoolPathFromUrl(given.href, from) as string;
  if (typeof given !== 'string' || given.trim() === '') throw new ConfigError(`${from} must be a non-empty directory path.`);
  assertNoEdgeBlanks(given, from);
  return spoolPathFromUrl(given, from) ?? path.resolve(given);
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

/** True for a format version a marker can hold: a whole number from 1. */
export function isFormatVersion(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1;
}

/**
 * Reads `spool.json`: the marker, null when missing; a ConfigError when it is not a marker (not
 * JSON, or no whole format version from 1), an ERR_SPOOL_* error when it cannot be read.
 */
export function readSpoolMarker(root: string): SpoolMarker | null {
  const file = path.join(root, 'spool.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return null;
    throw spoolErrorFromErrno(err, file, 'read') ?? err;
  }
  let m: Partial<Record<keyof SpoolMarker, unknown>>;
  try {
    m = JSON.parse(text) as typeof m;
  } catch {
    throw new ConfigError(`${file} is not a spoolkit format marker (not JSON); point SPOOLKIT_SPOOL at a spoolkit spool or an empty directory, or restore the file.`);
  }
  if (typeof m !== 'object' || m === null || !isFormatVersion(m.version)) {
    throw new ConfigError(`${file} holds no valid format version (a whole number from 1, got ${JSON.stringify(m?.version ?? null)}); point SPOOLKIT_SPOOL at a spoolkit spool or an empty directory, or restore the file.`);
  }
  return { format: 'spoolkit', version: m.version, createdAt: typeof m.createdAt === 'number' ? m.createdAt : 0 };
}

/**
 * Reads `spool.json` of a spool this spoolkit may read and write: null when it has none yet; a
 * ConfigError for a newer format version (and as readSpoolMarker for a marker that is not one).
 * Call it before writing anything into the spool.
 */
export function readUsableSpoolMarker(root: string): SpoolMarker | null {
  const marker = readSpoolMarker(root);
  if (marker !== null && marker.version > SPOOL_FORMAT_VERSION) {
    throw new ConfigError(`The spool at ${root} uses format version ${marker.version}, newer than this spoolkit supports (${SPOOL_FORMAT_VERSION}); upgrade spoolkit in every container that shares it.`);
  }
  return marker;
}

/** Roots checked in this process: `durable` once a durable store checked it (and fsynced its entries), and the root's format version. */
const ensured = new Map<string, { durable: boolean; version: number }>();

/**
 * Creates the spool root and its format marker when missing; refuses a newer or invalid format
 * before creating anything. Cached per process. `durable`: the marker is fsynced before it is
 * linked into place, the parent of each directory made here is fsynced, and so is the root
 * itself, once per process, even when a fast-mode store of this process made its entries first.
 * Returns the spool's format version (the one a new marker was written with, or the existing
 * marker's).
 */
export function ensureSpoolRoot(root: string, modes: FileModes, durable = false): number {
  const done = ensured.get(root);
  if (done && (done.durable || !durable)) return done.version;
  // A spool of a newer or unknown format is refused before anything is created in it.
  let marker = readUsableSpoolMarker(root);
  const parents = new Set<string>();
  const made: OnDirCreated | undefined = durable ? (dir) => void parents.add(path.dirname(dir)) : undefined;
  mkdirp(path.join(root, 'queues'), modes, made);
  mkdirp(path.join(root, 'workers'), modes, made);
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
    marker = readUsableSpoolMarker(root);
  }
  const version = marker?.version ?? SPOOL_FORMAT_VERSION;
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
