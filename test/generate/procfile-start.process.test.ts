// The Procfile init writes for Heroku and a VPS starts on a first deploy: each line runs as a
// Procfile runner runs it (sh -c, in a fresh checkout with no .spool and no SPOOLKIT_SPOOL), its
// processes share one spool and run a job, and SIGTERM reaches node itself (exec), which exits 0.
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runInit } from '../../src/generate/index.js';
import { Queue } from '../../src/queue.js';
import { assertBuilt, repoRoot, startCli, stopCli, tempDir, waitFor, type CliProcess } from '../cli/helpers.js';

const fixtureApp = fileURLToPath(new URL('../fixtures/runtime/entry-app/', import.meta.url));
const cleanups: (() => void)[] = [];
const procs: CliProcess[] = [];
beforeAll(() => assertBuilt());
afterEach(async () => {
  await Promise.all(procs.splice(0).map(stopCli));
  for (const c of cleanups.splice(0)) c();
});

/** A fresh checkout of an app with spoolkit installed (a link to this repository) and init run for `platform`. */
async function initApp(platform: 'heroku' | 'vps'): Promise<{ dir: string; lines: Map<string, string> }> {
  const d = tempDir('spoolkit-procfile-');
  cleanups.push(d.cleanup);
  const dir = join(d.path, 'app');
  cpSync(fixtureApp, dir, { recursive: true });
  const pkg = { name: 'shop', private: true, type: 'module', scripts: { start: 'node web.mjs' }, dependencies: { spoolkit: '*' }, spoolkit: { processors: 'processors.mjs' } };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  writeFileSync(join(dir, 'package-lock.json'), '{"lockfileVersion":3,"packages":{}}\n');
  const result = await runInit(dir, { options: { platform } });
  expect(result.ok).toBe(true);
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(repoRoot, join(dir, 'node_modules/spoolkit'), 'dir');
  const lines = new Map<string, string>();
  for (const line of readFileSync(join(dir, 'Procfile'), 'utf8').split('\n')) {
    const m = /^(\w+): (.*)$/.exec(line);
    if (m && m[1] !== 'release') lines.set(m[1] as string, m[2] as string);
  }
  return { dir, lines };
}

/** Starts one Procfile line the way foreman, honcho and Heroku do: through a shell, in the app directory. */
function startLine(dir: string, command: string, env: NodeJS.ProcessEnv = {}): CliProcess {
  const p = startCli(['/bin/sh', '-c', command], { raw: true, cwd: dir, env: { SPOOLKIT_SPOOL: undefined, SPOOLKIT_ROLE: undefined, PORT: '0', ...env } });
  procs.push(p);
  return p;
}

async function runsAJob(spool: string): Promise<void> {
  const q = new Queue('tasks', { spool });
  try {
    const job = await q.add('any', { n: 1 });
    await waitFor(async () => (await q.getJobState(job.id!)) === 'completed', 'the job to complete');
  } finally {
    await q.close();
  }
}

describe('the generated Procfile on a first deploy', () => {
  it('heroku: the web line creates the dyno spool, runs web and worker, and drains on SIGTERM', async () => {
    const { dir, lines } = await initApp('heroku');
    expect([...lines.keys()]).toEqual(['web']);
    expect(existsSync(join(dir, '.spool'))).toBe(false);
    const web = startLine(dir, lines.get('web') as string);
    await waitFor(() => web.stdout().includes('"web":"ready"'), 'the web process to start', 20_000);
    await runsAJob(join(dir, '.spool'));
    // The shell exec'd node, so the pid a runner signals is node's own and it drains and exits 0.
    web.child.kill('SIGTERM');
    const end = await web.done;
    expect(end.stderr).not.toContain('SPOOL_MISSING');
    expect({ code: end.code, signal: end.signal }).toEqual({ code: 0, signal: null });
  });

  it('vps: every line starts against one shared spool, SPOOLKIT_SPOOL included, and each exits 0 on SIGTERM', async () => {
    const { dir, lines } = await initApp('vps');
    expect([...lines.keys()]).toEqual(['web', 'worker']);
    // A file:// URL (a documented SPOOLKIT_SPOOL) is created at its path, not as a ./file: tree.
    for (const spool of [undefined, 'data/spool', `file://${dir}/data/url-spool`]) {
      const env = spool === undefined ? {} : { SPOOLKIT_SPOOL: spool };
      const started = [...lines.values()].map((command) => startLine(dir, command, env));
      const [web] = started as [CliProcess];
      await waitFor(() => web.stdout().includes('"web":"ready"'), 'the web process to start', 20_000);
      await runsAJob(spool?.startsWith('file://') ? spool.slice('file://'.length) : join(dir, spool ?? '.spool'));
      for (const p of started) p.child.kill('SIGTERM');
      for (const p of started) {
        const end = await p.done;
        expect(end.stderr).not.toContain('SPOOL_MISSING');
        expect({ code: end.code, signal: end.signal }).toEqual({ code: 0, signal: null });
      }
    }
    expect(existsSync(join(dir, 'file:'))).toBe(false);
  });
});
