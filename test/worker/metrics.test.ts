import fs from 'node:fs';
import path from 'node:path';
import * as bull from 'bullmq';
import { describe, expect, it } from 'vitest';
import { ConfigError, MetricsTime, Queue, QueueEvents, UnrecoverableError, UsageError, Worker } from '../../src/index.js';
import { readMetrics } from '../../src/spool/metrics.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

function setup() {
  const spool = tmpSpool();
  return { spool, q: track(new Queue('q', { spool })) };
}

describe('Worker `metrics`', () => {
  it('MetricsTime has BullMQ\'s values', () => {
    expect({ ...MetricsTime }).toEqual({ ...bull.MetricsTime });
  });

  it('counts completed jobs and final failures, not retries, and only in workers that have the option', async () => {
    const { spool, q } = setup();
    await q.add('ok', {});
    const plain = track(new Worker('q', async () => 'x', { spool, pollIntervalMs: 20 }));
    await waitFor(async () => (await q.getCompletedCount()) === 1);
    await plain.close();
    await q.add('ok', {});
    await q.add('ok', {});
    await q.add('bad', {});
    await q.add('fatal', {}, { attempts: 5 });
    await q.add('flaky', {}, { attempts: 3 });
    const tries = new Map<string, number>();
    const w = track(
      new Worker(
        'q',
        async (job) => {
          const n = (tries.get(job.id!) ?? 0) + 1;
          tries.set(job.id!, n);
          if (job.name === 'bad') throw new Error('bad');
          if (job.name === 'fatal') throw new UnrecoverableError('fatal');
          if (job.name === 'flaky' && n < 3) throw new Error('again');
          return n;
        },
        { spool, pollIntervalMs: 20, metrics: { maxDataPoints: MetricsTime.ONE_HOUR } },
      ),
    );
    await waitFor(async () => (await q.getCompletedCount()) + (await q.getFailedCount()) === 6);
    await w.close();
    const completed = await q.getMetrics('completed');
    const failed = await q.getMetrics('failed');
    expect(completed.meta.count).toBe(3);
    expect(failed.meta.count).toBe(2);
    expect(completed.meta.prevTS).toBeGreaterThan(Date.now() - 60_000);
    expect(completed.count).toBeLessThanOrEqual(1);
  });

  it('has counted every finish a completed event has reported by the time the event arrives', async () => {
    const { spool, q } = setup();
    const events = track(new QueueEvents('q', { spool }));
    const seen: number[] = [];
    // Read synchronously in the listener: the count when the n-th event arrives must be n or more
    // (a count written after its event, or kept back to be written later, would be behind).
    events.on('completed', () => seen.push(readMetrics(q.store, 'completed').meta.count));
    await events.waitUntilReady();
    track(new Worker('q', async () => 1, { spool, pollIntervalMs: 20, metrics: { maxDataPoints: 5 } }));
    for (let i = 0; i < 5; i++) await q.add('j', { i });
    await waitFor(() => seen.length === 5);
    seen.forEach((count, i) => expect(count, `at the completed event ${i + 1}`).toBeGreaterThanOrEqual(i + 1));
    expect(seen[4]).toBe(5);
  });

  it('is off without maxDataPoints, as in BullMQ, and refuses values that are not whole minutes', async () => {
    const { spool, q } = setup();
    await q.add('j', {});
    const w = track(new Worker('q', async () => 1, { spool, pollIntervalMs: 20, metrics: {} }));
    await waitFor(async () => (await q.getCompletedCount()) === 1);
    await w.close();
    expect((await q.getMetrics('completed')).meta.count).toBe(0);
    expect(fs.existsSync(path.join(q.store.dir, 'metrics'))).toBe(false);
    for (const bad of [-1, 1.5, '60', Number.NaN, 1e12]) {
      const make = () => new Worker('q', async () => 1, { spool, autorun: false, metrics: { maxDataPoints: bad as number } });
      expect(make).toThrow(ConfigError);
      expect(make).toThrow(/maxDataPoints.*MetricsTime\.ONE_WEEK/);
    }
  });

  it('an inline worker counts its runs too', async () => {
    const { spool, q } = setup();
    const w = track(new Worker('q', async () => 1, { spool, inline: true, metrics: { maxDataPoints: 10 } }));
    const inlineQueue = track(new Queue('q', { spool, inline: true }));
    await inlineQueue.add('j', {});
    await inlineQueue.add('j', {});
    expect((await q.getMetrics('completed')).meta.count).toBe(2);
    await w.close();
  });
});

describe('Queue.getMetrics and exportPrometheusMetrics', () => {
  it('exports the counts by state and the totals in the text format, labels escaped', async () => {
    const { spool, q } = setup();
    const w = track(new Worker('q', async (job) => {
      if (job.name === 'bad') throw new Error('x');
      return 1;
    }, { spool, pollIntervalMs: 20, metrics: { maxDataPoints: 60 } }));
    await q.add('ok', {});
    await q.add('bad', {});
    await waitFor(async () => (await q.getCompletedCount()) + (await q.getFailedCount()) === 2);
    await w.close();
    await q.add('later', {}, { delay: 60_000 });
    const l = ', env="a \\"b\\"\\\\c\\nd"';
    expect((await q.exportPrometheusMetrics({ env: 'a "b"\\c\nd' })).split('\n')).toEqual([
      '# HELP bullmq_job_count Number of jobs in the queue by state',
      '# TYPE bullmq_job_count gauge',
      ...['active 0', 'completed 1', 'delayed 1', 'failed 1', 'prioritized 0', 'waiting 0', 'waiting-children 0'].map((s) => {
        const [state, n] = s.split(' ');
        return `bullmq_job_count{queue="q", state="${state}"${l}} ${n}`;
      }),
      '# HELP bullmq_job_completed_total Total number of completed jobs',
      '# TYPE bullmq_job_completed_total counter',
      `bullmq_job_completed_total{queue="q"${l}} 1`,
      '# HELP bullmq_job_failed_total Total number of failed jobs',
      '# TYPE bullmq_job_failed_total counter',
      `bullmq_job_failed_total{queue="q"${l}} 1`,
    ]);
    await expect(q.exportPrometheusMetrics({ 'bad-label': 'x' })).rejects.toThrow(UsageError);
    await expect(q.exportPrometheusMetrics({ 'bad-label': 'x' })).rejects.toThrow(/rename that label/);
    await expect(q.exportPrometheusMetrics({ queue: 'x' })).rejects.toThrow(/`queue` is a reserved label name/);
  });

  it('refuses an unknown type, and obliterate clears the metrics', async () => {
    const { spool, q } = setup();
    await expect(q.getMetrics('active' as 'completed')).rejects.toThrow(UsageError);
    await q.add('ok', {});
    const w = track(new Worker('q', async () => 1, { spool, pollIntervalMs: 20, metrics: { maxDataPoints: 60 } }));
    await waitFor(async () => (await q.getCompletedCount()) === 1);
    await w.close();
    expect((await q.getMetrics('completed')).meta.count).toBe(1);
    await q.obliterate();
    expect(await q.getMetrics('completed')).toEqual({ meta: { count: 0, prevTS: 0, prevCount: 0 }, data: [], count: 0 });
  });
});
