/**
 * Jobs taken with `Worker.getNextJob` (BullMQ's manual fetching), kept by queue and id until the
 * caller ends them with `job.moveToCompleted` or `job.moveToFailed`, so that any `Job` object of
 * the job in this process can end it. A job fetched in another process cannot be ended here: its
 * claim is that process's.
 */
import type { RunningJob, RunOutcome } from './processing.js';
import type { QueueStore } from './spool/store.js';

/** A fetched job: its run, the token its caller gave, and how its Worker ends it. */
export interface ManualRun {
  run: RunningJob;
  token: string;
  /** Records the caller's outcome (completed with a result, or failed with an error). */
  finish(outcome: { result: unknown } | { error: Error }): Promise<RunOutcome>;
  /** Forgets the run, whose job the caller moved elsewhere (delayed, waiting, waiting for children). */
  drop(): void;
}

const runs = new Map<string, ManualRun>();

function keyOf(store: QueueStore, id: string): string {
  return `${store.dir}\0${id}`;
}

export function addManualRun(store: QueueStore, m: ManualRun): void {
  runs.set(keyOf(store, m.run.claim.id), m);
}

/** The fetched job `id` of the queue, if this process holds it. */
export function findManualRun(store: QueueStore, id: string): ManualRun | undefined {
  return runs.get(keyOf(store, id));
}

/** Forgets `m` (only `m`: the id may have been fetched again since). */
export function removeManualRun(store: QueueStore, m: ManualRun): void {
  const key = keyOf(store, m.run.claim.id);
  if (runs.get(key) === m) runs.delete(key);
}
