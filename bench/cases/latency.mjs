// @ts-check
// Enqueue-to-start latency at a steady rate. The producer (this process) adds one job every
// 1/rate seconds, stamping it with the monotonic clock; a worker in another process records, in the
// processor, how long ago the job was added. CLOCK_MONOTONIC is shared by all processes on a Linux
// host, so the difference is meaningful across processes. The first `warmup` jobs are not counted.
// With `primed` (spoolkit only) the spool has run before: see bench/lib/prime.mjs.
import { fileURLToPath } from 'node:url';
import { openSystem, resetBullmq } from '../lib/systems.mjs';
import { forkReady, childMain } from '../lib/child.mjs';
import { primeSpareFiles } from '../lib/prime.mjs';
import { freshDir, retireDir, settle } from '../lib/settle.mjs';
import { nowMs, percentile } from '../lib/stats.mjs';

const self = fileURLToPath(import.meta.url);

/**
 * @param {import('../lib/systems.mjs').SystemParams & { rate: number; count: number; warmup?: number; concurrency?: number; primed?: boolean; base: string; settleMs?: number }} p
 */
export async function run(p) {
  const spool = p.system === 'spoolkit' ? freshDir(p.base, 'latency') : undefined;
  const warmup = p.warmup ?? 50;
  const total = p.count + warmup;
  let queue;
  try {
    const sys = await openSystem({ ...p, spool });
    queue = new sys.Queue('bench', sys.queueOpts);
    await queue.add('warmup', { t: nowMs(), i: -1 });
    if (p.primed) await primeSpareFiles(queue, total);
    const settled = await settle(p);
    const params = { system: p.system, mode: p.mode, spool, redisPort: p.redisPort, concurrency: p.concurrency ?? 8 };
    const worker = await forkReady(self, ['--child', JSON.stringify(params)]);
    const intervalMs = 1000 / p.rate;
    const start = nowMs() + 50;
    const addMs = [];
    for (let i = 0; i < total; i++) {
      const due = start + i * intervalMs;
      const wait = due - nowMs();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait - 0.5));
      while (nowMs() < due) { /* spin the last half millisecond for an even rate */ }
      const t = nowMs();
      await queue.add('ping', { t, i });
      addMs.push(nowMs() - t);
    }
    worker.send({ type: 'report', expect: total });
    const report = await worker.next((m) => m.type === 'samples', 60_000);
    await worker.stop();
    const samples = report.samples.filter((s) => s.i >= warmup).map((s) => s.ms);
    if (samples.length < p.count) throw new Error(`only ${samples.length}/${p.count} jobs started`);
    return {
      p50Ms: percentile(samples, 50),
      p99Ms: percentile(samples, 99),
      maxMs: percentile(samples, 100),
      addP50Ms: percentile(addMs, 50),
      addP99Ms: percentile(addMs, 99),
      n: samples.length,
      rate: p.rate,
      settled,
    };
  } finally {
    await queue?.close();
    if (p.system === 'bullmq') await resetBullmq(/** @type {number} */ (p.redisPort));
    if (spool) retireDir(spool);
  }
}

if (process.argv.includes('--child')) {
  const params = JSON.parse(process.argv[process.argv.indexOf('--child') + 1] ?? '{}');
  const sys = await openSystem(params);
  /** @type {{ i: number; ms: number }[]} */
  const samples = [];
  let expect = Infinity;
  let reply = () => {};
  const worker = new sys.Worker('bench', async (job) => {
    const ms = nowMs() - job.data.t;
    if (job.data.i >= 0) samples.push({ i: job.data.i, ms });
    if (samples.length >= expect) reply();
  }, { ...sys.workerOpts, concurrency: params.concurrency });
  worker.on('error', (err) => process.send?.({ type: 'error', message: String(err) }));
  await worker.waitUntilReady?.();
  childMain(async (msg) => {
    if (msg.type === 'report') {
      expect = msg.expect;
      reply = () => { process.send?.({ type: 'samples', samples }); reply = () => {}; };
      if (samples.length >= expect) reply();
    } else if (msg.type === 'stop') {
      await worker.close();
      process.disconnect?.();
    }
  });
}
