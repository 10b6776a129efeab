/**
 * A SchedulerHost backed by plain files, for scheduler tests that must not depend on the Queue:
 * `addReservedJob` creates `<queueDir>/jobs/<encoded id>.json` with an exclusive hard link (the
 * same create-if-absent guarantee the spool gives), and appends one line per creation to
 * `<queueDir>/added.log` so tests can count creations across processes. `getJob` returns a job
 * whose state is `delayed` until its due time and `waiting` after, or whatever `setState` set.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, linkSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { SchedulerHost } from '../../src/scheduler/host.js';

export interface FileJob {
  id: string;
  name: string;
  data: unknown;
  opts: Record<string, unknown>;
  addedAt: number;
  dueAt: number;
  state?: string;
}

export interface FileHostOptions {
  now?: () => number;
}

/** Creates the host for queue `queueName` under `spoolRoot/queues/<queueName>`. */
export function createFileHost(spoolRoot: string, queueName: string, options: FileHostOptions = {}) {
  const queueDir = join(spoolRoot, 'queues', queueName);
  const jobsDir = join(queueDir, 'jobs');
  mkdirSync(jobsDir, { recursive: true });
  const now = options.now ?? (() => Date.now());
  const jobPath = (id: string) => join(jobsDir, `${encodeURIComponent(id)}.json`);

  const read = (id: string): FileJob | undefined => {
    try {
      return JSON.parse(readFileSync(jobPath(id), 'utf8')) as FileJob;
    } catch {
      return undefined;
    }
  };

  const toJob = (j: FileJob) => ({
    ...j,
    async getState(): Promise<string> {
      const cur = read(j.id);
      if (!cur) return 'unknown';
      return cur.state ?? (cur.dueAt > now() ? 'delayed' : 'waiting');
    },
    async remove(): Promise<void> {
      rmSync(jobPath(j.id), { force: true });
    },
  });

  const host = {
    queueName,
    queueDir,
    now,
    async addReservedJob(name: string, data: unknown, opts: { jobId: string; delay?: number } & Record<string, unknown>) {
      const t = now();
      const job: FileJob = { id: opts.jobId, name, data, opts, addedAt: t, dueAt: t + (opts.delay ?? 0) };
      const temp = join(jobsDir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
      writeFileSync(temp, JSON.stringify(job));
      try {
        linkSync(temp, jobPath(opts.jobId));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const existing = read(opts.jobId);
        return { added: false, job: toJob(existing ?? job) as never };
      } finally {
        rmSync(temp, { force: true });
      }
      appendFileSync(join(queueDir, 'added.log'), `${JSON.stringify({ id: opts.jobId, pid: process.pid, at: t, dueAt: job.dueAt })}\n`);
      return { added: true, job: toJob(job) as never };
    },
    async getJob(id: string) {
      const j = read(id);
      return j ? toJob(j) : undefined;
    },
    /** Test helper: job ids present now. */
    jobIds(): string[] {
      return readdirSync(jobsDir)
        .filter((n) => !n.startsWith('.'))
        .map((n) => decodeURIComponent(n.slice(0, -'.json'.length)))
        .sort();
    },
    /** Test helper: read a job. */
    readJob: read,
    /** Test helper: simulate retention removing a finished job. */
    deleteJob(id: string): void {
      rmSync(jobPath(id), { force: true });
    },
    /** Test helper: force a job's state (e.g. 'active'). */
    setState(id: string, state: string): void {
      const j = read(id);
      if (j) writeFileSync(jobPath(id), JSON.stringify({ ...j, state }));
    },
    /** Test helper: every creation recorded in added.log (across processes). */
    addedLog(): { id: string; pid: number; at: number; dueAt: number }[] {
      const p = join(queueDir, 'added.log');
      if (!existsSync(p)) return [];
      return readFileSync(p, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { id: string; pid: number; at: number; dueAt: number });
    },
  };
  return host satisfies SchedulerHost;
}

export type FileHost = ReturnType<typeof createFileHost>;
