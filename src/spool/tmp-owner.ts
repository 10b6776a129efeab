/**
 * Who wrote a temp file. An `add` that dies between linking a job's id and publishing it leaves
 * its files in `tmp/`; the stalled checker cannot tell them from the files of an `add` still at
 * work, except by age (tmp-recovery.ts) or by knowing that their writer is gone.
 *
 * Every temp name of an add starts with its writer's key, `<pid>-<10 random characters>`
 * (`<key>-<n>.tmp` for a single job; `b-<key>-<n>-<m>` and the markers `b-<key>-<n>.open`,
 * `.commit`, `.undo` for a bulk), and the writer leaves `tmp/o-<key>` saying which process it is:
 * host, pid namespace, pid and start time, as heartbeats do. A reader on the same host and in the same pid namespace can then tell that the writer is
 * gone (even if its pid was reused) and recover its files at once; anywhere else the owner is
 * never judged gone, and the age rule stands.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROCESS_TAG } from './keys.js';
import { LIVENESS_TAG, PID_NAMESPACE, taggedProcessGone } from './process-gone.js';
import type { FileModes } from './fs.js';

/**
 * This thread's writer key in temp names: its pid and ten random characters (the process tag and
 * six more). Pids repeat across containers that share a volume, so the key must not: an owner
 * file overwritten by another writer with the same key would make one writer judged by the other.
 */
export const TMP_OWNER_KEY = `${process.pid}-${PROCESS_TAG}${(randomBytes(4).readUInt32BE(0) % 36 ** 6).toString(36).padStart(6, '0')}`;

/** How often a writer rewrites its owner file (store.ts), so that its age says it is still there. */
export const OWNER_REFRESH_MS = 3600_000;

/**
 * An owner file unchanged this long, with no temp file of its writer left, belongs to a writer
 * gone where it cannot be judged (another host or pid namespace): it is removed. Should that
 * writer still be there, its next temp files are judged by age alone until it rewrites the file.
 */
export const OWNER_IDLE_MS = 24 * OWNER_REFRESH_MS;

/** Prefix of an owner file's name in `tmp/`. */
export const OWNER_FILE_PREFIX = 'o-';

/** What an owner file says. */
interface TmpOwner {
  hostname: string;
  pidNamespace: string;
  pid: number;
  tag: string;
}

/** Writes this thread's owner file into `tmpDir` (best effort: without it, the age rule applies). */
export function writeTmpOwner(tmpDir: string, modes: FileModes): void {
  const owner: TmpOwner = { hostname: os.hostname(), pidNamespace: PID_NAMESPACE, pid: process.pid, tag: LIVENESS_TAG };
  try {
    const file = path.join(tmpDir, OWNER_FILE_PREFIX + TMP_OWNER_KEY);
    fs.writeFileSync(file, JSON.stringify(owner), { mode: modes.file });
    if (modes.chmodFiles) fs.chmodSync(file, modes.file);
  } catch {
    // A spool this process cannot write to fails at the add itself, with its own error.
  }
}

/**
 * The writer key a name in `tmp/` starts with (a job's temp file, a bulk's file or marker, an
 * owner file), or undefined for other names (id locks, names of older versions).
 */
export function ownerKeyOf(name: string): string | undefined {
  const m = /^(?:b-|o-)?(\d+-[0-9a-z]{10})(?:-|$)/.exec(name);
  return m?.[1];
}

/**
 * Judges the writers of one `tmp/` directory, each once per instance. A writer is gone only when
 * its owner file says so; a missing or unreadable owner file says nothing.
 */
export class TmpOwners {
  private readonly verdicts = new Map<string, boolean>();

  constructor(private readonly tmpDir: string) {}

  /** True when the writer with this key is known to be gone. */
  gone(key: string): boolean {
    let v = this.verdicts.get(key);
    if (v === undefined) {
      v = this.judge(path.join(this.tmpDir, OWNER_FILE_PREFIX + key));
      this.verdicts.set(key, v);
    }
    return v;
  }

  private judge(file: string): boolean {
    let owner: Partial<TmpOwner>;
    try {
      owner = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<TmpOwner>;
    } catch {
      return false;
    }
    if (typeof owner.hostname !== 'string' || typeof owner.pidNamespace !== 'string' || typeof owner.pid !== 'number' || typeof owner.tag !== 'string') return false;
    return taggedProcessGone(owner.hostname, owner.pidNamespace, owner.pid, owner.tag);
  }
}
