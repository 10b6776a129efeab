/**
 * The queue's rate limiter, shared by every process on the spool (BullMQ's `limiter` key).
 *
 * Starts are counted in windows. A window begins with the first start after the previous one
 * ended and lasts the duration of the worker that began it, as BullMQ's key gets its expiry from
 * the first increment. Everything lives in `<queue>/limiter/`:
 *
 *   w.<n>        window n: `{"start":ms,"duration":ms,"full":bool}`, made whole and then linked
 *                into place, so exactly one process begins window n (link(2) fails for the rest)
 *   s.<n>.<k>    start k of window n, an empty file created with O_EXCL: a slot is taken once,
 *                and slots are numbered below `max`, so a window never holds more than `max`
 *   t.<ms>.<u>   a window being written (left by a process killed meanwhile; swept a minute later)
 *
 * A window that is `full` (Queue.rateLimit, Worker.rateLimit) admits nothing until it ends.
 * Windows are numbered upwards; whoever begins one lists the directory first (so a process that
 * slept through several windows cannot begin an old number again) and sweeps windows two or more
 * behind, a few files per later start.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { isErrno, mkdirp, rethrowFs, tryReadJson, tryUnlink } from './fs.js';
import { uniqueName } from './keys.js';
import { readSetting, removeSetting, writeSetting } from './queue-settings.js';
import type { QueueStore } from './store.js';

/** One counting window. */
export interface RateWindow {
  n: number;
  startMs: number;
  durationMs: number;
  /** Admits no start (a manual rate limit). */
  full: boolean;
}

/** What `take` got: a slot (its file), or how long to wait. */
export type TakeResult = { slot: string } | { waitMs: number };

/** Files of old windows removed per start, so sweeping keeps up with the starts that make them. */
const SWEEP_PER_TAKE = 4;
/** Age after which a window file left half made by a killed process is removed. */
const STALE_TEMP_MS = 60_000;
/** Rounds of `take` against other processes beginning windows at the same moment. */
const MAX_ROUNDS = 16;

const WINDOW_RE = /^w\.(\d+)$/;
const FILE_RE = /^[ws]\.(\d+)(?:\.\d+)?$/;
const TEMP_RE = /^t\.(\d+)\./;

function windowEnd(w: RateWindow): number {
  return w.startMs + w.durationMs;
}

/** The limiter of one queue, with this process's view of it cached between calls. */
export class RateLimiter {
  readonly dir: string;
  private win: RateWindow | undefined;
  /** The lowest slot number of `win` not known to be taken. */
  private nextK = 0;
  private sweep: string[] = [];

  constructor(private readonly store: QueueStore) {
    this.dir = path.join(store.dir, 'limiter');
  }

  /**
   * Takes one start in the current window, beginning a window of `durationMs` when none is live.
   * Returns the slot taken, or the time until the window ends when it admits no more (`max`
   * counts the window's starts, whoever made them, as BullMQ compares its counter with each
   * worker's own `max`).
   */
  take(max: number, durationMs: number, nowMs: number): TakeResult {
    this.sweepSome();
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const w = this.current();
      if (!w || nowMs >= windowEnd(w)) {
        this.begin(nowMs, durationMs, false);
        continue;
      }
      if (w.full) return { waitMs: windowEnd(w) - nowMs };
      const k = this.firstFree(w.n, max);
      if (k >= max) return { waitMs: windowEnd(w) - nowMs };
      const slot = path.join(this.dir, `s.${w.n}.${k}`);
      try {
        fs.closeSync(fs.openSync(slot, 'wx', this.store.modes.file));
        this.nextK = k + 1;
        return { slot };
      } catch (err) {
        if (isErrno(err, 'EEXIST')) {
          this.nextK = k + 1;
          continue;
        }
        if (isErrno(err, 'ENOENT')) {
          // The directory went (obliterate): start over from what is there.
          this.forget();
          continue;
        }
        return rethrowFs(err, slot);
      }
    }
    // Others kept beginning windows under us: let the caller come back shortly.
    return { waitMs: 1 };
  }

  /** Starts the window may still admit (`max` when a new window would begin), and when it ends. */
  peek(max: number, nowMs: number): { free: number; waitMs: number } {
    const w = this.current();
    if (!w || nowMs >= windowEnd(w)) return { free: max, waitMs: 0 };
    const waitMs = windowEnd(w) - nowMs;
    if (w.full) return { free: 0, waitMs };
    return { free: Math.max(0, max - this.firstFree(w.n, max)), waitMs };
  }

  /** Admits no start for `ms` from now, for every worker with a limit (BullMQ's `rateLimit`). */
  limitFor(ms: number, nowMs: number): void {
    this.beginNext(nowMs, ms, true);
  }

  /**
   * BullMQ's `getRateLimitTtl`: with `maxJobs`, the time left in the window once it holds that
   * many starts, else 0; without, the time left in a live window, or -2 when there is none
   * (Redis's answer for a missing key).
   */
  ttl(maxJobs: number | undefined, nowMs: number): number {
    const w = this.latest();
    const live = w !== undefined && nowMs < windowEnd(w);
    if (maxJobs === undefined) return live ? windowEnd(w) - nowMs : -2;
    if (!live) return 0;
    return w.full || this.countSlots(w.n) >= maxJobs ? windowEnd(w) - nowMs : 0;
  }

  /** Ends the live window now (BullMQ's `removeRateLimitKey`): 1 when there was one, else 0. */
  remove(nowMs: number): number {
    const w = this.latest();
    if (!w || nowMs >= windowEnd(w)) return 0;
    this.beginNext(nowMs, 0, false);
    return 1;
  }

  /** The window this process knows of, moved on to any newer one another process began. */
  private current(): RateWindow | undefined {
    if (!this.win) {
      this.win = this.latest();
      this.nextK = 0;
      return this.win;
    }
    // One access(2) per start: a window begun elsewhere (a manual limit) is seen at once.
    while (fs.existsSync(path.join(this.dir, `w.${this.win.n + 1}`))) {
      const next = this.read(this.win.n + 1);
      if (!next) break;
      this.win = next;
      this.nextK = 0;
    }
    return this.win;
  }

  /** Begins the window after the newest one on disk, unless another process just did. */
  private begin(nowMs: number, durationMs: number, full: boolean): void {
    const newest = this.latest();
    if (newest && (!this.win || newest.n > this.win.n) && nowMs < windowEnd(newest)) {
      this.win = newest;
      this.nextK = 0;
      return;
    }
    this.create((newest?.n ?? 0) + 1, nowMs, durationMs, full);
  }

  /** Begins a new window whatever the current one is (manual limits, removal). */
  private beginNext(nowMs: number, durationMs: number, full: boolean): void {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      if (this.create((this.latest()?.n ?? 0) + 1, nowMs, durationMs, full)) return;
    }
    throw new Error(`Could not begin a rate-limit window in ${this.dir}: other processes kept beginning windows.`);
  }

  /** Links window `n` into place; false when another process made it first (then it is adopted). */
  private create(n: number, startMs: number, durationMs: number, full: boolean): boolean {
    mkdirp(this.dir, this.store.modes);
    const tmp = path.join(this.dir, `t.${startMs}.${uniqueName()}`);
    const w: RateWindow = { n, startMs, durationMs, full };
    fs.writeFileSync(tmp, JSON.stringify({ start: startMs, duration: durationMs, full }), { mode: this.store.modes.file });
    try {
      fs.linkSync(tmp, path.join(this.dir, `w.${n}`));
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) rethrowFs(err, path.join(this.dir, `w.${n}`));
      this.win = this.read(n);
      this.nextK = 0;
      return false;
    } finally {
      tryUnlink(tmp);
    }
    this.win = w;
    this.nextK = 0;
    this.planSweep(n, startMs);
    // A process that only begins windows (manual limits) sweeps here, one call at a time.
    this.sweepSome();
    return true;
  }

  /** The newest window on disk (a listing: the directory holds two windows' slots at most, plus what is being swept). */
  private latest(): RateWindow | undefined {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined;
      return rethrowFs(err, this.dir);
    }
    let top = -1;
    for (const name of names) {
      const m = WINDOW_RE.exec(name);
      if (m) top = Math.max(top, Number(m[1]));
    }
    return top < 0 ? undefined : (this.read(top) ?? { n: top, startMs: 0, durationMs: 0, full: false });
  }

  private read(n: number): RateWindow | undefined {
    const file = path.join(this.dir, `w.${n}`);
    if (!fs.existsSync(file)) return undefined;
    const v = tryReadJson(file) as { start?: unknown; duration?: unknown; full?: unknown } | undefined;
    if (typeof v?.start === 'number' && typeof v.duration === 'number') return { n, startMs: v.start, durationMs: v.duration, full: v.full === true };
    // Unreadable (only another program's file: windows are linked whole): an ended window, so the
    // next start begins a new one.
    return { n, startMs: 0, durationMs: 0, full: false };
  }

  /**
   * The lowest free slot number of window `n` from `nextK` on, or `max` when none below it is
   * free. Slots are taken in order, so the taken ones are nearly always a prefix: probe forward
   * in growing steps, then halve back to the first gap.
   */
  private firstFree(n: number, max: number): number {
    const exists = (k: number): boolean => fs.existsSync(path.join(this.dir, `s.${n}.${k}`));
    let lo = this.nextK;
    if (lo >= max) return max;
    if (!exists(lo)) return lo;
    let step = 1;
    let hi = lo + step;
    while (hi < max && exists(hi)) {
      lo = hi;
      step *= 2;
      hi = lo + step;
    }
    if (hi >= max) {
      if (exists(max - 1)) {
        this.nextK = max;
        return max;
      }
      hi = max - 1;
    }
    // exists(lo) and !exists(hi): find the first gap between them.
    while (hi - lo > 1) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (exists(mid)) lo = mid;
      else hi = mid;
    }
    this.nextK = hi;
    return hi;
  }

  private countSlots(n: number): number {
    const prefix = `s.${n}.`;
    let count = 0;
    try {
      for (const name of fs.readdirSync(this.dir)) if (name.startsWith(prefix)) count++;
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) rethrowFs(err, this.dir);
    }
    return count;
  }

  /** Lists the files of windows before `n - 1` (and stale temp files) for `sweepSome`. */
  private planSweep(n: number, nowMs: number): void {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      return;
    }
    // Replaced, not added to: a process that begins windows without taking slots (a Queue's
    // rateLimit) never sweeps, and must not pile up names.
    this.sweep = names.filter((name) => {
      const m = FILE_RE.exec(name);
      return m ? Number(m[1]) < n - 1 : Number(TEMP_RE.exec(name)?.[1] ?? nowMs) < nowMs - STALE_TEMP_MS;
    });
  }

  private sweepSome(): void {
    for (let i = 0; i < SWEEP_PER_TAKE && this.sweep.length > 0; i++) tryUnlink(path.join(this.dir, this.sweep.pop()!));
  }

  private forget(): void {
    this.win = undefined;
    this.nextK = 0;
    this.sweep = [];
  }
}

/** A queue-wide limit every worker obeys (BullMQ's `setGlobalRateLimit`), kept in `<queue>/rate-limit.json`. */
export interface GlobalRateLimit {
  max: number;
  duration: number;
}

const SETTING = 'rate-limit.json';

/** The queue's global rate limit, or undefined. */
export function readGlobalRateLimit(store: QueueStore): GlobalRateLimit | undefined {
  const v = readSetting(store, SETTING) as Partial<GlobalRateLimit> | undefined;
  return typeof v?.max === 'number' && typeof v.duration === 'number' ? { max: v.max, duration: v.duration } : undefined;
}

/** Sets the queue's global rate limit. True when there was none. */
export function writeGlobalRateLimit(store: QueueStore, limit: GlobalRateLimit): boolean {
  return writeSetting(store, SETTING, { max: limit.max, duration: limit.duration });
}

/** Removes the queue's global rate limit. True when there was one. */
export function removeGlobalRateLimit(store: QueueStore): boolean {
  return removeSetting(store, SETTING);
}

/** The checks of a rate limit's numbers, shared by the Worker's `limiter` and `setGlobalRateLimit`: the problem, or undefined. */
export function rateLimitProblem(max: unknown, duration: unknown): string | undefined {
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1) return `\`max\` must be a whole number of jobs >= 1, got \`${String(max)}\``;
  if (typeof duration !== 'number' || !Number.isFinite(duration) || duration < 1) return `\`duration\` must be a number of milliseconds >= 1, got \`${String(duration)}\``;
  return undefined;
}

/**
 * Checks the time of a manual rate limit (`Queue.rateLimit`, `Worker.rateLimit`), as Redis refuses
 * a `PX` that is not positive.
 */
export function assertRateLimitMs(ms: unknown, caller: string): asserts ms is number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) throw new ConfigError(`${caller}: expected a number of milliseconds > 0, got \`${String(ms)}\`.`);
}
