/**
 * Whether a queue has schedulers at all, in one `stat`. Kept apart from the rest of the scheduler
 * code so a Worker can ask without loading the cron parser.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** `<queueDir>/schedulers`. */
export function schedulersDirOf(queueDir: string): string {
  return join(queueDir, 'schedulers');
}

/** True when `<queueDir>/schedulers` is a directory. */
export function hasSchedulers(queueDir: string): boolean {
  try {
    return statSync(schedulersDirOf(queueDir)).isDirectory();
  } catch {
    return false;
  }
}

/** A run marker's file name: `<ms>.json` under `ticks/`. */
export const MARKER_NAME = /^(\d+)\.json$/;

/** The file of the run marker at `millis` in a scheduler's directory. */
export function markerPath(dir: string, millis: number): string {
  return join(dir, 'ticks', `${millis}.json`);
}

/** Longest scheduler directory name: its lock file, `.lock-<name>`, must fit a file name's 255 bytes. */
const MAX_DIR_NAME_BYTES = 255 - '.lock-'.length;

/**
 * The directory name for a scheduler id: `encodeURIComponent(id)`, with a leading '.' written
 * `%2E`. An id too long once encoded (':' and non-ASCII characters take 3 bytes or more each) is
 * named by the start of its encoding, `%h` and the SHA-256 of the id: `%h` never appears in an
 * encoded id, so such a name is never another id's.
 */
export function encodeSchedulerId(id: string): string {
  const encoded = encodeURIComponent(id);
  const name = encoded.startsWith('.') ? `%2E${encoded.slice(1)}` : encoded;
  if (name.length <= MAX_DIR_NAME_BYTES) return name;
  const prefix = name.slice(0, 100).replace(/%[0-9A-F]?$/, '');
  return `${prefix}%h${createHash('sha256').update(id).digest('hex')}`;
}

/** The scheduler id a directory name stands for, as far as the name tells (a hashed name stays as it is). */
export function schedulerIdOfDirName(name: string): string {
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

/**
 * True when the job of the run of `schedulerId` at `millis` belongs to a scheduler that still
 * stands: the scheduler exists and the run's marker is of its current generation. As in BullMQ,
 * such a job cannot be removed directly (nor by `drain` or `clean`) while it has not started;
 * runs of a removed or redefined scheduler can. Every not-started run stands: the run due now
 * and the run kept ahead (BullMQ has only one; removing either would lose a run).
 */
export function isStandingRun(queueDir: string, schedulerId: string, millis: number): boolean {
  const dir = join(schedulersDirOf(queueDir), encodeSchedulerId(schedulerId));
  const generationOf = (file: string): unknown => (JSON.parse(readFileSync(file, 'utf8')) as { generation?: unknown }).generation;
  try {
    const current = generationOf(join(dir, 'scheduler.json'));
    return current !== undefined && generationOf(markerPath(dir, millis)) === current;
  } catch {
    return false;
  }
}
