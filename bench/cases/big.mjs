// @ts-check
// Rates with a huge backlog. Measures single `add`, `addBulk` and drain (claim + complete at
// concurrency 8) on a queue with `small` waiting jobs, then builds the backlog up to `n` waiting
// jobs with addBulk in batches (timed, reported as the build rate) and measures the same rates again.
import { openSystem, prefill, resetBullmq } from '../lib/systems.mjs';
import { freshDir, retireDir, settle } from '../lib/settle.mjs';
import { nowNs, perSecond } from '../lib/stats.mjs';

async function addRate(queue, k) {
  const t0 = nowNs();
  for (let i = 0; i < k; i++) await queue.add('probe', { i });
  return perSecond(k, nowNs() - t0);
}

async function bulkRate(queue, k) {
  const t0 = nowNs();
  await prefill(queue, k, 1000, 'probe');
  return perSecond(k, nowNs() - t0);
}

/** Runs a Worker until it has completed `k` jobs, then closes it; returns jobs/s. */
async function drainRate(sys, k, concurrency) {
  let count = 0;
  /** @type {(v: bigint) => void} */
  let finish = () => {};
  const done = new Promise((resolve) => { finish = resolve; });
  const worker = new sys.Worker('bench', async () => undefined, { ...sys.workerOpts, concurrency, autorun: false });
  worker.on('completed', () => { if (++count === k) finish(nowNs()); });
  const t0 = nowNs();
  void worker.run();
  const timer = setTimeout(() => finish(0n), 600_000);
  const end = await done;
  clearTimeout(timer);
  await worker.close();
  if (end === 0n) throw new Error(`drain of ${k} jobs did not finish in 600 s`);
  return perSecond(k, end - t0);
}

/**
 * @param {import('../lib/systems.mjs').SystemParams & { n: number; small?: number; probe?: number; base: string; settleMs?: number }} p
 */
export async function run(p) {
  const spool = p.system === 'spoolkit' ? freshDir(p.base, 'big') : undefined;
  const small = p.small ?? 100;
  const probe = p.probe ?? 5000;
  let queue;
  try {
    const sys = await openSystem({ ...p, spool });
    queue = new sys.Queue('bench', sys.queueOpts);
    const measure = async () => {
      await settle(p);
      const add = await addRate(queue, probe);
      const addBulk = await bulkRate(queue, probe);
      await settle(p);
      const drain = await drainRate(sys, 2 * probe, 8);
      return { addPerSec: add, addBulkPerSec: addBulk, drainPerSec: drain };
    };
    await prefill(queue, small);
    const atSmall = await measure();
    const t0 = nowNs();
    const counts0 = await queue.getJobCounts('waiting');
    await prefill(queue, p.n - counts0.waiting, 5000);
    const buildPerSec = perSecond(p.n - counts0.waiting, nowNs() - t0);
    const atBig = await measure();
    const counts = await queue.getJobCounts('waiting', 'completed');
    return { n: p.n, small, probe, atSmall, atBig, buildPerSec, waitingAfter: counts.waiting };
  } finally {
    await queue?.close();
    if (p.system === 'bullmq') await resetBullmq(/** @type {number} */ (p.redisPort));
    if (spool) retireDir(spool);
  }
}
