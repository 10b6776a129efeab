import { execFile } from 'node:child_process';
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
const spool = process.argv[2];
const q = new Queue('q', { spool });
await q.addBulk(Array.from({ length: 1000 }, (_, i) => ({ name: 'j', data: { i } })));
const w = new Worker('q', async () => 'ok', { spool, concurrency: 8, removeOnComplete: { count: 5 } });
const errors = [];
w.on('error', (e) => errors.push(e.message));
const deadline = Date.now() + 15000;
let counts;
while (Date.now() < deadline) {
  counts = await q.getJobCounts('completed', 'waiting');
  if (counts.waiting === 0 && counts.completed === 5 && retentionThreadPasses() > 0) break;
  await new Promise((r) => setTimeout(r, 20));
}
await w.close();
await q.close();
console.log(JSON.stringify({ counts, passes: retentionThreadPasses(), errors }));
`;

describe('retention thread in the built package', () => {
  it('a draining Worker trims finished jobs on the thread, and the process exits on its own', async () => {
    assertBuilt();
    const spool = tmpSpool();
    // The process must end by itself after close(): the thread never keeps it alive.
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script, join(repoRoot, 'dist'), spool], { timeout: 30_000 });
    const out = JSON.parse(stdout) as { counts: Record<string, number>; passes: number; errors: string[] };
    expect(out.errors).toEqual([]);
    expect(out.counts).toEqual({ completed: 5, waiting: 0 });
    expect(out.passes).toBeGreaterThan(0);
  });
});
