/**
 * Synchronous filesystem primitives for the spool. The hot paths (add, claim, finish) use `*Sync`
 * calls because on tiny files they are several times faster than the thread-pool round trips of the
 * async API; callers batch work and yield to the event loop between batches.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, spoolErrorFromErrno } from '../errors.js';
import { shown } from '../arg-value.js';

/** Creation modes for spool files and directories. */
export interface FileModes {
  /** Mode for new files, e.g. 0o664. */
  readonly file: number;
  /** Mode for new directories, e.g. 0o775. */
  readonly dir: number;
  /** True when the process umask would strip bits we want, so files are chmod-ed after creation. */
  readonly chmodFiles: boolean;
  /** Same for directories. */
  readonly chmodDirs: boolean;
}

let processUmask: number | undefined;

/** The process umask; 0o777 (strips everything: always chmod) when it cannot be read. */
function currentProcessUmask(): number {
  if (processUmask === undefined) {
    try {
      // Reading the umask means setting it; set it back at once. Done once per process.
      const old = process.umask(0o022);
      process.umask(old);
      processUmask = old;
    } catch {
      // A worker thread may not set the umask: read it from the kernel instead.
      const m = /^Umask:\s*([0-7]+)$/m.exec(tryReadText('/proc/self/status') ?? '');
      processUmask = m ? parseInt(m[1]!, 8) : 0o777;
    }
  }
  return processUmask;
}

/**
 * Checks the `umask` option: a whole number from 0 to 0o777 that leaves the owner's bits alone.
 * One that removed them (umask: 77 written for 0o077 is 0o115) made directories the process
 * itself cannot enter, and every add then failed as if the volume had the wrong owner.
 */
function checkUmask(umask: unknown): void {
  // null is the default, as for every option (and as before the value was checked).
  if (umask === undefined || umask === null) return;
  if (typeof umask !== 'number' || !Number.isInteger(umask) || umask < 0 || umask > 0o777) {
    throw new ConfigError(`The umask option must be a whole number from 0 to 0o777, got ${shown(umask)}; write it in octal, e.g. umask: 0o027.`);
  }
  if ((umask & 0o700) !== 0) {
    throw new ConfigError(`The umask option 0o${umask.toString(8)} removes the owner's own permissions, so spoolkit could not use the files it makes; write it in octal with a leading 0o, e.g. umask: 0o077 (not 77).`);
  }
}

/** Resolves file and directory modes from a spoolkit `umask` option (default 0o002; world-write always removed). */
export function resolveModes(umask: number | undefined): FileModes {
  checkUmask(umask);
  const mask = ((umask ?? 0o002) | 0o002) & 0o777;
  const file = 0o666 & ~mask;
  const dir = 0o777 & ~mask;
  const pmask = currentProcessUmask();
  return { file, dir, chmodFiles: (file & ~pmask) !== file, chmodDirs: (dir & ~pmask) !== dir };
}

/** True when `err` is a Node errno error with `code`. */
export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as NodeJS.ErrnoException).code === code;
}

/** Rethrows an fs error as the spoolkit error naming its fix when there is one (ENOSPC, EACCES, EROFS, EXDEV). */
export function rethrowFs(err: unknown, at: string): never {
  throw spoolErrorFromErrno(err, at) ?? err;
}

/** The setgid bit of a mode (not in Node's fs.constants). */
const S_ISGID = 0o2000;

/** Called with each directory `mkdirp` creates, parents first (durable stores fsync its parent). */
export type OnDirCreated = (dir: string) => void;

/**
 * `mkdir -p` with spool modes. Returns true when it created anything. A directory made under a
 * setgid parent inherits the setgid bit (and the parent's group); the chmod keeps it, or a process
 * whose primary group differs would make directories the other users' group cannot write into.
 */
export function mkdirp(dir: string, modes: FileModes, onCreated?: OnDirCreated): boolean {
  try {
    fs.mkdirSync(dir, { mode: modes.dir });
    if (modes.chmodDirs) fs.chmodSync(dir, modes.dir | (fs.statSync(dir).mode & S_ISGID));
    onCreated?.(dir);
    return true;
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    if (!isErrno(err, 'ENOENT')) rethrowFs(err, dir);
  }
  mkdirp(path.dirname(dir), modes, onCreated);
  return mkdirp(dir, modes, onCreated);
}

/**
 * Writes all of `buf` at `position` (null: the file's offset, or its end under O_APPEND). A write
 * may take only part of its bytes (a disk filling up takes what fits and fails only on the next
 * write): the rest is written, and a write that takes nothing throws ENOSPC.
 */
export function writeAll(fd: number, buf: Buffer, position: number | null = null): void {
  let done = fs.writeSync(fd, buf, 0, buf.length, position);
  while (done < buf.length) {
    const n = fs.writeSync(fd, buf, done, buf.length - done, position === null ? null : position + done);
    if (n === 0) throw enospc();
    done += n;
  }
}

/** The error of a write that took no bytes. */
function enospc(): NodeJS.ErrnoException {
  return Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
}

/**
 * Gives an open file the spool's file mode when the process umask strips bits of it, so that the
 * other users of the spool's group can write it. A file another uid created first (opened without
 * O_EXCL) keeps the mode its creator gave it: changing it is not ours to do (EPERM).
 */
export function applyFileMode(fd: number, modes: FileModes): void {
  if (!modes.chmodFiles) return;
  try {
    fs.fchmodSync(fd, modes.file);
  } catch (err) {
    if (!isErrno(err, 'EPERM')) throw err;
  }
}

/** Appends `data` to `file`, creating it with the spool's file mode when it is missing (ENOENT when its directory is). */
export function appendText(file: string, data: string, modes: FileModes): void {
  const fd = fs.openSync(file, 'a', modes.file);
  try {
    applyFileMode(fd, modes);
    writeAll(fd, Buffer.from(data));
  } finally {
    fs.closeSync(fd);
  }
}

/** Creates `file` (exclusive) with `data`, fsyncing when `durable`; on any failure the file is removed again. */
function createWith(file: string, data: string, modes: FileModes, durable: boolean, inode: boolean): number {
  const fd = fs.openSync(file, 'wx', modes.file);
  let ok = false;
  try {
    applyFileMode(fd, modes);
    writeAll(fd, Buffer.from(data));
    if (durable) fs.fsyncSync(fd);
    const ino = inode ? fs.fstatSync(fd).ino : 0;
    ok = true;
    return ino;
  } finally {
    fs.closeSync(fd);
    if (!ok) unlinkQuietly(file);
  }
}

/** Removes `file`, ignoring every error (for clean-up on a path that is already failing). */
export function unlinkQuietly(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    // gone already, or the spool refuses: the stalled check removes a leftover temporary file
  }
}

/** Writes `data` to a new file at `file` (exclusive), fsyncing when `durable`. Returns the new inode. */
export function writeNewFile(file: string, data: string, modes: FileModes, durable: boolean): number {
  return createWith(file, data, modes, durable, true);
}

/** Writes `data` to a new file without reporting its inode (one syscall fewer). */
export function writeNewFileQuick(file: string, data: string, modes: FileModes, durable: boolean): void {
  createWith(file, data, modes, durable, false);
}

/** fsync a directory so a rename or unlink inside it survives a power loss. */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (err) {
    // Some filesystems refuse fsync on directories; the rename itself is still atomic.
    if (!isErrno(err, 'EINVAL') && !isErrno(err, 'EISDIR') && !isErrno(err, 'ENOENT')) rethrowFs(err, dir);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Renames `from` to `to`, creating `to`'s directory when it is missing (consumers remove empty
 * buckets, so a producer can find its bucket gone between mkdir and rename). Throws ENOENT only
 * when `from` itself is gone.
 */
export function renameInto(from: string, to: string, modes: FileModes, onCreated?: OnDirCreated): void {
  for (let i = 0; ; i++) {
    try {
      fs.renameSync(from, to);
      return;
    } catch (err) {
      if (!isErrno(err, 'ENOENT') || i >= 20) rethrowFs(err, to);
      if (!fs.existsSync(from)) throw err;
      mkdirp(path.dirname(to), modes, onCreated);
    }
  }
}

/**
 * Moves a file that is being discarded to `to` (spare pool or trash), as `renameInto` does. False
 * when `from` was gone; a filesystem that refuses the rename gets the file deleted instead.
 */
export function discardInto(from: string, to: string, modes: FileModes): boolean {
  try {
    renameInto(from, to, modes);
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    return tryUnlink(from);
  }
}

/** Reads a whole file as UTF-8, or undefined when it does not exist. */
export function tryReadText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return undefined;
    return rethrowFs(err, file);
  }
}

/** Reads a small JSON file written whole: undefined when it is missing or does not parse (another program's file). */
export function tryReadJson(file: string): unknown {
  const text = tryReadText(file);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Lists a directory, or returns [] when it does not exist. */
export function tryReaddir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return [];
    return rethrowFs(err, dir);
  }
}

/** Unlinks a file; false when it was already gone. */
export function tryUnlink(file: string): boolean {
  try {
    fs.unlinkSync(file);
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    return rethrowFs(err, file);
  }
}

/** Removes an empty directory; false when it is gone or not empty. */
export function tryRmdir(dir: string): boolean {
  try {
    fs.rmdirSync(dir);
    return true;
  } catch (err) {
    // Bucket removal is housekeeping: a read-only or foreign-owned spool just keeps its buckets.
    for (const code of ['ENOENT', 'ENOTEMPTY', 'EEXIST', 'EBUSY', 'EROFS', 'EACCES', 'EPERM']) if (isErrno(err, code)) return false;
    return rethrowFs(err, dir);
  }
}

/** stat, or undefined when the path does not exist. */
export function tryStat(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return undefined;
    return rethrowFs(err, file);
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for `ms` (only for very short back-offs inside synchronous critical sections). */
export function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}
