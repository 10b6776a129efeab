import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { FOLD_BATCH_MINUTES, HEADER_BYTES, MetricsRecorder, readMetrics, type Metrics } from '../../src/spool/metrics.js';
import { tmpSpool, track } from '../fixtures/core/helpers.js';

const MIN = 60_000;
/** A minute boundary, so that T + k * MIN is the start of minute M + k. */
const M = 29_000_000;
const T = M * MIN;

function setup() {
  const q = track(new Queue('q', { spool: tmpSpool() }));
  return { q, store: q.store, dir: path.join(q.store.dir, 'metrics') };
}

/**
 * BullMQ's collectMetrics and getMetrics, step by step as its scripts do them (the live
 * comparison with its Lua is in metrics-lua.process.test.ts): the oracle for random runs.
 */
class Model {
  count = 0;
  prevTS: number | undefined;
  prevCount = 0;
  list: number[] = [];
  constructor(private readonly max: number) {}
  record(ts: number): void {
    const count = this.count++;
    if (this.prevTS === undefined) {
      this.prevTS = ts;
      this.prevCount = 0;
      return;
    }
    const n = Math.min(Math.floor(ts / MIN) - Math.floor(this.prevTS / MIN), this.max);
    if (n <= 0) return;
    const points = [count - this.prevCount, ...new Array<number>(n - 1).fill(0)];
    for (const p of points) this.list.unshift(p);
    this.list = this.list.slice(0, this.max);
    this.prevCount = count;
    this.prevTS = ts;
  }
  read(): Metrics {
    return { meta: { count: this.count, prevTS: this.prevTS ?? 0, prevCount: this.prevCount }, data: [...this.list], count: this.list.length };
  }
}

describe('MetricsRecorder and readMetrics', () => {
  it('counts the finishes of a minute, with the first as prevTS, and no data point until the next minute', () => {
    const { store } = setup();
    const r = new MetricsRecorder(store, 60);
    r.record('completed', T + 5);
    r.record('completed', T + 10);
    r.record('completed', T + 59_999);
    expect(readMetrics(store, 'completed')).toEqual({ meta: { count: 3, prevTS: T + 5, prevCount: 0 }, data: [], count: 0 });
    expect(readMetrics(store, 'failed')).toEqual({ meta: { count: 0, prevTS: 0, prevCount: 0 }, data: [], count: 0 });
    r.record('completed', T + MIN + 7);
    expect(readMetrics(store, 'completed')).toEqual({ meta: { count: 4, prevTS: T + MIN + 7, prevCount: 3 }, data: [3], count: 1 });
    r.record('completed', T + 4 * MIN);
    expect(readMetrics(store, 'completed')).toEqual({ meta: { count: 5, prevTS: T + 4 * MIN, prevCount: 4 }, data: [0, 0, 1, 3], count: 4 });
    r.close();
  });

  it('adds up the writers of every process, each appending to the same minute file', () => {
    const { store, dir } = setup();
    const writers = [new MetricsRecorder(store, 10), new MetricsRecorder(store, 10), new MetricsRecorder(store, 10)];
    for (let i = 0; i < 30; i++) writers[i % 3]!.record('failed', T + i);
    expect(fs.readdirSync(dir).sort()).toEqual([`failed.${M}`]);
    expect(fs.statSync(path.join(dir, `failed.${M}`)).size).toBe(HEADER_BYTES + 30);
    writers[1]!.record('failed', T + MIN);
    expect(readMetrics(store, 'failed')).toEqual({ meta: { count: 31, prevTS: T + MIN, prevCount: 30 }, data: [30], count: 1 });
    for (const w of writers) w.close();
  });

  it('keeps at most maxDataPoints of the writer that began the newest minute', () => {
    const { store } = setup();
    const a = new MetricsRecorder(store, 3);
    for (let k = 0; k < 6; k++) a.record('completed', T + k * MIN);
    expect(readMetrics(store, 'completed').data).toEqual([1, 1, 1]);
    const b = new MetricsRecorder(store, 5);
    b.record('completed', T + 6 * MIN);
    expect(readMetrics(store, 'completed').data).toEqual([1, 1, 1, 1, 1]);
    a.close();
    b.close();
  });

  it('after a gap longer than the window, keeps the old minute as the last point, as BullMQ pushes it', () => {
    const { store } = setup();
    const r = new MetricsRecorder(store, 4);
    r.record('completed', T);
    r.record('completed', T + 1);
    r.record('completed', T + 10 * MIN);
    expect(readMetrics(store, 'completed')).toEqual({ meta: { count: 3, prevTS: T + 10 * MIN, prevCount: 2 }, data: [0, 0, 0, 2], count: 4 });
    r.close();
  });

  it('slices the data as LRANGE does', () => {
    const { store } = setup();
    const r = new MetricsRecorder(store, 100);
    for (let k = 0; k <= 5; k++) for (let i = 0; i <= k; i++) r.record('completed', T + k * MIN + i);
    // Minutes M+4 .. M, newest first.
    expect(readMetrics(store, 'completed').data).toEqual([5, 4, 3, 2, 1]);
    expect(readMetrics(store, 'completed', 1, 2).data).toEqual([4, 3]);
    expect(readMetrics(store, 'completed', -2, -1).data).toEqual([2, 1]);
    expect(readMetrics(store, 'completed', 3, 99).data).toEqual([2, 1]);
    expect(readMetrics(store, 'completed', 5, -1)).toMatchObject({ data: [], count: 5 });
    expect(readMetrics(store, 'completed', -99, 0).data).toEqual([5]);
    expect(readMetrics(store, 'completed', 2, 1).data).toEqual([]);
    r.close();
  });

  it('folds old minutes into one file as writers move on, so the directory stays small', () => {
    const { store, dir } = setup();
    const r = new MetricsRecorder(store, 10_080);
    for (let k = 0; k < 500; k++) r.record('completed', T + k * MIN);
    const names = fs.readdirSync(dir).sort();
    expect(names).toContain('completed.json');
    expect(names.filter((n) => /^completed\.\d+$/.test(n)).length).toBeLessThanOrEqual(FOLD_BATCH_MINUTES);
    const got = readMetrics(store, 'completed');
    expect(got.meta).toEqual({ count: 500, prevTS: T + 499 * MIN, prevCount: 499 });
    expect(got.count).toBe(499);
    expect(got.data.every((n) => n === 1)).toBe(true);
    r.close();
  });

  it('drops folded points no window can show, but never the total', () => {
    const { store, dir } = setup();
    const r = new MetricsRecorder(store, 5);
    for (let k = 0; k < 200; k++) r.record('completed', T + k * MIN);
    const folded = JSON.parse(fs.readFileSync(path.join(dir, 'completed.json'), 'utf8')) as { count: number; points: unknown[] };
    expect(folded.points.length).toBeLessThanOrEqual(5 + 2);
    expect(readMetrics(store, 'completed')).toEqual({ meta: { count: 200, prevTS: T + 199 * MIN, prevCount: 199 }, data: [1, 1, 1, 1, 1], count: 5 });
    r.close();
  });

  it('ignores a minute file a crashed fold had counted, and the next fold removes it', () => {
    const { store, dir } = setup();
    const r = new MetricsRecorder(store, 60);
    for (let k = 0; k < 15; k++) r.record('completed', T + k * MIN);
    const before = readMetrics(store, 'completed');
    const folded = JSON.parse(fs.readFileSync(path.join(dir, 'completed.json'), 'utf8')) as { upTo: number };
    // The fold wrote its JSON and was killed before removing the files it had counted.
    const leftover = path.join(dir, `completed.${folded.upTo}`);
    fs.writeFileSync(leftover, `${T} 60`.padEnd(HEADER_BYTES - 1) + '\n' + '+'.repeat(7));
    expect(readMetrics(store, 'completed')).toEqual(before);
    // The next fold (once a file is FOLD_BATCH_MINUTES old) removes it, counting it once.
    r.record('completed', T + (folded.upTo - M + FOLD_BATCH_MINUTES) * MIN);
    expect(fs.existsSync(leftover)).toBe(false);
    expect(readMetrics(store, 'completed').meta.count).toBe(16);
    r.close();
  });

  it('sweeps a minute file half made by a killed process once it is a minute old', () => {
    const { store, dir } = setup();
    const r = new MetricsRecorder(store, 60);
    r.record('completed', T);
    const stale = path.join(dir, 't.killed');
    fs.writeFileSync(stale, 'x');
    const fresh = path.join(dir, 't.writing');
    fs.writeFileSync(fresh, 'x');
    const old = new Date(Date.now() - 120_000);
    fs.utimesSync(stale, old, old);
    r.record('completed', Date.now());
    expect(fs.existsSync(stale)).toBe(false);
    expect(fs.existsSync(fresh)).toBe(true);
    r.close();
  });

  it('matches BullMQ step by step for random finishes of several writers', () => {
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let run = 0; run < 12; run++) {
      const { store } = setup();
      const max = [1, 2, 5, 30][run % 4]!;
      const writers = Array.from({ length: 1 + (run % 3) }, () => new MetricsRecorder(store, max));
      const model = new Model(max);
      let ts = T + rand(MIN);
      for (let i = 0; i < 300; i++) {
        const step = rand(10);
        ts += step < 6 ? rand(3000) : step < 9 ? rand(3 * MIN) : rand(40 * MIN);
        writers[rand(writers.length)]!.record('completed', ts);
        model.record(ts);
        if (i % 17 === 0) expect(readMetrics(store, 'completed'), `run ${run}, finish ${i}`).toEqual(model.read());
      }
      expect(readMetrics(store, 'completed'), `run ${run}`).toEqual(model.read());
      for (const w of writers) w.close();
    }
  });
});
