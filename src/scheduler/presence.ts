/**
 * Whether a queue has schedulers at all, in one `stat`. Kept apart from the rest of the scheduler
 * code so a Worker can ask without loading the cron parser.
 */
import { statSync } from 'node:fs';
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
