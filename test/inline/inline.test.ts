import fs from 'node:fs';
import path from 'node:path';
import { inlineFromEnv } from '../../src/spool/open.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, DelayedError, FlowProducer, Job, Queue, QueueEvents, registerInlineProcessor, unregisterInlineProcessor, Worker } from '../../src/index.js';
import { once, sleep, tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

afterEach(() => {
  delete process.env.SPOOLKIT_INLINE;
});

describe('inline mode', () => {
  it('runs the job inside add() with an inline Worker, with the same fields and local events (ready too)', async () => {
    const spool = tmpSpool();
    const w = track(new Worker('mail', async (job) => ({ sent: job.data.to }), { spool, inline: true }));
    const completed: unknown[] = [];
    w.on('completed', (_job: unknown, result: unknown) => completed.push(result));
    await once(w, 'ready');
    const q = track(new Queue('mail', { spool, inline: true }));
    const job = await q.add('welcome', { to: 'a@b.c' });
    expect(job.returnvalue).toEqual({ sent: 'a@b.c' });
    expect(job.attemptsMade).toBe(1);
    expect(job.finishedOn).toBeGreaterThan(0);
    expect(await job.getState()).toBe('completed');
    expect(completed).toEqual([{ sent: 'a@b.c' }]);
    expect(w.isRunning()).toBe(false);
  });

  it('runs retries back to back and ends failed with the reason', async () => {
    const spool = tmpSpool();
    const tries: number[] = [];
    registerInlineProcessor(
      'q',
      async (job) => {
        tries.push(job.attemptsMade);
        throw new Error(`no ${job.attemptsMade}`);
      },
      { spool },
    );
    try {
      const q = track(new Queue('q', { spool, inline: true }));
      const job = await q.add('x', {}, { attempts: 3, backoff: { type: 'exponential', delay: 60_000 } });
      expect(tries).toEqual([0, 1, 2]);
      expect(await job.getState()).toBe('failed');
      expect(job.failedReason).toBe('no 2');
    } finally {
      unregisterInlineProcessor('q', { spool });
    }
  });

  it('a job removed on finishing still carries its result or failure; a delayed job runs at once, with delay 0 once run as under a Worker', async () => {
    const spool = tmpSpool();
    track(new Worker('q', async (job) => {
      if (job.name === 'bad') throw new Error('boom');
      return { ok: job.name };
    }, { spool, inline: true }));
    const q = track(new Queue('q', { spool, inline: true }));
    const done = await q.add('good', {}, { removeOnComplete: true });
    expect(done.returnvalue).toEqual({ ok: 'good' });
    expect(done.finishedOn).toBeGreaterThan(0);
    expect(done.attemptsMade).toBe(1);
    expect(await q.getJob(done.id!)).toBeUndefined();
    const failed = await q.add('bad', {}, { removeOnFail: true });
    expect(failed.failedReason).toBe('boom');
    expect(failed.finishedOn).toBeGreaterThan(0);
    const later = await q.add('later', {}, { delay: 50 });
    expect(later.returnvalue).toEqual({ ok: 'later' });
    expect(later.delay).toBe(0);
  });

  it('runs nothing on a paused queue: the jobs wait, and resume() runs them in the order a Worker takes them', async () => {
    const spool = tmpSpool();
    const ran: string[] = [];
    track(new Worker('q', async (job) => void ran.push(job.name), { spool, inline: true }));
    const q = track(new Queue('q', { spool, inline: true }));
    await q.pause();
    const job = await q.add('x', {});
    await q.add('later', {}, { delay: 60_000 });
    await q.add('first', {}, { priority: 1 });
    expect(ran).toEqual([]);
    expect(await job.getState()).toBe('waiting');
    await q.resume();
    expect(ran).toEqual(['x', 'first', 'later']);
    expect(await job.getState()).toBe('completed');
  });

  it('emits QueueEvents like a real worker', async () => {
    const spool = tmpSpool();
    track(new Worker('q', async () => 'r', { spool, inline: true }));
    const q = track(new Queue('q', { spool, inline: true }));
    const events = track(new QueueEvents('q', { spool }));
    await events.waitUntilReady();
    const seen: string[] = [];
    events.on('completed', (a: { returnvalue: string }) => seen.push(a.returnvalue));
    await q.add('x', {});
    await waitFor(() => seen.length === 1, 3000);
    expect(seen).toEqual(['r']);
  });

  it('is switched on by SPOOLKIT_INLINE=1 and says what to do without a processor', async () => {
    process.env.SPOOLKIT_INLINE = '1';
    const spool = tmpSpool();
    const q = track(new Queue('nobody', { spool }));
    await expect(q.add('x', {})).rejects.toThrow(/no processor is registered.*registerInlineProcessor/);
  });

  it('adds nothing when it refuses an add for want of a processor (add, addBulk, flows)', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('nobody', { spool, inline: true }));
    await expect(q.add('x', {})).rejects.toMatchObject({ code: 'ERR_CONFIG' });
    await expect(q.addBulk([{ name: 'x', data: {} }])).rejects.toMatchObject({ code: 'ERR_CONFIG' });
    track(new Worker('parents', async () => 'p', { spool, inline: true }));
    const flows = track(new FlowProducer({ spool, inline: true }));
    await expect(flows.add({ name: 'p', queueName: 'parents', children: [{ name: 'c', queueName: 'nobody' }] })).rejects.toThrow(/nobody is in inline mode but no processor/);
    const parents = track(new Queue('parents', { spool }));
    expect((await q.getJobCounts()).waiting).toBe(0);
    expect((await parents.getJobCounts())['waiting-children']).toBe(0);
    // A worker registered afterwards runs the next add; nothing stale waits behind it.
    track(new Worker('nobody', async () => 'ok', { spool, inline: true }));
    expect((await q.add('y', {})).returnvalue).toBe('ok');
    expect(await q.getJobCounts()).toMatchObject({ waiting: 0, completed: 1 });
  });

  it('runs the jobs of one addBulk in the order a Worker takes them: LIFO, waiting, by priority, delayed by due time; a retry after the jobs waiting', async () => {
    const spool = tmpSpool();
    const order: string[] = [];
    track(new Worker('q', async (job) => {
      order.push(`${job.name}${job.attemptsMade}`);
      if (job.name === 'retried' && job.attemptsMade === 0) throw new Error('once');
      return job.name;
    }, { spool, inline: true }));
    const q = track(new Queue('q', { spool, inline: true }));
    const jobs = await q.addBulk([
      { name: 'retried', data: {}, opts: { attempts: 2, backoff: { type: 'fixed', delay: 60_000 } } },
      { name: 'p5', data: {}, opts: { priority: 5 } },
      { name: 'late', data: {}, opts: { delay: 60_000 } },
      { name: 'p1', data: {}, opts: { priority: 1 } },
      { name: 'soon', data: {}, opts: { delay: 1000 } },
      { name: 'plain', data: {} },
      { name: 'lifo1', data: {}, opts: { lifo: true } },
      { name: 'lifo2', data: {}, opts: { lifo: true } },
    ]);
    // 'retried' fails first (it is waiting before 'plain'), and its retry is due in a minute.
    expect(order).toEqual(['lifo20', 'lifo10', 'retried0', 'plain0', 'p10', 'p50', 'soon0', 'late0', 'retried1']);
    expect(jobs.map((j) => j.returnvalue)).toEqual(['retried', 'p5', 'late', 'p1', 'soon', 'plain', 'lifo1', 'lifo2']);
  });

  it("emits drained as a Worker does: on the Worker when nothing is left to take, in QueueEvents once nothing is waiting, delayed or active", async () => {
    const spool = tmpSpool();
    const w = track(new Worker('q', async (job) => {
      if (job.attemptsMade === 0) throw new Error('once');
      return 'ok';
    }, { spool, inline: true }));
    const seen: string[] = [];
    for (const e of ['active', 'completed', 'failed', 'drained']) w.on(e, () => seen.push(e));
    const events = track(new QueueEvents('q', { spool }));
    await events.waitUntilReady();
    let drained = 0;
    events.on('drained', () => drained++);
    const q = track(new Queue('q', { spool, inline: true }));
    await q.add('x', {}, { attempts: 2, backoff: { type: 'fixed', delay: 60_000 } });
    // The failed attempt leaves the job delayed: the Worker is drained, the queue is not.
    expect(seen).toEqual(['active', 'failed', 'drained', 'active', 'completed', 'drained']);
    await waitFor(() => drained === 1, 3000);
    await sleep(100);
    expect(drained).toBe(1);
  });

  it('an inline Worker runs its jobs as its own: pause() leaves them waiting until resume(), cancelJob aborts one, close() waits for it', async () => {
    const spool = tmpSpool();
    const w = track(new Worker('q', async (job, _token, signal) => {
      if (job.name !== 'slow') return 'quick';
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, 300);
        signal?.addEventListener('abort', () => {
          clearTimeout(t);
          reject(new Error(`aborted: ${String(signal.reason)}`));
        });
      });
      return 'slow';
    }, { spool, inline: true }));
    const q = track(new Queue('q', { spool, inline: true }));
    await w.pause();
    const waiting = await q.add('quick', {});
    expect(await waiting.getState()).toBe('waiting');
    await w.resume();
    expect(await waiting.getState()).toBe('completed');
    const cancelled = q.add('slow', {}, { jobId: 'c1' });
    await sleep(50);
    expect(w.cancelJob('c1', 'stop')).toBe(true);
    expect((await cancelled).failedReason).toBe('aborted: stop');
    const running = q.add('slow', {}, { jobId: 'c2' });
    await sleep(50);
    await w.close();
    expect(await q.getJobState('c2')).toBe('completed');
    expect((await running).returnvalue).toBe('slow');
  });

  it('job.retry() and queue.retryJobs() run the retried jobs, as a worker would', async () => {
    const spool = tmpSpool();
    let calls = 0;
    track(new Worker('q', async () => {
      calls++;
      if (calls % 2 === 1) throw new Error(`no ${calls}`);
      return calls;
    }, { spool, inline: true }));
    const q = track(new Queue('q', { spool, inline: true }));
    const job = await q.add('x', {});
    expect(await job.getState()).toBe('failed');
    await job.retry();
    expect(await q.getJobState(job.id!)).toBe('completed');
    expect((await q.getJob(job.id!))!.returnvalue).toBe(2);
    const other = await q.add('y', {});
    expect(other.failedReason).toBe('no 3');
    await q.retryJobs({ state: 'failed' });
    expect((await q.getJob(other.id!))!.returnvalue).toBe(4);
  });

  it("a job scheduler's run due now runs inside upsertJobScheduler; the next one waits for its time, and promote() runs it", async () => {
    const spool = tmpSpool();
    const ran: string[] = [];
    track(new Worker('q', async (job) => void ran.push(job.id!), { spool, inline: true }));
    const q = track(new Queue('q', { spool, inline: true }));
    const first = await q.upsertJobScheduler('daily', { every: 86_400_000 }, { name: 'tick' });
    expect(ran).toEqual([first.id]);
    const [next] = await q.getJobs(['delayed']);
    expect(next!.id).not.toBe(first.id);
    await next!.promote();
    expect(ran).toEqual([first.id, next!.id]);
    expect(await q.getJobState(next!.id!)).toBe('completed');
  });

  it("resume() runs a paused flow whole: the children, then the parent they move on", async () => {
    const spool = tmpSpool();
    const ran: string[] = [];
    track(new Worker('q', async (job) => void ran.push(job.name), { spool, inline: true }));
    const q = track(new Queue('q', { spool, inline: true }));
    const flows = track(new FlowProducer({ spool, inline: true }));
    await q.pause();
    const tree = await flows.add({ name: 'parent', queueName: 'q', children: [{ name: 'a', queueName: 'q' }, { name: 'b', queueName: 'q' }] });
    expect(ran).toEqual([]);
    await q.resume();
    expect(ran).toEqual(['a', 'b', 'parent']);
    expect(await q.getJobState(tree.job.id!)).toBe('completed');
  });

  it('refuses a SPOOLKIT_INLINE it cannot read (enabled read as off: add() queued the job instead of running it), unless inline is given', () => {
    const spool = tmpSpool();
    for (const value of ['2', 'enabled']) {
      process.env.SPOOLKIT_INLINE = value;
      expect(() => new Queue('q', { spool })).toThrow(ConfigError);
      expect(() => new Queue('q', { spool })).toThrow(`SPOOLKIT_INLINE must be 1, true, yes or on (inline mode) or 0, false, no, off or unset; got "${value}". Fix or unset the variable.`);
      track(new Queue('q', { spool, inline: false }));
    }
    for (const value of ['0', 'false', 'No', '', ' 1 ']) {
      process.env.SPOOLKIT_INLINE = value;
      track(new Queue('q', { spool }));
    }
  });

  it('reads SPOOLKIT_INLINE=off as off and on as on (off, read as off before values were checked, stopped the app with a ConfigError)', () => {
    for (const [value, inline] of [['off', false], ['OFF', false], ['on', true], ['On', true]] as const) {
      expect(inlineFromEnv({ SPOOLKIT_INLINE: value })).toBe(inline);
    }
    process.env.SPOOLKIT_INLINE = 'off';
    track(new Queue('q', { spool: tmpSpool() }));
  });

  it('a chain of 3000 jobs, each adding the next from its processor, runs whole (the nested adds overflowed the stack near 800)', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('chain', { spool, inline: true }));
    let ran = 0;
    const failures: string[] = [];
    const w = track(new Worker('chain', async (job) => {
      ran++;
      if (job.data.i < 3000) await q.add('next', { i: job.data.i + 1 });
      return job.data.i;
    }, { spool, inline: true }));
    w.on('failed', (_job: unknown, err: Error) => failures.push(err.message));
    await q.add('next', { i: 1 });
    expect(failures).toEqual([]);
    expect(ran).toBe(3000);
  }, 30_000);

  it('a job added by a processor does not make the Worker tell drained while that processor still runs', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('d', { spool, inline: true }));
    const seen: string[] = [];
    const w = track(new Worker('d', async (job) => {
      if (job.name === 'outer') await q.add('inner', {});
      seen.push(`${job.name} returns`);
    }, { spool, inline: true }));
    w.on('drained', () => seen.push('drained'));
    await q.add('outer', {});
    expect(seen).toEqual(['inner returns', 'outer returns', 'drained']);
  });

  it('after its run, an inline add lists each ready set once to tell drained (it listed them twice)', async () => {
    const spool = tmpSpool();
    track(new Worker('p', async () => 1, { spool, inline: true }));
    const q = track(new Queue('p', { spool, inline: true }));
    await q.add('warm', {});
    const readdir = vi.spyOn(fs, 'readdirSync');
    try {
      await q.add('x', {});
      const listed = readdir.mock.calls.map((c) => String(c[0]));
      for (const set of ['waiting', 'lifo', 'prioritized']) {
        expect(listed.filter((dir) => dir === path.join(spool, 'queues', 'p', set))).toHaveLength(1);
      }
    } finally {
      readdir.mockRestore();
    }
  });

  it("job.retry() on a job a Worker's failed event gives runs the job again, as a worker would", async () => {
    const spool = tmpSpool();
    const seen: string[] = [];
    const w = track(new Worker('r', async (job) => {
      seen.push(`run ${job.attemptsMade}`);
      if (job.attemptsMade === 0) throw new Error('first try');
      return 'ok';
    }, { spool, inline: true }));
    const retried: Promise<void>[] = [];
    w.on('failed', (job: Job | undefined) => {
      if (job && retried.length === 0) retried.push(job.retry('failed'));
    });
    w.on('completed', () => seen.push('completed'));
    const q = track(new Queue('r', { spool, inline: true }));
    const job = await q.add('x', {});
    await Promise.all(retried);
    expect(seen).toEqual(['run 0', 'run 1', 'completed']);
    expect(await q.getJobState(job.id!)).toBe('completed');
  });

  it("resume() and retry() leave a job scheduler's later run waiting for its time, and the delayed jobs of an add still run", async () => {
    const spool = tmpSpool();
    const ran: string[] = [];
    track(new Worker('q', async (job) => {
      ran.push(job.name);
      if (job.name === 'bad') throw new Error('no');
    }, { spool, inline: true }));
    const q = track(new Queue('q', { spool, inline: true }));
    await q.upsertJobScheduler('daily', { every: 86_400_000 }, { name: 'tick' });
    await q.pause();
    await q.add('later', {}, { delay: 60_000 });
    await q.resume();
    const bad = await q.add('bad', {});
    await bad.retry('failed');
    expect(ran).toEqual(['tick', 'later', 'bad', 'bad']);
    expect(await q.getJobCountByTypes('delayed')).toBe(1);
  });

  it('a job that moves itself to delayed on every run stops after 1000 runs of its own, however many jobs its addBulk holds', async () => {
    const spool = tmpSpool();
    const runs = new Map<string, number>();
    track(new Worker('loop', async (job, token) => {
      runs.set(job.name, (runs.get(job.name) ?? 0) + 1);
      if (job.name !== 'loops') return;
      await job.moveToDelayed(Date.now() + 60_000, token);
      throw new DelayedError();
    }, { spool, inline: true }));
    const q = track(new Queue('loop', { spool, inline: true }));
    await q.addBulk(['loops', 'a', 'b', 'c'].map((name) => ({ name, data: {} })));
    expect(runs.get('loops')).toBeLessThanOrEqual(1000);
    expect([runs.get('a'), runs.get('b'), runs.get('c')]).toEqual([1, 1, 1]);
  }, 30_000);

  it('a FlowProducer.addBulk of n parent-child flows reads about n job files, not n² (each waiting parent was read after every run)', async () => {
    const spool = tmpSpool();
    const ran: string[] = [];
    track(new Worker('f', async (job) => void ran.push(job.name), { spool, inline: true }));
    const flows = track(new FlowProducer({ spool, inline: true }));
    const n = 200;
    const read = vi.spyOn(fs, 'readFileSync');
    try {
      await flows.addBulk(Array.from({ length: n }, (_, i) => ({ name: `p${i}`, queueName: 'f', data: {}, children: [{ name: `k${i}`, queueName: 'f', data: {} }] })));
      expect(read.mock.calls.length).toBeLessThan(30 * n);
    } finally {
      read.mockRestore();
    }
    expect(ran.slice(0, 4)).toEqual(['k0', 'p0', 'k1', 'p1']); // a Worker's order too
    expect(ran.filter((name) => name.startsWith('p'))).toHaveLength(n);
  });
  it('an add not awaited before its inline Worker closes still runs the job (an outermost add starts at once)', async () => {
    const spool = tmpSpool();
    const ran: number[] = [];
    const w = track(new Worker('close-after', async (job) => {
      ran.push(job.data.i);
      return job.data.i;
    }, { spool, inline: true }));
    const q = track(new Queue('close-after', { spool, inline: true }));
    const added = q.add('x', { i: 1 });
    const closed = w.close();
    const job = await added;
    await closed;
    expect(ran).toEqual([1]);
    expect(job.returnvalue).toBe(1);
    expect(await job.getState()).toBe('completed');
  });
});
