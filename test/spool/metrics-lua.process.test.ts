/**
 * spoolkit's per-minute metrics against BullMQ's own Lua: the same finish times are given to
 * BullMQ's `collectMetrics` (from its package, run by a private redis-server on 127.0.0.1) and to
 * spoolkit's recorders, and `getMetrics` must answer the same after every few finishes, for
 * several window sizes, gaps longer than the window, and several writers.
 *
 * Without redis-server (SPOOLKIT_DIFF_LIVE_BULLMQ=0, or it cannot start), the answers recorded in
 * golden/metrics-lua.json are used; with it, they are checked to be still BullMQ's. Re-record with
 * SPOOLKIT_RECORD_METRICS=1.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { MetricsRecorder, readMetrics, type Metrics } from '../../src/spool/metrics.js';
import { useLiveRedis } from '../fixtures/core/live-redis.js';
import { tmpSpool, track } from '../fixtures/core/helpers.js';

const MIN = 60_000;
const GOLDEN = path.join(import.meta.dirname, 'golden', 'metrics-lua.json');
const commands = path.join(path.dirname(createRequire(import.meta.url).resolve('bullmq')), '..', 'esm', 'commands');

/** One run: finish times, the window, and after which finishes (and with which ranges) to read. */
interface Run {
  max: number;
  writers: number;
  times: number[];
  reads: { after: number; start: number; end: number }[];
}

function makeRuns(): Run[] {
  let seed = 11;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const runs: Run[] = [];
  for (let r = 0; r < 10; r++) {
    const max = [1, 3, 7, 60, 10_080][r % 5]!;
    const times: number[] = [];
    let ts = 29_000_000 * MIN + rand(MIN);
    for (let i = 0; i < 250; i++) {
      const step = rand(10);
      ts += step < 6 ? rand(4000) : step < 9 ? rand(4 * MIN) : rand(30 * MIN);
      times.push(ts);
    }
    const reads = [];
    for (let after = 1; after <= times.length; after += 1 + rand(20)) {
      const ranges: [number, number][] = [[0, -1], [1, 3], [-3, -1], [2, 100], [0, 0]];
      const [start, end] = ranges[rand(ranges.length)]!;
      reads.push({ after, start, end });
    }
    runs.push({ max, writers: 1 + (r % 3), times, reads });
  }
  return runs;
}

/** BullMQ's answers for `runs`, computed by its Lua on a live redis-server. */
async function bullmqAnswers(port: number, runs: Run[]): Promise<Metrics[][]> {
  const { Redis } = await import('ioredis');
  const client = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  try {
    const include = (name: string): string => fs.readFileSync(path.join(commands, 'includes', `${name}.lua`), 'utf8');
    const collect = `local rcall = redis.call\n${include('batches')}\n${include('collectMetrics')}\ncollectMetrics(KEYS[1], KEYS[1] .. ':data', tonumber(ARGV[1]), tonumber(ARGV[2]))\n`;
    const read = fs.readFileSync(path.join(commands, 'getMetrics-2.lua'), 'utf8');
    const out: Metrics[][] = [];
    for (const [r, run] of runs.entries()) {
      const key = `metrics-test:${r}:metrics:completed`;
      const answers: Metrics[] = [];
      let next = 0;
      for (const [i, ts] of run.times.entries()) {
        await client.eval(collect, 1, key, run.max, ts);
        while (next < run.reads.length && run.reads[next]!.after === i + 1) {
          const { start, end } = run.reads[next++]!;
          const [meta, data, count] = (await client.eval(read, 2, key, `${key}:data`, start, end)) as [(string | null)[], string[], number];
          // As BullMQ's Queue.getMetrics shapes the script's answer.
          answers.push({
            meta: { count: parseInt(meta[0] || '0', 10), prevTS: parseInt(meta[1] || '0', 10), prevCount: parseInt(meta[2] || '0', 10) },
            data: data.map((p) => +p || 0),
            count,
          });
        }
      }
      out.push(answers);
    }
    return out;
  } finally {
    client.disconnect();
  }
}

const live = useLiveRedis('metrics-lua', GOLDEN);

describe("getMetrics answers as BullMQ's collectMetrics and getMetrics scripts", () => {
  it('for the same finish times, after every few finishes, with every range', async () => {
    const runs = makeRuns();
    const recorded = fs.existsSync(GOLDEN) ? (JSON.parse(fs.readFileSync(GOLDEN, 'utf8')) as Metrics[][]) : undefined;
    let expected: Metrics[][];
    if (live.redis) {
      expected = await bullmqAnswers(live.redis.port, runs);
      if (process.env.SPOOLKIT_RECORD_METRICS === '1') {
        fs.mkdirSync(path.dirname(GOLDEN), { recursive: true });
        fs.writeFileSync(GOLDEN, JSON.stringify(expected) + '\n');
      } else expect(recorded, 'the recorded answers are still live BullMQ\'s (re-record with SPOOLKIT_RECORD_METRICS=1)').toEqual(expected);
    } else {
      if (!recorded) throw new Error(`no recorded answers in ${GOLDEN} and no redis-server (${live.unavailable})`);
      expected = recorded;
    }
    expect(expected.flat().length).toBeGreaterThan(100);
    for (const [r, run] of runs.entries()) {
      const q = track(new Queue('q', { spool: tmpSpool() }));
      const writers = Array.from({ length: run.writers }, () => new MetricsRecorder(q.store, run.max));
      let next = 0;
      for (const [i, ts] of run.times.entries()) {
        writers[i % writers.length]!.record('completed', ts);
        while (next < run.reads.length && run.reads[next]!.after === i + 1) {
          const { start, end } = run.reads[next]!;
          expect(readMetrics(q.store, 'completed', start, end), `run ${r} (max ${run.max}), after ${i + 1} finishes, range ${start}..${end}`).toEqual(expected[r]![next]);
          next++;
        }
      }
      for (const w of writers) w.close();
    }
  }, 120_000);
});
