/**
 * The few file operations scheduler state needs, each crash-safe: a write is temp file, fsync,
 * rename; an exclusive create is temp file, fsync, hard link (which fails with EEXIST when the
 * name is taken, so exactly one creator wins and the winner's file is complete).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { spoolErrorFromErrno } from '../errors.js';
import { mkdirp, resolveModes } from '../spool/fs.js';

/** The spool's default modes (files 0o664, directories 0o775, whatever the process umask), so web and worker users of one group share scheduler state. */
const MODES = resolveModes(undefined);

/** Writes `data` to `path` atomically, replacing any existing file. */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const temp = await writeTemp(path, data);
  try {
    await fs.rename(temp, path);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw mapErrno(err, path);
  }
  await syncDir(dirname(path));
}

/**
 * Creates `path` with `data` only if no file has that name. Resolves true when this call created
 * it, false when it already existed.
 */
export async function createFileExclusive(path: string, data: string): Promise<boolean> {
  const temp = await writeTemp(path, data);
  try {
    await fs.link(temp, path);
    await syncDir(dirname(path));
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw mapErrno(err, path);
  } finally {
    await fs.rm(temp, { force: true });
  }
}

/**
 * Reads and parses a JSON file; undefined when it does not exist. Synchronous: on the tiny files
 * of scheduler state, a sync read is several times cheaper than a thread-pool round trip, and
 * every worker runs a pass each second.
 */
export async function readJson<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw mapErrno(err, path);
  }
  return JSON.parse(text) as T;
}

/** Lists a directory; an absent directory lists as empty. Synchronous, like {@link readJson}. */
export async function listDir(path: string): Promise<string[]> {
  try {
    return readdirSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw mapErrno(err, path);
  }
}

/** Removes a file; true when it existed. */
export async function removeFile(path: string): Promise<boolean> {
  try {
    await fs.unlink(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw mapErrno(err, path);
  }
}

/** Creates a directory and its parents. */
export async function ensureDir(path: string): Promise<void> {
  try {
    mkdirp(path, MODES);
  } catch (err) {
    throw mapErrno(err, path);
  }
}

/** A name for a temporary file next to `path`; temp names start with `.tmp-` so listings skip them. */
export function tempNameFor(path: string): string {
  return join(dirname(path), `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
}

async function writeTemp(path: string, data: string): Promise<string> {
  const temp = tempNameFor(path);
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(temp, 'wx', MODES.file);
    if (MODES.chmodFiles) await handle.chmod(MODES.file);
    await handle.writeFile(data, 'utf8');
    await handle.sync();
  } catch (err) {
    await handle?.close().catch(() => undefined);
    handle = undefined;
    await fs.rm(temp, { force: true });
    throw mapErrno(err, path);
  }
  await handle.close();
  return temp;
}

async function syncDir(path: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(path, 'r');
    await handle.sync();
  } catch {
    // Directory fsync is best effort (some filesystems refuse it); the rename itself is atomic.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

function mapErrno(err: unknown, path: string): unknown {
  return spoolErrorFromErrno(err, path) ?? err;
}
