// Helpers for the end-to-end tests of the generated stack (the repository's own example app):
// job calls over the web container's HTTP API, job snapshots through the spool client, logs on
// failure.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { onTestFailed } from 'vitest';
import { waitFor, type Stack } from '../../../src/testing/index.js';

/** The app under test: the repository itself, or SPOOLKIT_E2E_APP_DIR (a copy with local changes). */
export const repo = path.resolve(process.env.SPOOLKIT_E2E_APP_DIR ?? path.resolve(import.meta.dirname, '../../..'));

/** True when the generated Dockerfile and compose file are in the repository. */
export const generatedStackPresent = existsSync(path.join(repo, 'docker/Dockerfile')) && existsSync(path.join(repo, 'compose.yaml'));

/** Job options that keep finished jobs, so tests can count them. */
export const KEEP = { removeOnComplete: false, removeOnFail: false };

/** What GET /jobs/:id of the example web app answers. */
export interface WebJob {
  id: string;
  name: string;
  state: string;
  progress: unknown;
  attemptsMade: number;
  returnvalue: unknown;
  failedReason?: string;
  timestamp: number;
  processedOn?: number;
  finishedOn?: number;
}

/** Prints the stack's container logs into the test output when the current test fails. */
export function logsOnFailure(get: () => Stack | undefined): void {
  onTestFailed(async () => {
    const stack = get();
    if (stack) console.error(`--- container logs of ${stack.project} ---\n${await stack.logs({ tail: 400 }).catch((e: unknown) => String(e))}`);
  });
}

/** POST /jobs on the web container; returns the new job's id. */
export async function postJob(stack: Stack, name: string, data: unknown, opts: Record<string, unknown> = KEEP): Promise<string> {
  const res = await stack.fetch('/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, data, opts }) });
  const body = (await res.json()) as { id?: string; error?: string };
  if (res.status !== 202 || !body.id) throw new Error(`POST /jobs answered ${res.status}: ${JSON.stringify(body)}`);
  return body.id;
}

/** GET /jobs/:id on the web container. */
export async function getWebJob(stack: Stack, id: string): Promise<WebJob> {
  const res = await stack.fetch(`/jobs/${encodeURIComponent(id)}`);
  if (res.status !== 200) throw new Error(`GET /jobs/${id} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as WebJob;
}

/** Polls GET /jobs/:id until the job is completed or failed. */
export function waitFinished(stack: Stack, id: string, timeoutMs = 30_000): Promise<WebJob> {
  return waitFor(async () => {
    const job = await getWebJob(stack, id);
    return job.state === 'completed' || job.state === 'failed' ? job : false;
  }, { timeoutMs, intervalMs: 50, what: `job ${id} to finish` });
}

/** A job as the spool reports it, with its state. */
export interface JobSnapshot {
  id: string;
  name: string;
  state: string;
  attemptsStarted: number | undefined;
  attemptsMade: number;
  stalledCounter: number | undefined;
  processedOn: number | undefined;
  finishedOn: number | undefined;
  returnvalue: unknown;
  failedReason: string | undefined;
}

const STATES = ['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed', 'waiting-children'];

/** Every job of a queue with its state, read inside a container. */
export async function snapshotJobs(stack: Stack, queue = 'demo'): Promise<JobSnapshot[]> {
  return stack.spool.run<JobSnapshot[]>(`
    const q = new spoolkit.Queue(${JSON.stringify(queue)});
    try {
      const out = [];
      for (const state of ${JSON.stringify(STATES)}) {
        for (const j of await q.getJobs([state], 0, -1)) {
          if (!j) continue;
          out.push({ id: j.id, name: j.name, state, attemptsStarted: j.attemptsStarted, attemptsMade: j.attemptsMade,
            stalledCounter: j.stalledCounter, processedOn: j.processedOn, finishedOn: j.finishedOn,
            returnvalue: j.returnvalue ?? null, failedReason: j.failedReason });
        }
      }
      return out;
    } finally { await q.close(); }`);
}

/** Ids of the jobs active right now (one cheap listing). */
export function activeJobIds(stack: Stack, queue = 'demo'): Promise<string[]> {
  return stack.spool.run<string[]>(`
    const q = new spoolkit.Queue(${JSON.stringify(queue)});
    try { return (await q.getJobs(['active'], 0, -1)).filter(Boolean).map((j) => j.id); } finally { await q.close(); }`);
}

/** Adds `count` jobs in one call inside a container; returns their ids. */
export function addJobs(stack: Stack, count: number, name: string, data: unknown, queue = 'demo'): Promise<string[]> {
  return stack.spool.run<string[]>(`
    const q = new spoolkit.Queue(${JSON.stringify(queue)});
    try {
      const ids = [];
      for (let i = 0; i < ${count}; i++) ids.push((await q.add(${JSON.stringify(name)}, ${JSON.stringify(data)}, ${JSON.stringify(KEEP)})).id);
      return ids;
    } finally { await q.close(); }`);
}

/** Counts of a queue. */
export function counts(stack: Stack, queue = 'demo'): Promise<Record<string, number>> {
  return stack.spool.counts(queue);
}

/** The processes of a container: pid, parent pid and command name, read from /proc. */
export async function processTree(stack: Stack, service: string, replica = 1): Promise<{ pid: number; ppid: number; comm: string; cmdline: string }[]> {
  const script = `const fs=require('fs');const out=[];for(const p of fs.readdirSync('/proc')){if(!/^\\d+$/.test(p))continue;try{const s=fs.readFileSync('/proc/'+p+'/stat','utf8');const m=/^(\\d+) \\((.*)\\) \\S+ (\\d+)/.exec(s);const cmd=fs.readFileSync('/proc/'+p+'/cmdline','utf8').split('\\0').join(' ').trim();out.push({pid:+m[1],comm:m[2],ppid:+m[3],cmdline:cmd})}catch{}}console.log(JSON.stringify(out))`;
  const r = await stack.exec(service, ['node', '-e', script], { replica });
  if (r.exitCode !== 0) throw new Error(`reading /proc failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { pid: number; ppid: number; comm: string; cmdline: string }[];
}
