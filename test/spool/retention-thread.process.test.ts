import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { assertBuilt, repoRoot } from '../cli/helpers.js';
import { tmpSpool } from '../fixtures/core/helpers.js';

const run = promisify(execFile);

// The built package, as an app imports it: the thread starts from dist/, not through tsx.
const script = `
const dist = process.argv[1];
const { Queue, Worker } = await import(dist + '/index.js');
const { retentionThreadPasses } = await import(dist + '/spool/retention-thread.js');
const [spool, n, jobMs, concurrency, bigState] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5]), process.argv[6] === 'big-state'];
const q = new Queue('q', { spool });
if (bigState) {
  // A retention state of about 400 KiB (failed jobs kept forever), above the in-process budget.
  const { writeFileSync } = await import('node:fs');
  const failed = Array.from({ length: 7000 }, (_, i) => ['kept-for-ever-' + String(i).padStart(30, '0'), Date.now()]);
  writeFileSync(spool + '/queues/q/retention.json', JSON.stringify({ pos: '0', completed: [], failed, keepFailed: false }));
}
await q.addBulk(Array.from({ length: n }, (_, i) => ({ name: 'j', data: { i } })));
const work = jobMs > 0 ? () => new Promise((r) => setTimeout(() => r('ok'), jobMs)) : async () => 'ok';
const w = new Worker('q', work, { spool, concurrency, removeOnComplete: { count: 5 } });
const errors = [];
w.on('error', (e) => errors.push(e.code + ' ' + e.message));
const started = Date.now();
const deadline = started + 25000;
let counts;
while (Date.now() < deadline) {
  counts = await q.getJobCounts('completed', 'waiting');
  if (counts.waiting === 0 && counts.completed === 5 && (retentionThreadPasses() > 0 || Date.now() > started + 3500)) break;
  await new Promise((r) => setTimeout(r, 20));
}
await w.close();
await q.close();
console.log(JSON.stringify({ counts, passes: retentionThreadPasses(), errors }));
`;

interface ScriptOutput {
  counts: Record<string, number>;
  passes: number;
  errors: string[];
}

/** Runs the script against the build at `dist` and returns what it printed. */
async function runScript(dist: string, args: string[], nodeFlags: string[] = [], prelude = ''): Promise<ScriptOutput> {
  const { stdout } = await run(process.execPath, [...nodeFlags, '--input-type=module', '-e', `${prelude}${script}`, dist, ...args], { timeout: 45_000 });
  return JSON.parse(stdout) as ScriptOutput;
}

/**
 * Calls `fn` with a copy of dist/ that lacks the thread's module, as a bundle might. The copy sits
 * inside the repository so that node_modules resolves, and is removed afterwards.
 */
async function withoutThreadModule<T>(fn: (dist: string) => Promise<T>): Promise<T> {
  const parent = join(repoRoot, '.tmp');
  mkdirSync(parent, { recursive: true });
  const copy = mkdtempSync(join(parent, 'dist-no-thread-'));
  cpSync(join(repoRoot, 'dist'), copy, { recursive: true });
  rmSync(join(copy, 'spool', 'retention-thread-main.js'));
  try {
    return await fn(copy);
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

describe('retention thread in the built package', () => {
  it('a draining Worker trims finished jobs on the thread, and the process exits on its own', async () => {
    assertBuilt();
    // The process must end by itself after close(): the thread never keeps it alive.
    const out = await runScript(join(repoRoot, 'dist'), [tmpSpool(), '1000', '0', '8']);
    expect(out.errors).toEqual([]);
    expect(out.counts).toEqual({ completed: 5, waiting: 0 });
    expect(out.passes).toBeGreaterThan(0);
  });

  it('when the thread cannot start (its module is missing, as in a bundle), retention runs in the process after one error', async () => {
    assertBuilt();
    // About 2 s of work at 5 ms a job, 4 at a time: at least two busy passes, each of which
    // would try (and fail) to start a thread again without the fallback.
    const out = await withoutThreadModule((dist) => runScript(dist, [tmpSpool(), '1500', '5', '4']));
    expect(out.errors).toHaveLength(1);
    expect(out.errors[0]).toMatch(/^ERR_HELPER_THREAD The retention thread could not start/);
    expect(out.passes).toBe(0);
    expect(out.counts).toEqual({ completed: 5, waiting: 0 });
  });

  it('without a thread, a retention state too big for the in-process budget is still trimmed', async () => {
    assertBuilt();
    const out = await withoutThreadModule((dist) => runScript(dist, [tmpSpool(), '600', '0', '8', 'big-state']));
    expect(out.errors).toHaveLength(1);
    expect(out.counts).toEqual({ completed: 5, waiting: 0 });
  });

  it("where threads are refused at once (Node's permission model without --allow-worker), the Worker goes on and retention runs in the process", async () => {
    assertBuilt();
    // umask 002 first: the permission model also refuses fchmod, which a stricter umask would need.
    const flags = ['--experimental-permission', '--allow-fs-read=*', '--allow-fs-write=*', '--no-warnings'];
    const out = await runScript(join(repoRoot, 'dist'), [tmpSpool(), '1000', '0', '8'], flags, 'process.umask(0o002);\n');
    expect(out.errors).toEqual([expect.stringMatching(/^ERR_HELPER_THREAD The retention thread could not start/)]);
    expect(out.passes).toBe(0);
    expect(out.counts).toEqual({ completed: 5, waiting: 0 });
  });
});
