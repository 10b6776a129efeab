/**
 * A scheduler redefined over and over while a Worker process runs it (each run's job removed on
 * completion): a run that starts while an upsert takes the old definition's runs back stands, and
 * its time is not run again under the new definition.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { perTestCleanup, sleep, startWorker, stopReplica } from './replicas.js';

const { running, queues, newSpool } = perTestCleanup();

describe('a scheduler redefined while its runs start', () => {
  it('never runs one time twice', async () => {
    const spool = newSpool('spoolkit-redefine-race-');
    const out = join(spool, 'ran.txt');
    const q = new Queue('q', { spool });
    queues.push(q);
    const template = (i: number) => ({ name: 'n', data: { i }, opts: { removeOnComplete: true } });
    await q.upsertJobScheduler('s', { every: 100 }, template(-1));
    const worker = await startWorker(spool, 'q', out);
    running.push(worker);
    const until = Date.now() + 5000;
    for (let i = 0; Date.now() < until && i < 1000; i++) {
      await q.upsertJobScheduler('s', { every: 100 }, template(i));
      await sleep(5 + Math.random() * 30);
    }
    await sleep(300);
    await stopReplica(worker);
    const ids = existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ')[0]!) : [];
    expect(ids.length).toBeGreaterThan(10);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  }, 60_000);
});
