/**
 * Dead-worker recovery in a pid namespace without a /proc of its own (`unshare --pid --fork`,
 * no `--mount-proc`): the killed worker's process is seen gone, but its sandbox children cannot
 * be tagged there, so their jobs must wait for their leases rather than run again beside them.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { tmpSpool } from '../fixtures/core/helpers.js';

describe('a pid namespace without a /proc of its own', () => {
  const can = process.getuid?.() === 0 && spawnSync('unshare', ['--pid', '--fork', 'true']).status === 0;
  it.skipIf(!can)('never runs a job again beside the sandbox child of a killed worker that still runs it', () => {
    const spool = tmpSpool();
    const fixture = new URL('../fixtures/core/ns-sandbox-owner.ts', import.meta.url).pathname;
    const r = spawnSync('unshare', ['--pid', '--fork', process.execPath, '--import', 'tsx', fixture, 'main', spool], { encoding: 'utf8', timeout: 40_000, cwd: new URL('../..', import.meta.url).pathname });
    expect(r.status, r.stderr).toBe(0);
    // Both jobs were started by the killed worker's children, and nobody started them again.
    expect(JSON.parse(r.stdout)).toEqual({ starts: 2, owner: 2 });
  });
});
