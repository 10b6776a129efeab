// @ts-check
// Enqueue rate: `add` one job at a time (each awaited), or `addBulk` in batches. With `callers`,
// that many `add` loops run at once, each awaiting its own adds (a web server handling several
// requests). With `primed` (spoolkit only) the spool has run before: see bench/lib/prime.mjs.
import { openSystem, resetBullmq } from '../lib/systems.mjs';
import { primeSpareFiles } from '../lib/prime.mjs';
import { freshDir, retireDir, settle } from '../lib/settle.mjs';
import { nowNs, perSecond } from '../lib/stats.mjs';

/**
 * @param {import('../lib/systems.mjs').SystemParams & { how: 'add' | 'addBulk'; n: number; callers?: number; batch?: number; primed?: boolean; base: string; settleMs?: number }} p
 */
export async function run(p) {
  const spool = p.system === 'spoolkit' ? freshDir(p.base, 'enqueue') : undefined;
  let queue;
  try {
    const sys = await openSystem({ ...p, spool });
    queue = new sys.Queue('bench', sys.queueOpts);
    await queue.add('warmup', {});
    if (p.primed) await primeSpareFiles(queue, p.n);
    const settled = await settle(p);
    const t0 = nowNs();
    if (p.how === 'add') {
      const callers = p.callers ?? 1;
      let next = 0;
      const caller = async () => {
        for (let i = next++; i < p.n; i = next++) await queue.add('noop', { i });
      };
      await Promise.all(Array.from({ length: callers }, caller));
    } else {
      const batch = p.batch ?? 1000;
      for (let i = 0; i < p.n; i += batch) {
        const size = Math.min(batch, p.n - i);
        await queue.addBulk(Array.from({ length: size }, (_, k) => ({ name: 'noop', data: { i: i + k } })));
      }
    }
    const elapsed = nowNs() - t0;
    return { opsPerSec: perSecond(p.n, elapsed), n: p.n, settled };
  } finally {
    await queue?.close();
    if (p.system === 'bullmq') await resetBullmq(/** @type {number} */ (p.redisPort));
    if (spool) retireDir(spool);
  }
}
