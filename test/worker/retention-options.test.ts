import { describe, expect, it } from 'vitest';
import { ConfigError, Queue, Worker } from '../../src/index.js';
import { sleep, tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

describe("a Worker's removeOnComplete / removeOnFail", () => {
  it('{ count: -1 } and -1 keep every finished job (BullMQ: keep all), with no error events', async () => {
    for (const keep of [{ count: -1 }, -1] as const) {
      const spool = tmpSpool();
      const q = track(new Queue('q', { spool }));
      await q.addBulk(Array.from({ length: 5 }, (_, i) => ({ name: 'j', data: { i } })));
      const w = track(new Worker('q', async () => 'ok', { spool, removeOnComplete: keep, removeOnFail: keep }));
      const errors: unknown[] = [];
      w.on('error', (e) => errors.push(e));
      await waitFor(async () => (await q.getCompletedCount()) === 5, 5000, 'five completed jobs');
      // Retention passes run once a second: two of them have seen the five jobs.
      await sleep(2200);
      expect(await q.getCompletedCount()).toBe(5);
      expect(errors).toEqual([]);
      await w.close();
    }
  });

  it('is checked at construction with the rules of the job option, as a ConfigError naming it', () => {
    const spool = tmpSpool();
    for (const [opts, field] of [
      [{ removeOnComplete: { age: -5 } }, 'removeOnComplete.age'],
      [{ removeOnComplete: 1.5 }, 'removeOnComplete'],
      [{ removeOnFail: 'x' }, 'removeOnFail'],
      [{ removeOnFail: { count: '3' } }, 'removeOnFail.count'],
    ] as const) {
      const make = (): Worker => new Worker('q', async () => 'ok', { spool, autorun: false, ...(opts as object) });
      expect(make).toThrow(ConfigError);
      expect(make).toThrow(new RegExp(`^Worker option ${field.replace('.', '\\.')} must be .*Fix the Worker's options`));
    }
  });

  it('each finished job bounds the list with its own setting, as BullMQ trims as each job finishes', async () => {
    const cases: { first: object; last: object; kept: string[] }[] = [
      // BullMQ: the four under a count of 1 leave the last of them; the job kept forever stays.
      { first: { removeOnComplete: 1 }, last: { removeOnComplete: false }, kept: ['last', 'j3'] },
      // The later setting keeps more, but the earlier jobs were already bounded by theirs.
      { first: { removeOnComplete: 2 }, last: { removeOnComplete: { age: 3600 } }, kept: ['last', 'j3', 'j2'] },
      { first: { removeOnComplete: 2 }, last: { removeOnComplete: -1 }, kept: ['last', 'j3', 'j2'] },
      { first: { removeOnComplete: 2 }, last: { removeOnComplete: 100 }, kept: ['last', 'j3', 'j2'] },
    ];
    for (const c of cases) {
      const spool = tmpSpool();
      const q = track(new Queue('q', { spool, defaultJobOptions: c.first }));
      for (let i = 0; i < 4; i++) await q.add(`j${i}`, {});
      await q.add('last', {}, c.last);
      const w = track(new Worker('q', async () => 'ok', { spool, concurrency: 1 }));
      await waitFor(async () => (await q.getJobs(['completed'])).some((j) => j.name === 'last'), 5000, 'the last job completed');
      // Retention passes run once a second: two of them have seen every job.
      await sleep(2200);
      expect((await q.getCompleted()).map((j) => j.name), JSON.stringify(c)).toEqual(c.kept);
      await w.close();
    }
  });
});
