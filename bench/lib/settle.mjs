// @ts-check
// Controls for the disk's state between benchmark runs. On this kind of machine (ext4 without a
// journal, mounted with online discard) creating files shortly after many deletes is several times
// slower than on a quiet disk, so every timed run starts after the deletes of the previous one
// have been written back: `sync`, then a pause.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** Flushes dirty data and waits `pauseMs` so deferred work from earlier deletes is done. */
export async function settle(pauseMs = 1000) {
  execFileSync('sync');
  if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
}

/** Creates a fresh directory for one run under `base`. */
export function freshDir(base, prefix) {
  mkdirSync(base, { recursive: true });
  return mkdtempSync(join(base, `${prefix}-`));
}

/** Removes a run's directory, whatever it holds. */
export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}
