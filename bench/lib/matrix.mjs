// @ts-check
// The list of benchmark cases `npm run bench` runs, grouped as they are reported. Each entry names
// the case program under bench/cases/, its parameters, and how to read its headline number.

/**
 * @typedef {{ group: string; label: string; system: string; caseName: string; params: Record<string, unknown>; metric: 'opsPerSec' | 'latency' | 'health' | 'big' | 'backlog'; runs?: number }} CaseSpec
 */

/**
 * @param {{ n: number; latencyCount: number; rate: number; durableN: number; healthN: number; backlogN: number; bigN: number; big: boolean; bullmq: boolean }} o
 * @returns {CaseSpec[]}
 */
export function buildMatrix(o) {
  /** @type {CaseSpec[]} */
  const m = [];
  const systems = [
    { system: 'spoolkit-fast', params: { system: 'spoolkit', mode: 'fast' } },
    { system: 'spoolkit-durable', params: { system: 'spoolkit', mode: 'durable' } },
    ...(o.bullmq ? [{ system: 'bullmq', params: { system: 'bullmq' } }] : []),
  ];
  const nFor = (sys) => (sys === 'spoolkit-durable' ? o.durableN : o.n);

  // Enqueue
  m.push({ group: 'enqueue', label: 'write+rename (sync fs calls)', system: 'raw-fs', caseName: 'rawfs', params: { shape: 'enqueue', n: o.n }, metric: 'opsPerSec' });
  m.push({ group: 'enqueue', label: 'write+fsync+rename+fsync(dir)', system: 'raw-fs', caseName: 'rawfs', params: { shape: 'enqueue', n: o.durableN, fsync: true }, metric: 'opsPerSec' });
  for (const s of systems) {
    m.push({ group: 'enqueue', label: 'add (one at a time)', system: s.system, caseName: 'enqueue', params: { ...s.params, how: 'add', n: nFor(s.system) }, metric: 'opsPerSec' });
  }
  for (const s of systems) {
    m.push({ group: 'enqueue', label: 'add from 8 callers at once (each awaits its own)', system: s.system, caseName: 'enqueue', params: { ...s.params, how: 'add', callers: 8, n: nFor(s.system) }, metric: 'opsPerSec' });
  }
  for (const s of systems.filter((x) => x.params.system === 'spoolkit')) {
    m.push({ group: 'enqueue', label: 'add into a spool with spare files (one at a time)', system: s.system, caseName: 'enqueue', params: { ...s.params, how: 'add', primed: true, n: nFor(s.system) }, metric: 'opsPerSec' });
  }
  for (const s of systems) {
    m.push({ group: 'enqueue', label: 'addBulk (batches of 1000)', system: s.system, caseName: 'enqueue', params: { ...s.params, how: 'addBulk', n: nFor(s.system) }, metric: 'opsPerSec' });
  }
  for (const s of systems.filter((x) => x.params.system === 'spoolkit')) {
    m.push({ group: 'enqueue', label: 'addBulk into a spool with spare files (batches of 1000)', system: s.system, caseName: 'enqueue', params: { ...s.params, how: 'addBulk', primed: true, n: nFor(s.system) }, metric: 'opsPerSec' });
  }

  // Drain
  m.push({ group: 'drain', label: 'rename+read+unlink, 1 process', system: 'raw-fs', caseName: 'rawfs', params: { shape: 'drain', n: o.n }, metric: 'opsPerSec' });
  m.push({ group: 'drain', label: 'rename+read+unlink, 2 processes', system: 'raw-fs', caseName: 'rawfs', params: { shape: 'drain', n: o.n, procs: 2 }, metric: 'opsPerSec' });
  for (const concurrency of [1, 8, 64]) {
    for (const s of systems) {
      m.push({ group: 'drain', label: `concurrency ${concurrency}`, system: s.system, caseName: 'drain', params: { ...s.params, n: o.n, concurrency }, metric: 'opsPerSec' });
    }
  }
  for (const s of systems) {
    m.push({ group: 'drain', label: 'concurrency 8, metrics on', system: s.system, caseName: 'drain', params: { ...s.params, n: o.n, concurrency: 8, metrics: true }, metric: 'opsPerSec' });
  }
  for (const s of systems) {
    m.push({ group: 'drain', label: '2 worker processes x concurrency 8', system: s.system, caseName: 'drain', params: { ...s.params, n: o.n, concurrency: 8, procs: 2 }, metric: 'opsPerSec' });
  }

  // Flows: parents in one queue, children in another
  for (const s of systems.filter((x) => x.system !== 'spoolkit-durable')) {
    m.push({ group: 'flows', label: 'FlowProducer.add, flows of 20 children (jobs/s)', system: s.system, caseName: 'flows', params: { ...s.params, phase: 'add', n: o.n / 5, fanout: 20, concurrency: 8 }, metric: 'opsPerSec' });
  }
  for (const s of systems.filter((x) => x.system !== 'spoolkit-durable')) {
    m.push({ group: 'flows', label: 'drain flows of 20 children, concurrency 8 per queue (jobs/s)', system: s.system, caseName: 'flows', params: { ...s.params, phase: 'drain', n: o.n / 5, fanout: 20, concurrency: 8 }, metric: 'opsPerSec' });
  }
  // One parent of many children: each finishing child checks its parent.
  for (const s of systems.filter((x) => x.system !== 'spoolkit-durable')) {
    m.push({ group: 'flows', label: `drain one flow of ${o.n} children, concurrency 8 per queue (jobs/s)`, system: s.system, caseName: 'flows', params: { ...s.params, phase: 'drain', n: o.n, fanout: o.n, concurrency: 8 }, metric: 'opsPerSec' });
  }

  // Full cycle on the raw filesystem
  m.push({ group: 'cycle', label: 'write+rename+rename+read+unlink', system: 'raw-fs', caseName: 'rawfs', params: { shape: 'cycle', n: o.n }, metric: 'opsPerSec' });

  // Latency
  for (const s of systems) {
    m.push({ group: 'latency', label: `enqueue-to-start at ${o.rate} jobs/s (other process)`, system: s.system, caseName: 'latency', params: { ...s.params, rate: o.rate, count: o.latencyCount, concurrency: 8 }, metric: 'latency' });
  }
  for (const s of systems.filter((x) => x.params.system === 'spoolkit')) {
    m.push({ group: 'latency', label: `spool with spare files: enqueue-to-start at ${o.rate} jobs/s`, system: s.system, caseName: 'latency', params: { ...s.params, rate: o.rate, count: o.latencyCount, concurrency: 8, primed: true }, metric: 'latency' });
  }

  // The disk after many deletes (see bench/lib/settle.mjs)
  m.push({ group: 'deletes', label: 'write+rename, quiet disk', system: 'raw-fs', caseName: 'rawfs', params: { shape: 'enqueue', n: o.n }, metric: 'opsPerSec' });
  m.push({ group: 'deletes', label: 'write+rename right after 50k deletes', system: 'raw-fs', caseName: 'rawfs', params: { shape: 'enqueue', n: o.n, afterDeletes: 50_000, settleAfterDeletes: false }, metric: 'opsPerSec' });
  m.push({ group: 'deletes', label: 'write+rename after 50k deletes, once creation is quick again', system: 'raw-fs', caseName: 'rawfs', params: { shape: 'enqueue', n: o.n, afterDeletes: 50_000, settleAfterDeletes: true }, metric: 'opsPerSec' });

  // Health
  m.push({ group: 'health', label: `spoolkit health with ${o.healthN.toLocaleString('en-US')} waiting`, system: 'spoolkit', caseName: 'health', params: { n: o.healthN, calls: 5 }, metric: 'health', runs: 1 });
  m.push({ group: 'health', label: `spoolkit health with ${o.healthN.toLocaleString('en-US')} delayed over a day`, system: 'spoolkit', caseName: 'health', params: { n: o.healthN, calls: 5, spreadMs: 86_400_000 }, metric: 'health', runs: 1 });

  // Retention of a backlog of finished jobs: the worker's longest event-loop stall
  m.push({ group: 'backlog', label: `retention of ${o.backlogN.toLocaleString('en-US')} finished jobs`, system: 'spoolkit-fast', caseName: 'backlog', params: { n: o.backlogN }, metric: 'backlog' });

  // Huge backlog
  if (o.big) {
    m.push({ group: 'big', label: `${o.bigN.toLocaleString('en-US')} waiting`, system: 'spoolkit-fast', caseName: 'big', params: { system: 'spoolkit', mode: 'fast', n: o.bigN }, metric: 'big', runs: 1 });
    if (o.bullmq) m.push({ group: 'big', label: `${o.bigN.toLocaleString('en-US')} waiting`, system: 'bullmq', caseName: 'big', params: { system: 'bullmq', n: o.bigN }, metric: 'big', runs: 1 });
  }
  return m;
}
