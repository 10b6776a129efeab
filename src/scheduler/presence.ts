/**
 * Whether a queue has schedulers at all, in one `stat`. Kept apart from the rest of the scheduler
 * code so a Worker can ask without loading the cron parser.
 */
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

/** The directory name for a scheduler id. */
export function encodeSchedulerId(id: string): string {
  const encoded = encodeURIComponent(id);
  return encoded.startsWith('.') ? `%2E${encoded.slice(1)}` : encoded;
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
