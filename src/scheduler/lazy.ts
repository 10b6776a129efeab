/**
 * Entry points of the scheduler for the package's main module, loaded on first use: the cron
 * library costs tens of milliseconds to load, which an app that never schedules should not pay.
 */
import type { SchedulerHost } from './host.js';
import type { SchedulerLoopOptions } from './loop.js';
import type { SchedulerPassOptions, SchedulerPassResult } from './pass.js';

/** Runs scheduler passes for `opts.queues` until `opts.signal` aborts (see `runSchedulerLoop` in ./loop.ts). */
export async function runSchedulerLoop(opts: SchedulerLoopOptions): Promise<void> {
  return (await import('./loop.js')).runSchedulerLoop(opts);
}

/** Runs one scheduler pass over a queue (see `runSchedulerPass` in ./pass.ts). */
export async function runSchedulerPass(host: SchedulerHost, opts?: SchedulerPassOptions): Promise<SchedulerPassResult> {
  return (await import('./pass.js')).runSchedulerPass(host, opts);
}
