// @ts-check
// Flows: `n` children in flows of `fanout` children each (one parent per flow, in another queue).
// phase 'add': times FlowProducer.add of every flow, one call at a time (jobs/s, parents counted).
// phase 'drain': adds them untimed, then times a Worker per queue (concurrency each) from start
// until every parent has completed (jobs/s, children and parents).
import { openSystem, resetBullmq } from '../lib/systems.mjs';
import { freshDir, retireDir, settle } from '../lib/settle.mjs';
import { nowNs, perSecond } from '../lib/stats.mjs';

/**
 * @param {import('../lib/systems.mjs').SystemParams & { n: number; fanout: number; concurrency: number; phase: 'add' | 'drain'; base: string; settleMs?: number; timeoutMs?: number }} p
 */
export async function run(p) {
  const spool = p.system === 'spoolkit' ? freshDir(p.base, 'flows') : undefined;
  const timeoutMs = p.timeoutMs ?? 300_000;
  const flowsN = Math.max(1, Math.floor(p.n / p.fanout));
  const jobs = flowsN * (p.fanout + 1);
  let producer;
  const workers = [];
  try {
    const sys = await openSystem({ ...p, spool });
    producer = new sys.FlowProducer(sys.queueOpts);
    const flow = (i) => ({ name: 'parent', queueName: 'bench-parents', data: { i }, children: Array.from({ length: p.fanout }, (_, k) => ({ name: 'child', queueName: 'bench-children', data: { i, k } })) });
    const t0 = nowNs();
    for (let i = 0; i < flowsN; i++) await producer.add(flow(i));
    const addNs = nowNs() - t0;
    if (p.phase === 'add') return { opsPerSec: perSecond(jobs, addNs), n: jobs, fanout: p.fanout };
    await settle(p);
    /** @type {(v: bigint) => void} */
    let finish = () => {};
    const done = new Promise((resolve) => { finish = resolve; });
    let parents = 0;
    const kids = new sys.Worker('bench-children', async (job) => job.data.k, { ...sys.workerOpts, concurrency: p.concurrency, autorun: false });
    const tops = new sys.Worker('bench-parents', async (job) => Object.keys(await job.getChildrenValues()).length, { ...sys.workerOpts, concurrency: p.concurrency, autorun: false });
    workers.push(kids, tops);
    for (const w of workers) w.on('error', (err) => { throw err; });
    tops.on('completed', (_job, value) => {
      if (value !== p.fanout) throw new Error(`a parent saw ${value} of ${p.fanout} children`);
      if (++parents >= flowsN) finish(nowNs());
    });
    const t1 = nowNs();
    void kids.run();
    void tops.run();
    const timer = setTimeout(() => finish(0n), timeoutMs);
    const end = await done;
    clearTimeout(timer);
    if (end === 0n) throw new Error(`flows did not finish within ${timeoutMs} ms (${parents}/${flowsN} parents)`);
    return { opsPerSec: perSecond(jobs, end - t1), n: jobs, fanout: p.fanout, concurrency: p.concurrency };
  } finally {
    for (const w of workers) await w.close();
    await producer?.close();
    if (p.system === 'bullmq') await resetBullmq(/** @type {number} */ (p.redisPort));
    if (spool) retireDir(spool);
  }
}
