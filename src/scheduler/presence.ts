/**
 * Whether a queue has schedulers at all, in one `stat`. Kept apart from the rest of the scheduler
 * code so a Worker can ask without loading the cron parser.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
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
 * such a job cannot be removed directly (nor by `drain`); runs of a removed or redefined
 * scheduler can.
 */
export function isStandingRun(queueDir: string, schedulerId: string, millis: number): boolean {
  const dir = join(schedulersDirOf(queueDir), encodeSchedulerId(schedulerId));
  const generationOf = (file: string): unknown => (JSON.parse(readFileSync(file, 'utf8')) as { generation?: unknown }).generation;
  try {
    const current = generationOf(join(dir, 'scheduler.json'));
    if (current === undefined || generationOf(markerPath(dir, millis)) !== current) return false;
    // Only the scheduler's newest run stands (BullMQ keeps the one its scheduler points at).
    for (const name of readdirSync(join(dir, 'ticks'))) {
      const m = MARKER_NAME.exec(name);
      if (m && Number(m[1]) > millis && generationOf(markerPath(dir, Number(m[1]))) === current) return false;
    }
    return true;
  } catch {
    return false;
  }
}
