/**
 * A SIGTERM that arrives while `spoolkit worker` is starting its workers: the command drains the
 * workers it started (they may have claimed jobs) before it returns, instead of returning at once
 * and leaving them running while the process exits.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';
import { exited, startFixture } from '../fixtures/core/procs.js';

const processors = fileURLToPath(new URL('../fixtures/runtime/app/processors.mjs', import.meta.url));

describe('spoolkit worker signalled while starting', () => {
  it('closes the workers it started before it returns; a job they ran finishes, none is left active', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('work', { spool }));
    const job = await q.add('sleep', { ms: 300 });
    const child = await startFixture('signal-during-start.ts', { SPOOL: spool, PROCESSORS: processors });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    expect(await exited(child, 20_000)).toBe(0);
    const line = out.split('\n').find((l) => l.startsWith('{'));
    expect(JSON.parse(line!)).toEqual({ code: 0, closed: true });
    await waitFor(async () => (await q.getJobState(job.id!)) !== 'active', 2000, 'the job not active');
    expect(['waiting', 'completed']).toContain(await q.getJobState(job.id!));
  });
});
