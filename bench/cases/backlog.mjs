// @ts-check
// Retention of a backlog: `n` completed jobs kept (untimed), then a Worker in this process
// finishes one job with `removeOnComplete: 0`, so the next retention passes must remove all `n`.
// Measured: how late a 10 ms timer in the Worker's process runs at worst (the longest stall of its
// event loop, where claiming and lease renewal happen), and how long until `completed/` is empty.
import { opendir } from 'node:fs/promises';
import { join } from 'node:path';
import { openSystem } from '../lib/systems.mjs';
import { freshDir, retireDir, settle } from '../lib/settle.mjs';
import { nowNs } from '../lib/stats.mjs';

/** True when `dir` holds no entry (reads one directory block, whatever the directory's size). */
async function isEmpty(dir) {
  const handle = await opendir(dir, { bufferSize: 1 });
  try {
    return (await handle.read()) === null;
  } finally {
    await handle.close();
  }
}

/**
 * @param {{ n: number; base: string; settleMs?: number; timeoutMs?: number }} p
 */
export async function run(p) {
  const spool = freshDir(p.base, 'backlog');
  const timeoutMs = p.timeoutMs ?? 120_000;
  try {
    const sys = await openSystem({ system: 'spoolkit', mode: 'fast', spool });
    const queue = new sys.Queue('bench', sys.queueOpts);
    const keep = { removeOnComplete: p.n * 10 };
    for (let i = 0; i < p.n; i += 1000) {
      await queue.addBulk(Array.from({ length: Math.min(1000, p.n - i) }, (_, k) => ({ name: 'noop', data: { i: i + k }, opts: keep })));
    }
    const filler = new sys.Worker('bench', async () => undefined, { ...sys.workerOpts, concurrency: 16 });
    let filled = 0;
    await new Promise((resolve) => filler.on('completed', () => { if (++filled === p.n) resolve(undefined); }));
    await filler.close();
    await settle(p);

    let worst = 0;
    let last = nowNs();
    const tick = setInterval(() => {
      const now = nowNs();
      worst = Math.max(worst, Number(now - last) / 1e6 - 10);
      last = now;
    }, 10);
    const worker = new sys.Worker('bench', async () => undefined, sys.workerOpts);
    worker.on('error', (err) => { throw err; });
    const t0 = nowNs();
    await queue.add('last', {}, { removeOnComplete: 0 });
    const completedDir = join(spool, 'queues', 'bench', 'completed');
    let goneMs = null;
    while (Number(nowNs() - t0) / 1e6 < timeoutMs) {
      await new Promise((r) => setTimeout(r, 100));
      if (await isEmpty(completedDir)) {
        goneMs = Number(nowNs() - t0) / 1e6;
        break;
      }
    }
    clearInterval(tick);
    await worker.close();
    await queue.close();
    if (goneMs === null) throw new Error(`the backlog of ${p.n} was not removed within ${timeoutMs} ms`);
    return { n: p.n, maxStallMs: Math.max(0, worst), goneSeconds: goneMs / 1000 };
  } finally {
    retireDir(spool);
  }
}
