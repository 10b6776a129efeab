// @ts-check
// Controls for the disk's state between benchmark runs.
//
// On ext4 without a journal (this machine's disk), creating a file right after many files were
// deleted in the same part of the disk (block group) is 10-50 times slower than usual: for each
// new inode the kernel steps over every recently freed one it might still need, and while their
// inode-table blocks wait to be written back ("recently" then means up to five minutes) that
// state lasts until writeback, about 30-60 s here. So:
// - a finished run's directory is not deleted but retired (renamed into `.retired/`, one
//   rename); scripts/bench.mjs removes its whole base directory when the bench ends, so no case
//   pays for the deletes of the case before it;
// - before each timed part, `settle` runs `sync`, pauses, then probes: it times a few hundred file
//   creations next to where the case works and waits until they are quick again (or gives up
//   after `MAX_QUIET_WAIT_MS` and says so).
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Files created by one probe (a few hundred can land in free slots before the slow ones and look quick). */
const PROBE_FILES = 2000;
/** A probe faster than this (creates per second) finds the disk quiet; slow states run at 1-5k/s, quiet ones at 25k/s and more here. */
const QUIET_CREATES_PER_SEC = 10_000;
/** Pause between probes that found the disk busy. */
const PROBE_RETRY_MS = 5000;
/** Longest wait for a quiet disk before the run goes ahead anyway. */
const MAX_QUIET_WAIT_MS = 150_000;

/**
 * What `settle` found: how long it waited for file creation to be quick again, the last
 * probe's rate, and whether it got there.
 * @typedef {{ quietWaitMs: number; probeCreatesPerSec: number; quiet: boolean }} SettleReport
 */

/**
 * Flushes dirty data, waits `pauseMs`, then waits until creating files under `base` is quick.
 * @param {{ base: string; settleMs?: number }} p
 * @returns {Promise<SettleReport>}
 */
export async function settle(p) {
  execFileSync('sync');
  const pauseMs = p.settleMs ?? 1000;
  if (pauseMs > 0) await sleep(pauseMs);
  const t0 = Date.now();
  for (;;) {
    const rate = probeCreates(p.base);
    const waited = Date.now() - t0;
    if (rate >= QUIET_CREATES_PER_SEC || waited >= MAX_QUIET_WAIT_MS) {
      return { quietWaitMs: waited, probeCreatesPerSec: Math.round(rate), quiet: rate >= QUIET_CREATES_PER_SEC };
    }
    await sleep(PROBE_RETRY_MS);
    execFileSync('sync');
  }
}

/** Creates `PROBE_FILES` empty files in a new directory under `base` and returns the rate; the directory is retired. */
function probeCreates(base) {
  const dir = freshDir(base, 'probe');
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < PROBE_FILES; i++) closeSync(openSync(join(dir, String(i)), 'wx'));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  retireDir(dir);
  return PROBE_FILES / Math.max(seconds, 1e-9);
}

/** Creates a fresh directory for one run under `base`. */
export function freshDir(base, prefix) {
  mkdirSync(base, { recursive: true });
  return mkdtempSync(join(base, `${prefix}-`));
}

/** Sets a finished run's directory aside until the bench ends (one rename: nothing is deleted now). */
export function retireDir(dir) {
  const retired = join(dirname(dir), '.retired');
  mkdirSync(retired, { recursive: true });
  renameSync(dir, join(retired, basename(dir)));
}

/** Deletes a directory now, whatever it holds (only for deletes that are the point of a case). */
export function removeDir(dir) {
  rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
