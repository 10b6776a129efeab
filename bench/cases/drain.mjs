// @ts-check
// Drain rate: prefill `n` no-op jobs (untimed), then time workers from start until every job has
// completed. One Worker in this process, or `procs` worker processes sharing the queue.
import { fileURLToPath } from 'node:url';
import { openSystem, prefill, resetBullmq } from '../lib/systems.mjs';
import { forkReady, childMain } from '../lib/child.mjs';
import { freshDir, retireDir, settle } from '../lib/settle.mjs';
import { nowNs, perSecond } from '../lib/stats.mjs';

const self = fileURLToPath(import.meta.url);

/**
 * Starts a Worker that counts completions. `onCount(count, atNs)` is called soon after each batch
 * of completions (at most once per event-loop turn), with the time of the latest one.
 */
function countingWorker(sys, concurrency, onCount, metrics = false) {
  let count = 0;
  let lastNs = 0n;
  let scheduled = false;
  // With `metrics`, finishes are counted per minute as BullMQ's MetricsTime.ONE_WEEK keeps them.
  const extra = metrics ? { metrics: { maxDataPoints: 10_080 } } : {};
  const worker = new sys.Worker('bench', async () => undefined, { ...sys.workerOpts, concurrency, autorun: false, ...extra });
  worker.on('completed', () => {
    count++;
    lastNs = nowNs();
    if (!scheduled) {
      scheduled = true;
      setImmediate(() => { scheduled = false; onCount(count, lastNs); });
    }
  });
  worker.on('error', (err) => { throw err; });
  return { worker, get count() { return count; } };
}

/**
 * @param {import('../lib/systems.mjs').SystemParams & { n: number; concurrency: number; procs?: number; metrics?: boolean; base: string; settleMs?: number; timeoutMs?: number }} p
 */
export async function run(p) {
  const spool = p.system === 'spoolkit' ? freshDir(p.base, 'drain') : undefined;
  const procs = p.procs ?? 1;
  const timeoutMs = p.timeoutMs ?? 300_000;
  let queue;
  try {
    const sys = await openSystem({ ...p, spool });
    queue = new sys.Queue('bench', sys.queueOpts);
    await prefill(queue, p.n);
    await settle(p);
    if (procs === 1) {
      /** @type {(v: bigint) => void} */
      let finish = () => {};
      const done = new Promise((resolve) => { finish = resolve; });
      const cw = countingWorker(sys, p.concurrency, (count, at) => { if (count >= p.n) finish(at); }, p.metrics);
      const t0 = nowNs();
      void cw.worker.run();
      const timer = setTimeout(() => finish(0n), timeoutMs);
      const end = await done;
      clearTimeout(timer);
      await cw.worker.close();
      if (end === 0n) throw new Error(`drain did not finish within ${timeoutMs} ms (${cw.count}/${p.n})`);
      return { opsPerSec: perSecond(p.n, end - t0), n: p.n, concurrency: p.concurrency, procs, metrics: !!p.metrics };
    }
    const params = { system: p.system, mode: p.mode, spool, redisPort: p.redisPort, concurrency: p.concurrency, metrics: !!p.metrics };
    const kids = await Promise.all(Array.from({ length: procs }, () => forkReady(self, ['--child', JSON.stringify(params)])));
    const counts = new Array(procs).fill(0);
    let last = 0n;
    /** @type {() => void} */
    let finish = () => {};
    const done = new Promise((resolve) => { finish = () => resolve(undefined); });
    kids.forEach((k, i) => k.child.on('message', (m) => {
      if (m.type !== 'count') return;
      counts[i] = Math.max(counts[i], m.count);
      const at = BigInt(m.atNs);
      if (at > last) last = at;
      if (counts.reduce((a, b) => a + b, 0) >= p.n) finish();
    }));
    const timer = setTimeout(finish, timeoutMs);
    const t0 = nowNs();
    kids.forEach((k) => k.send({ type: 'go' }));
    await done;
    clearTimeout(timer);
    await Promise.all(kids.map((k) => k.stop()));
    const total = counts.reduce((a, b) => a + b, 0);
    if (total < p.n) throw new Error(`drain did not finish within ${timeoutMs} ms (${total}/${p.n})`);
    return { opsPerSec: perSecond(p.n, last - t0), n: p.n, concurrency: p.concurrency, procs, perProcess: counts };
  } finally {
    await queue?.close();
    if (p.system === 'bullmq') await resetBullmq(/** @type {number} */ (p.redisPort));
    if (spool) retireDir(spool);
  }
}

if (process.argv.includes('--child')) {
  const params = JSON.parse(process.argv[process.argv.indexOf('--child') + 1] ?? '{}');
  const sys = await openSystem(params);
  const cw = countingWorker(sys, params.concurrency, (count, at) => process.send?.({ type: 'count', count, atNs: String(at) }), params.metrics);
  childMain(async (msg) => {
    if (msg.type === 'go') void cw.worker.run();
    else if (msg.type === 'stop') {
      await cw.worker.close();
      process.disconnect?.();
    }
  });
}
