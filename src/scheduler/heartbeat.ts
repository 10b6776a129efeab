/**
 * The scheduler loop's heartbeat: the same file a Worker writes (spool/heartbeat.ts), with
 * `kind: "scheduler"`, so `spoolkit health` in a scheduler container can tell a loop that stopped
 * or hangs from one that runs, and `spoolkit ps` lists it. It is written between rounds, not from
 * a timer: a round stuck in a pass leaves it stale, as a blocked event loop does.
 */
import os from 'node:os';
import { ConfigError } from '../errors.js';
import { resolveModes } from '../spool/fs.js';
import { removeHeartbeat, writeHeartbeat } from '../spool/heartbeat.js';
import { LIVENESS_TAG, PID_NAMESPACE } from '../spool/process-gone.js';
import { uniqueName } from '../spool/keys.js';

/** Writes and removes one scheduler loop's heartbeat file. */
export class SchedulerHeartbeat {
  readonly id = `${os.hostname()}-${process.pid}-scheduler-${uniqueName()}`;
  private readonly startedAt = Date.now();
  private lastAt = 0;
  private readonly modes = resolveModes(undefined);

  constructor(
    private readonly root: string,
    private readonly intervalMs: number,
    private readonly meta: Record<string, unknown>,
  ) {
    if (!Number.isFinite(intervalMs) || intervalMs < 1) throw new ConfigError(`Expected \`heartbeatIntervalMs\` to be a number >= 1, got \`${String(intervalMs)}\`.`);
  }

  /** Rewrites the file when it is due (or `force`). `runs` counts enqueued runs, `failed` failed passes and schedulers. */
  beat(queues: string[], runs: number, failed: number, force = false): void {
    const now = Date.now();
    if (!force && now - this.lastAt < this.intervalMs) return;
    this.lastAt = now;
    writeHeartbeat(
      this.root,
      {
        workerId: this.id,
        kind: 'scheduler',
        hostname: os.hostname(),
        pid: process.pid,
        processTag: LIVENESS_TAG,
        pidNamespace: PID_NAMESPACE,
        queues,
        startedAt: this.startedAt,
        heartbeatAt: now,
        concurrency: 0,
        running: 0,
        processed: runs,
        failed,
        meta: this.meta,
      },
      this.modes,
    );
  }

  /** Milliseconds until the next beat is due. */
  dueInMs(nowMs = Date.now()): number {
    return Math.max(0, this.lastAt + this.intervalMs - nowMs);
  }

  /** Removes the file (a loop that stopped cleanly is not a stale one). */
  remove(): void {
    removeHeartbeat(this.root, this.id);
  }
}
