/**
 * Messages between a sandbox host (the worker process) and a sandbox child (a forked process or a
 * worker thread). Values cross the boundary by structured clone, so errors travel as plain
 * objects and are rebuilt on the other side with their `name`, which is how UnrecoverableError and
 * DelayedError keep their meaning across the boundary.
 */
import type { SerializedError } from '../serialized-error.js';

/** The job fields a sandboxed processor sees; methods are rebuilt as proxies in the child. */
export type JobSnapshot = Record<string, unknown>;

/** Methods of the real job that a sandboxed processor may call. */
export const PROXIED_METHODS = [
  'updateProgress',
  'log',
  'updateData',
  'moveToDelayed',
  'moveToWait',
  'getChildrenValues',
  'getFailedChildrenValues',
  'getIgnoredChildrenFailures',
  'getDependencies',
  'getDependenciesCount',
  'moveToWaitingChildren',
  'removeChildDependency',
  'removeUnprocessedChildren',
] as const;

/** One of {@link PROXIED_METHODS}. */
export type ProxiedMethod = (typeof PROXIED_METHODS)[number];

/** Host to child. */
export type HostMessage =
  | { t: 'run'; runId: number; job: JobSnapshot; token: string | undefined }
  | { t: 'abort'; runId: number; reason: SerializedError }
  /** Exit now: sent between jobs, when the child is retired or its sandbox closed. */
  | { t: 'stop' }
  | { t: 'reply'; callId: number; ok: true; value: unknown }
  | { t: 'reply'; callId: number; ok: false; error: SerializedError };

/** Child to host. */
export type ChildMessage =
  | { t: 'ready' }
  | { t: 'init-error'; error: SerializedError }
  | { t: 'call'; runId: number; callId: number; method: ProxiedMethod; args: unknown[] }
  | { t: 'done'; runId: number; ok: true; value: unknown; rssBytes: number }
  | { t: 'done'; runId: number; ok: false; error: SerializedError; rssBytes: number; fatal?: boolean };
