/**
 * `checkSpool`: is this spool usable by this process? Each problem comes with a code, a message
 * and the fix. Checks: the root exists and is a directory, this uid can create files in it (a
 * one-byte probe: an empty file fits on a full disk), the filesystem is writable and has free
 * blocks, this uid may write every queue directory and state directory (the web process and the
 * worker write into all of them) and the directories below them that jobs are renamed into and out
 * of (time buckets, id shards: see `check-buckets.ts`; at most `maxBucketDirs` of them, the most
 * important first), every state directory is on the root's filesystem (a rename
 * across filesystems fails with EXDEV), and the format version is one this spoolkit understands.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isErrno, rethrowFs } from './fs.js';
import { bucketDirs } from './check-buckets.js';
import { isFormatVersion, SPOOL_FORMAT_VERSION } from './root.js';
import { STATE_DIRS } from './store.js';
import { listQueues } from './status.js';

/** One problem found by `checkSpool`. */
export interface SpoolProblem {
  code: string;
  message: string;
  fix: string;
}

/** Result of `checkSpool`. */
export interface SpoolCheck {
  ok: boolean;
  problems: SpoolProblem[];
  /** This process's uid (-1 where uids do not exist). */
  uid: number;
  /** Owner uid of the spool root, or null when it is missing. */
  ownerUid: number | null;
  /** True when every state directory is on the root's filesystem. */
  sameFilesystem: boolean;
}

/** Options of `checkSpool`. */
export interface SpoolCheckOptions {
  /**
   * How many directories below the state directories (time buckets, id shards) to check at most,
   * the most important first. About 5 µs each: the default keeps a health check's share near 5 ms
   * on a spool whose backlog spans a day (85,000 leaves).
   * @default 1000
   */
  maxBucketDirs?: number;
}

/** Directories below the state directories a check visits by default (see `SpoolCheckOptions`). */
export const DEFAULT_MAX_BUCKET_DIRS = 1000;

/** Checks a spool root; never throws for a problem it can describe. */
export async function checkSpool(root: string, opts: SpoolCheckOptions = {}): Promise<SpoolCheck> {
  const uid = process.getuid?.() ?? -1;
  const problems: SpoolProblem[] = [];
  let st: fs.Stats;
  try {
    st = fs.statSync(root);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'UNKNOWN';
    problems.push(
      code === 'ENOENT'
        ? { code: 'SPOOL_MISSING', message: `The spool directory ${root} does not exist.`, fix: `Create it (mkdir -p ${shellWord(root)}) or mount the spool volume there, or set SPOOLKIT_SPOOL to the right path.` }
        : { code: 'SPOOL_UNREADABLE', message: `The spool directory ${root} cannot be read (${code}).`, fix: `Give uid ${uid} access to ${root}.` },
    );
    return { ok: false, problems, uid, ownerUid: null, sameFilesystem: true };
  }
  if (!st.isDirectory()) {
    problems.push({ code: 'SPOOL_NOT_DIRECTORY', message: `The spool path ${root} is not a directory.`, fix: `Point SPOOLKIT_SPOOL at a directory (or remove the file at ${root}).` });
    return { ok: false, problems, uid, ownerUid: st.uid, sameFilesystem: true };
  }
  const probe = path.join(root, `.probe-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  try {
    try {
      fs.writeFileSync(probe, '.', { flag: 'wx' });
    } finally {
      fs.rmSync(probe, { force: true });
    }
    if (noFreeBlocks(root)) throw Object.assign(new Error('no free blocks'), { code: 'ENOSPC' });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EROFS') {
      problems.push({ code: 'SPOOL_READ_ONLY', message: `The spool at ${root} is on a read-only filesystem.`, fix: 'Mount the spool volume read-write (remove :ro from the volume).' });
    } else if (code === 'EACCES' || code === 'EPERM') {
      problems.push({
        code: 'SPOOL_NOT_WRITABLE',
        message: `The spool at ${root} is owned by uid ${st.uid} (mode ${(st.mode & 0o777).toString(8)}) and is not writable by uid ${uid}.`,
        fix: `chown -R ${uid} ${shellWord(root)}, add uid ${uid} to the group that owns it with group write (chmod -R g+w ${shellWord(root)}; when the users have different primary groups also find ${shellWord(root)} -type d -exec chmod g+s {} +), or run as uid ${st.uid}.`,
      });
    } else if (code === 'ENOSPC' || code === 'EDQUOT') {
      problems.push({ code: 'SPOOL_FULL', message: `The spool at ${root} is out of space (${code}): adding and finishing jobs fails.`, fix: 'Free disk space or grow the volume.' });
    } else {
      problems.push({ code: 'SPOOL_UNWRITABLE', message: `Cannot create a file in ${root} (${code ?? String(err)}).`, fix: `Check the mount and permissions of ${root}.` });
    }
  }
  const dirs = [path.join(root, 'queues'), path.join(root, 'workers')];
  const queueDirs = listQueues(root).map((q) => path.join(root, 'queues', q));
  for (const q of queueDirs) for (const d of ['', ...STATE_DIRS]) dirs.push(path.join(q, d));
  if (problems.length === 0) {
    const denied = notWritable(dirs);
    // Root may write every directory: nothing below to look at.
    if (denied.length === 0 && uid !== 0) denied.push(...notWritable(bucketDirs(queueDirs), opts.maxBucketDirs ?? DEFAULT_MAX_BUCKET_DIRS));
    if (denied.length) problems.push(notWritableProblem(root, uid, denied));
  }
  let sameFilesystem = true;
  for (const d of dirs) {
    try {
      const ds = fs.statSync(d);
      if (ds.dev !== st.dev) {
        sameFilesystem = false;
        problems.push({
          code: 'SPOOL_EXDEV',
          message: `${d} is on a different filesystem from the spool root ${root}; renames between them fail (EXDEV).`,
          fix: `Mount the whole spool directory ${root} as one volume, not its subdirectories.`,
        });
        break;
      }
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) rethrowFs(err, d);
    }
  }
  const markerFile = path.join(root, 'spool.json');
  try {
    const marker = JSON.parse(fs.readFileSync(markerFile, 'utf8')) as { version?: unknown };
    if (!isFormatVersion(marker.version)) {
      problems.push({ code: 'SPOOL_FORMAT_CORRUPT', message: `${markerFile} has no valid format version (a whole number from 1).`, fix: `Restore ${markerFile} or point SPOOLKIT_SPOOL at a spoolkit spool.` });
    } else if (marker.version > SPOOL_FORMAT_VERSION) {
      problems.push({
        code: 'SPOOL_FORMAT_UNKNOWN',
        message: `The spool at ${root} uses format version ${marker.version}; this spoolkit understands up to ${SPOOL_FORMAT_VERSION}.`,
        fix: 'Upgrade spoolkit in this container to the version the other containers use.',
      });
    }
  } catch (err) {
    if (isErrno(err, 'EACCES') || isErrno(err, 'EPERM')) {
      problems.push({
        code: 'SPOOL_UNREADABLE',
        message: `${markerFile} cannot be read by uid ${uid} (${(err as NodeJS.ErrnoException).code}).`,
        fix: `Give uid ${uid} read access to ${root} and the files in it (chown -R ${uid} ${shellWord(root)}, or a group it is in with chmod -R g+rX ${shellWord(root)}), or run as uid ${st.uid}.`,
      });
    } else if (!isErrno(err, 'ENOENT')) {
      problems.push({ code: 'SPOOL_FORMAT_CORRUPT', message: `${markerFile} is not readable JSON.`, fix: `Restore ${markerFile} or point SPOOLKIT_SPOOL at a spoolkit spool.` });
    }
  }
  return { ok: problems.length === 0, problems, uid, ownerUid: st.uid, sameFilesystem };
}

/** True when the filesystem of `dir` has no block left for this uid (root may use the reserved ones). */
function noFreeBlocks(dir: string): boolean {
  try {
    const fsStat = fs.statfsSync(dir);
    return (process.getuid?.() === 0 ? fsStat.bfree : fsStat.bavail) === 0;
  } catch {
    // No statfs here: the probe's write is the test.
    return false;
  }
}

/** The directories of `dirs` (the first `max` of them) that exist and this process may not create or remove files in. */
function notWritable(dirs: Iterable<string>, max = Infinity): { dir: string; st: fs.Stats }[] {
  const denied: { dir: string; st: fs.Stats }[] = [];
  let checked = 0;
  for (const dir of dirs) {
    if (checked++ >= max) break;
    try {
      fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
    } catch (err) {
      if (!isErrno(err, 'EACCES') && !isErrno(err, 'EPERM')) continue;
      const st = fs.statSync(dir, { throwIfNoEntry: false });
      if (st) denied.push({ dir, st });
    }
  }
  return denied;
}

/** SPOOL_NOT_WRITABLE for directories inside a writable root (made by another user without group write). */
function notWritableProblem(root: string, uid: number, denied: { dir: string; st: fs.Stats }[]): SpoolProblem {
  const shown = denied
    .slice(0, 3)
    .map(({ dir, st }) => `${path.relative(root, dir)} (uid ${st.uid}, gid ${st.gid}, mode ${(st.mode & 0o7777).toString(8)})`)
    .join(', ');
  const more = denied.length > 3 ? ` and ${denied.length - 3} more` : '';
  return {
    code: 'SPOOL_NOT_WRITABLE',
    message: `uid ${uid} cannot write ${denied.length} director${denied.length === 1 ? 'y' : 'ies'} of the spool at ${root}: ${shown}${more}; jobs there can be neither added nor claimed.`,
    fix: `chown -R ${uid} ${shellWord(root)}, or give the users one group: chgrp -R <group> ${shellWord(root)} && chmod -R g+w ${shellWord(root)} && find ${shellWord(root)} -type d -exec chmod g+s {} + (setgid keeps new directories in the group when the users' primary groups differ).`,
  };
}

/** `text` as one shell word, quoted only when it needs it, so a fix can be pasted into a shell. */
export function shellWord(text: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
