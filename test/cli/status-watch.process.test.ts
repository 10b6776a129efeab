/**
 * `spoolkit status --watch` as an operator runs it: Ctrl-C ends it during the wait between
 * refreshes, and --count without --watch is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { assertBuilt, runCli, startCli, stopCli, tempDir, waitFor } from './helpers.js';

const dir = tempDir('spoolkit-watch-');
const spool = join(dir.path, 'spool');

beforeAll(async () => {
  assertBuilt();
  mkdirSync(spool);
  expect((await runCli(['jobs', 'add', 'mail', 'x', '--spool', spool])).code).toBe(0);
});
afterAll(() => dir.cleanup());

describe('spoolkit status --watch', () => {
  it('ends with exit 0 on SIGINT while it waits out a long interval', async () => {
    // The interval is far longer than the wait below: only an interrupted wait ends in time.
    const p = startCli(['status', '--spool', spool, '--watch', '--interval-ms', '600000', '--json'], { timeoutMs: 60_000 });
    try {
      await waitFor(() => p.stdout().includes('\n'), 'the first refresh');
      p.child.kill('SIGINT');
      let ended = false;
      void p.done.then(() => (ended = true));
      await waitFor(() => ended, 'status --watch to end after SIGINT', 15_000);
      const r = await p.done;
      expect(r.code).toBe(0);
      expect(r.stdout.trim().split('\n')).toHaveLength(1);
    } finally {
      await stopCli(p);
    }
  });

  it('refuses --count without --watch with exit 2 naming --watch', async () => {
    const r = await runCli(['status', '--spool', spool, '--count', '3']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--count only counts the refreshes of --watch; add --watch');
    expect(r.stdout).toBe('');
  });
});
