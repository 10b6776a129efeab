import type { Job } from '../job.js';
import type { JobsOptions } from '../types.js';

/**
 * What the scheduler needs from a queue. The Queue implements it and passes itself to the
 * scheduler functions; the scheduler never reaches into spool internals beyond `queueDir`.
 */
export interface SchedulerHost {
  readonly queueName: string;
  /** Absolute path of the queue's directory; scheduler state lives under `<queueDir>/schedulers/`. */
  readonly queueDir: string;
  /**
   * Adds a job whose id is chosen by spoolkit (it may contain ':', which user ids may not), with the
   * same atomic create-if-absent semantics as a custom `jobId`. Resolves `added: false`, and the
   * existing job, when a job with that id already exists in any state.
   */
  addReservedJob(name: string, data: unknown, opts: JobsOptions & { jobId: string }): Promise<{ added: boolean; job: Job }>;
  /**
   * Removes a run's job if its state is one of `states`, even while its scheduler stands (the
   * scheduler replacing its own run). True when removed. `quiet`: no `removed` event (a
   * redefinition replacing its run, as BullMQ does it). Optional: without it, the job's own
   * `remove()` is used.
   */
  removeReservedJob?(jobId: string, states: readonly string[], opts?: { quiet?: boolean }): Promise<boolean>;
  /** Current time in ms; tests may replace it. */
  now(): number;
}
