/**
 * Ids given to lookups. A number names the job of that id, as in BullMQ (an id parsed from a URL
 * or from JSON finds its job). A string that cannot be a file name names no job and is never
 * joined into a path: a web app passing a request's id straight to getJob, remove or addJobLog
 * cannot make spoolkit read or write outside the spool.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FlowProducer, Job, Queue } from '../../src/index.js';
import { tmpSpool, track } from '../fixtures/core/helpers.js';

describe('job ids given to lookups', () => {
  it('a number finds the job of that id, as in BullMQ', async () => {
    const q = track(new Queue('q', { spool: tmpSpool() }));
    const job = await q.add('x', { a: 1 });
    expect(job.id).toBe('1');
    const one = 1 as unknown as string;
    expect((await q.getJob(one))?.data).toEqual({ a: 1 });
    expect(await q.getJobState(one)).toBe('waiting');
    expect((await Job.fromId(q, one))?.id).toBe('1');
    expect(await q.addJobLog(one, 'row')).toBe(1);
    expect((await q.getJobLogs(one)).logs).toEqual(['row']);
    await q.updateJobProgress(one, 7);
    expect((await q.getJob('1'))?.progress).toBe(7);
    expect(await q.remove(one)).toBe(1);
    expect(await q.getJob('1')).toBeUndefined();
  });

  it('a path names no job: nothing outside the spool is read, written or removed', async () => {
    const base = tmpSpool();
    const spool = path.join(base, 'spool');
    const q = track(new Queue('q', { spool }));
    await q.add('x', {});
    // A file where a lookup of '../../../../../<victim>' would land from ids/<shard>/ and logs/.
    const name = `victim-${path.basename(base)}`;
    const victim = path.join(base, name);
    fs.writeFileSync(victim, JSON.stringify({ id: '1', name: 'x', data: {}, opts: {}, timestamp: 1 }));
    const before = fs.readdirSync(base).sort();
    for (const id of [`../../../../../${name}`, `../../../${name}`, '..', '.', 'a/b', 'a\\b', 'a\nb']) {
      expect(await q.getJob(id)).toBeUndefined();
      expect(await q.getJobState(id)).toBe('unknown');
      expect(await Job.fromId(q, id)).toBeUndefined();
      expect(await q.getJobLogs(id)).toEqual({ logs: [], count: 0 });
      expect((await q.getDependencies(id, 'processed')).total).toBe(0);
      expect(await q.remove(id)).toBe(1);
      await expect(q.addJobLog(id, 'row')).rejects.toMatchObject({ code: 'ERR_JOB_NOT_FOUND' });
      await expect(q.updateJobProgress(id, 1)).rejects.toMatchObject({ code: 'ERR_JOB_NOT_FOUND' });
    }
    const flows = track(new FlowProducer({ spool }));
    expect(await flows.getFlow({ queueName: 'q', id: `../../../../../${name}` })).toBeUndefined();
    expect(fs.readdirSync(base).sort()).toEqual(before);
    expect(fs.readdirSync(path.dirname(base)).filter((n) => n.startsWith(name))).toEqual([]);
    expect(fs.existsSync(victim)).toBe(true);
    expect(await q.getJobState('1')).toBe('waiting');
  });

  it('a parent option that is a path is refused before anything is made', async () => {
    const base = tmpSpool();
    const spool = path.join(base, 'spool');
    const q = track(new Queue('q', { spool }));
    const before = fs.readdirSync(base).sort();
    await expect(q.add('x', {}, { parent: { id: '../../x', queue: 'bull:q' } })).rejects.toMatchObject({ code: 'ERR_INVALID_JOB', message: expect.stringMatching(/^parent\.id/) });
    for (const queue of ['bull:../../x', '../x', 'bull:a/b']) {
      await expect(q.add('x', {}, { parent: { id: '1', queue } })).rejects.toMatchObject({ code: 'ERR_INVALID_JOB', message: expect.stringMatching(/^parent\.queue/) });
    }
    expect(fs.readdirSync(base).sort()).toEqual(before);
    expect(fs.readdirSync(spool).sort()).toEqual(['queues', 'spool.json', 'workers']);
    expect(fs.readdirSync(path.join(spool, 'queues'))).toEqual(['q']);
  });
});
