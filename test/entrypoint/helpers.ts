/**
 * Helpers for the entrypoint's process tests: a copy of the stand-in app (package.json with
 * spoolkit.web and spoolkit.processors) on its own temp spool, the entrypoint started in it, and
 * what its web command printed.
 */
import { chmodSync, cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from '../../src/queue.js';
import { stopCli, startCli, tempDir, waitFor, type CliProcess } from '../cli/helpers.js';

const fixtureApp = fileURLToPath(new URL('../fixtures/runtime/entry-app/', import.meta.url));

/** A copy of the app and its spool. */
export interface EntryApp {
  dir: string;
  spool: string;
}

/** What a test made: call `cleanup()` in afterEach. */
export function entryScope(): {
  app(): EntryApp;
  entry(a: EntryApp, args: string[], env?: NodeJS.ProcessEnv): CliProcess;
  queue(spool: string): Queue;
  cleanup(): Promise<void>;
} {
  const cleanups: (() => void)[] = [];
  const procs: CliProcess[] = [];
  const queues: Queue[] = [];
  return {
    app() {
      const d = tempDir('spoolkit-roles-');
      cleanups.push(d.cleanup);
      chmodSync(d.path, 0o755);
      const dir = join(d.path, 'app');
      cpSync(fixtureApp, dir, { recursive: true });
      const spool = join(d.path, 'spool');
      mkdirSync(spool);
      return { dir, spool };
    },
    entry(a, args, env = {}) {
      const p = startCli(['entrypoint', ...args], { cwd: a.dir, env: { SPOOLKIT_SPOOL: a.spool, SPOOLKIT_ROLE: '', ...env } });
      procs.push(p);
      return p;
    },
    queue(spool) {
      const q = new Queue('tasks', { spool });
      queues.push(q);
      return q;
    },
    async cleanup() {
      await Promise.all(procs.splice(0).map(stopCli));
      await Promise.all(queues.splice(0).map((q) => q.close()));
      for (const c of cleanups.splice(0)) c();
    },
  };
}

/** The JSON lines the stand-in web command printed on stdout. */
export function webLines(p: CliProcess): Record<string, unknown>[] {
  return p
    .stdout()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Waits for the stand-in web command's "ready" line and returns it. */
export async function webReady(p: CliProcess): Promise<Record<string, unknown>> {
  await waitFor(() => webLines(p).some((l) => l.web === 'ready'), 'the web command to start');
  return webLines(p).find((l) => l.web === 'ready')!;
}
