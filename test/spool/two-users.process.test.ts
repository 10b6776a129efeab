/**
 * A web process and a worker running as two different users that share one spool through a group,
 * under umask 022 (Docker's default). Needs root to switch users (fixed uids and gids, no named
 * users); skipped otherwise.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from '../../src/index.js';
import { waitFor } from '../fixtures/core/helpers.js';
import { exited, readStarts, startFixture } from '../fixtures/core/procs.js';

const isRoot = process.getuid?.() === 0;
const FIXTURE = path.resolve(import.meta.dirname, '../fixtures/core/spool-user.ts');
const SHARED_GID = 4200;
/** Users whose primary group is their own; the spool's group is a supplementary group. */
const OWN_GROUP = { web: { uid: 4201, gid: 4201 }, worker: { uid: 4202, gid: 4202 } };
/** Users whose primary group is the spool's group. */
const SAME_GROUP = { web: { uid: 4201, gid: SHARED_GID }, worker: { uid: 4202, gid: SHARED_GID } };
type User = { uid: number; gid: number };

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/** A spool root owned by root and the shared group, group-writable and setgid (2775). */
export function sharedSpool(): string {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'spoolkit-users-'));
  cleanups.push(() => fs.rmSync(base, { recursive: true, force: true }));
  fs.chmodSync(base, 0o755);
  const root = path.join(base, 'spool');
  fs.mkdirSync(root);
  fs.chownSync(root, 0, SHARED_GID);
  fs.chmodSync(root, 0o2775);
  return root;
}

/** Runs one step of spool-user.ts as `user` (umask 022); resolves with its JSON line, bounded in time. */
function runAs(user: User, env: Record<string, string>, onReady?: () => void): Promise<Record<string, unknown>> {
  const args = [`--reuid=${user.uid}`, `--regid=${user.gid}`, `--groups=${SHARED_GID}`, process.execPath, '--import', 'tsx', FIXTURE];
  const child = spawn('/usr/bin/setpriv', args, { env: { ...process.env, UMASK: '022', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('ready\n')) onReady?.();
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`spool-user ${env.ACTION} still running after 30 s: ${err}`));
    }, 30_000);
    child.on('exit', (code) => {
      clearTimeout(t);
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) reject(new Error(`spool-user ${env.ACTION} exited with ${code}: ${err}`));
      else resolve(JSON.parse(last) as Record<string, unknown>);
    });
  });
}

/** Every path under `dir` (directories included). */
function walk(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((p) => path.join(dir, p));
}

describe.skipIf(!isRoot)('web and worker as two users in one group, umask 022', () => {
  it('directories keep the setgid bit, so a worker whose primary group differs can claim the web process’s jobs', async () => {
    const spool = sharedSpool();
    await runAs(OWN_GROUP.web, { SPOOL: spool, ACTION: 'add', N: '3' });
    const r = await runAs(OWN_GROUP.worker, { SPOOL: spool, ACTION: 'work', N: '3', MS: '8000' });
    expect(r.errors).toEqual([]);
    expect(r.counts).toMatchObject({ completed: 3, waiting: 0, active: 0 });
    const dirs = walk(spool).filter((p) => fs.statSync(p).isDirectory());
    expect(dirs.length).toBeGreaterThan(5);
    const wrong = dirs.filter((d) => (fs.statSync(d).mode & 0o2070) !== 0o2070 || fs.statSync(d).gid !== SHARED_GID);
    expect(wrong).toEqual([]);
  });

  it('every file either user creates is group-writable, so the other user can append to logs and metrics', async () => {
    const spool = sharedSpool();
    await runAs(SAME_GROUP.web, { SPOOL: spool, ACTION: 'add', N: '2' });
    // The web process's owner file in tmp/ (removed later, once a stalled check finds its writer gone).
    const owners = fs.readdirSync(path.join(spool, 'queues', 'mail', 'tmp')).filter((n) => n.startsWith('o-'));
    expect(owners).toHaveLength(1);
    expect(fs.statSync(path.join(spool, 'queues', 'mail', 'tmp', owners[0]!)).mode & 0o060).toBe(0o060);
    const first = await runAs(SAME_GROUP.worker, { SPOOL: spool, ACTION: 'work', N: '2', MS: '8000' });
    expect(first.errors).toEqual([]);
    // The web user adds rows to the log files the worker made.
    const logged = await runAs(SAME_GROUP.web, { SPOOL: spool, ACTION: 'log' });
    expect(logged.log).toEqual([null, null]);
    // A second worker of the web user appends to the metrics minute file the first one made.
    await runAs(SAME_GROUP.web, { SPOOL: spool, ACTION: 'add', N: '2' });
    const second = await runAs(SAME_GROUP.web, { SPOOL: spool, ACTION: 'work', N: '2', MS: '8000' });
    expect(second.errors).toEqual([]);
    expect(second.metric).toBe(4);
    // A retention pass writes its state file (the next pass may be the other user's).
    await runAs(SAME_GROUP.worker, { SPOOL: spool, ACTION: 'retain', KEEP: '3' });
    const files = walk(spool).filter((p) => fs.statSync(p).isFile());
    expect(files.some((f) => f.includes(`${path.sep}logs${path.sep}`))).toBe(true);
    expect(files.some((f) => f.includes(`${path.sep}metrics${path.sep}`))).toBe(true);
    expect(files.some((f) => path.basename(f).startsWith('retention'))).toBe(true);
    expect(files.filter((f) => (fs.statSync(f).mode & 0o060) !== 0o060)).toEqual([]);
  });

  it('the worker’s events reach the web process’s QueueEvents when the web process made the event segment', async () => {
    const spool = sharedSpool();
    await runAs(SAME_GROUP.web, { SPOOL: spool, ACTION: 'add', N: '3' });
    let ready!: () => void;
    const listening = new Promise<void>((r) => (ready = r));
    const listen = runAs(SAME_GROUP.web, { SPOOL: spool, ACTION: 'listen', MS: '6000' }, ready);
    await listening;
    const r = await runAs(SAME_GROUP.worker, { SPOOL: spool, ACTION: 'work', N: '3', MS: '8000' });
    expect(r.errors).toEqual([]);
    expect((await listen).completed).toBe(3);
  });

  it('a job file another user made without group write is run and finished by the worker, in the worker’s own copy', async () => {
    const spool = sharedSpool();
    const q = new Queue('mail', { spool });
    await q.add('welcome', { i: 0 });
    await q.add('welcome', { i: 1 });
    await q.close();
    // As `sudo spoolkit jobs add` with umask 022 leaves it: root's, not writable by the group.
    const files = walk(path.join(spool, 'queues', 'mail', 'waiting')).filter((p) => fs.statSync(p).isFile());
    expect(files).toHaveLength(2);
    for (const f of files) fs.chmodSync(f, 0o644);
    const r = await runAs(OWN_GROUP.worker, { SPOOL: spool, ACTION: 'work', N: '2', MS: '8000' });
    expect(r.errors).toEqual([]);
    expect(r.counts).toMatchObject({ completed: 2, active: 0, waiting: 0 });
    const done = walk(path.join(spool, 'queues', 'mail', 'completed')).filter((p) => fs.statSync(p).isFile());
    expect(done.map((f) => fs.statSync(f).uid)).toEqual([OWN_GROUP.worker.uid, OWN_GROUP.worker.uid]);
    // The id index names the copy: the job is found by id, with its outcome.
    const check = new Queue('mail', { spool });
    expect((await check.getJob('1'))?.returnvalue).toBe('ok');
    await check.close();
  });

  it('a job whose worker, run as another user, died holding a file the group may not write goes back to the queue and is run', async () => {
    const spool = sharedSpool();
    const q = new Queue('mail', { spool });
    await q.add('welcome', {});
    await q.close();
    const starts = path.join(path.dirname(spool), 'starts.log');
    const dead = await startFixture('worker-proc.ts', { SPOOL: spool, QUEUE: 'mail', STARTS: starts, JOB_MS: '60000', LOCK_MS: '1000', STALLED_MS: '200' });
    await waitFor(() => readStarts(starts).length === 1, 15_000, 'the job started');
    dead.kill('SIGKILL');
    await exited(dead);
    const active = walk(path.join(spool, 'queues', 'mail', 'active'));
    expect(active).toHaveLength(1);
    fs.chmodSync(active[0]!, 0o644);
    const r = await runAs(OWN_GROUP.worker, { SPOOL: spool, ACTION: 'work', N: '1', MS: '10000', LOCK_MS: '1000', STALLED_MS: '200' });
    expect(r.errors).toEqual([]);
    expect(r.counts).toMatchObject({ completed: 1, active: 0, waiting: 0 });
  });
});
