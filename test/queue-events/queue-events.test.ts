import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, Queue, QueueEvents, Worker } from '../../src/index.js';
import { EventTail, EventWriter, listSegments, SEGMENT_BYTES } from '../../src/spool/events.js';
import { resolveModes } from '../../src/spool/fs.js';
import { envSpool, tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

/** A queue and a ready QueueEvents on a fresh spool. */
async function queueWithEvents(): Promise<{ spool: string; q: Queue; events: QueueEvents }> {
  const spool = tmpSpool();
  const q = track(new Queue('q', { spool }));
  const events = track(new QueueEvents('q', { spool }));
  await events.waitUntilReady();
  return { spool, q, events };
}

describe('QueueEvents', () => {
  it('delivers the lifecycle of a job with BullMQ argument shapes and per-job events', async () => {
    const { spool, q, events } = await queueWithEvents();
    const seen: [string, Record<string, unknown>][] = [];
    for (const e of ['added', 'waiting', 'active', 'progress', 'completed', 'failed', 'delayed']) {
      events.on(e, (args: Record<string, unknown>, id: string) => {
        expect(id).toMatch(/^\d+-\d+$/);
        seen.push([e, args]);
      });
    }
    const perJob: unknown[] = [];
    track(
      new Worker(
        'q',
        async (job) => {
          await job.updateProgress(50);
          return { ok: true };
        },
        { spool },
      ),
    );
    const job = await q.add('x', { a: 1 });
    events.on(`completed:${job.id}`, (args: unknown) => perJob.push(args));
    await waitFor(() => seen.some(([e]) => e === 'completed'), 5000);
    expect(seen.map(([e]) => e)).toEqual(['added', 'waiting', 'active', 'progress', 'completed']);
    expect(seen[0]![1]).toEqual({ jobId: job.id, name: 'x' });
    expect(seen[2]![1]).toEqual({ jobId: job.id, prev: 'waiting' });
    expect(seen[3]![1]).toEqual({ jobId: job.id, data: 50 });
    expect(seen[4]![1]).toEqual({ jobId: job.id, returnvalue: { ok: true }, prev: 'active' });
    await waitFor(() => perJob.length === 1, 1000);
  });

  it('replays from lastEventId, and from 0', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const first = track(new QueueEvents('q', { spool }));
    await first.waitUntilReady();
    const ids: string[] = [];
    first.on('added', (_a: unknown, id: string) => ids.push(id));
    await q.add('a', {});
    await q.add('b', {});
    await q.add('c', {});
    await waitFor(() => ids.length === 3, 3000);
    const later = track(new QueueEvents('q', { spool, lastEventId: ids[0] }));
    const replayed: string[] = [];
    later.on('added', (a: { name: string }) => replayed.push(a.name));
    await waitFor(() => replayed.length === 2, 3000);
    expect(replayed).toEqual(['b', 'c']);
    const all = track(new QueueEvents('q', { spool, lastEventId: '0' }));
    const names: string[] = [];
    all.on('added', (a: { name: string }) => names.push(a.name));
    await waitFor(() => names.length === 3, 3000);
  });

  it('refuses a lastEventId that names no place in the log (it was read as $: the events asked for were skipped silently); unset or empty is $, as in BullMQ', async () => {
    const spool = tmpSpool();
    const make = (lastEventId: unknown) => () => track(new QueueEvents('q', { spool, autorun: false, lastEventId: lastEventId as string }));
    for (const bad of ['all', 'latest', '12', 7, ' 0']) {
      expect(make(bad)).toThrow(ConfigError);
      expect(make(bad)).toThrow(/^QueueEvents option lastEventId must be '\$' \(only new events\), '0' \(every kept event\) or the id of an event heard before/);
    }
    for (const ok of [undefined, '', '$', '0', '0-0', '1-120', '1:0']) make(ok)();
  });

  it('waitUntilFinished called from a listener does not deliver later events before the rest of the batch', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    for (const n of ['a', 'b', 'c']) await q.add(n, {});
    q.store.events.flush();
    const jobA = (await q.getJob('1'))!;
    const events = track(new QueueEvents('q', { spool, lastEventId: '0', autorun: false }));
    const order: string[] = [];
    let late: Promise<unknown> | undefined;
    events.on('added', (a: { name: string }) => {
      order.push(`added:${a.name}`);
      if (late || a.name !== 'a') return;
      // A new event reaches the log while this batch is being delivered, and the listener waits
      // for a job (which reads the log at once).
      q.store.events.append('added', { jobId: '99', name: 'd' });
      q.store.events.flush();
      late = jobA.waitUntilFinished(events, 100).catch(() => undefined);
    });
    events.on('waiting', (a: { jobId: string }) => order.push(`waiting:${a.jobId}`));
    void events.run();
    await waitFor(() => order.includes('added:d'), 3000);
    await late;
    expect(order.indexOf('added:d')).toBeGreaterThan(order.indexOf('waiting:3'));
  });

  it('waitUntilReady resolves without run() when autorun is false, as BullMQ; close() ends pending waits with ERR_CLOSED', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const events = new QueueEvents('q', { spool, autorun: false });
    await events.waitUntilReady();
    void events.run();
    const job = await q.add('never-run', {});
    const wait = job.waitUntilFinished(events);
    await events.close();
    await expect(wait).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('only sees new events by default', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    await q.add('old', {});
    await q.close();
    const q2 = track(new Queue('q', { spool }));
    const events = track(new QueueEvents('q', { spool }));
    await events.waitUntilReady();
    const names: string[] = [];
    events.on('added', (a: { name: string }) => names.push(a.name));
    await q2.add('new', {});
    await waitFor(() => names.length === 1, 3000);
    expect(names).toEqual(['new']);
  });
});

describe('event log segments', () => {
  it('rotates past the segment size, keeps the last segments, and a reader crosses segments in order', () => {
    const spool = tmpSpool();
    const dir = path.join(spool, 'events');
    const writer = new EventWriter(dir, resolveModes(undefined));
    const reader = new EventTail(dir, '0');
    const payload = 'x'.repeat(64 * 1024);
    const perSegment = Math.ceil(SEGMENT_BYTES / payload.length) + 1;
    let n = 0;
    const got: number[] = [];
    for (let s = 0; s < 3; s++) {
      for (let i = 0; i < perSegment; i++) {
        writer.append('tick', { n: n++, payload });
        writer.flush();
      }
      for (const e of reader.read(64 * 1024 * 1024)) got.push(e.a.n as number);
    }
    for (const e of reader.read(64 * 1024 * 1024)) got.push(e.a.n as number);
    expect(listSegments(dir).length).toBeGreaterThanOrEqual(3);
    expect(got).toEqual(Array.from({ length: n }, (_, i) => i));
    writer.close();
    reader.close();
    expect(fs.existsSync(dir)).toBe(true);
  });
});

describe('event log edge cases', () => {
  const line = (e: string, a: Record<string, unknown>): string => `${JSON.stringify({ e, t: 1, a })}\n`;
  const segPath = (dir: string, n: number): string => path.join(dir, `${String(n).padStart(10, '0')}.jsonl`);
  const ids = (events: { a: Record<string, unknown> }[]): unknown[] => events.map((e) => e.a.jobId);

  it('reads a line longer than its window, and the lines after it', () => {
    const dir = path.join(tmpSpool(), 'events');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(segPath(dir, 1), line('added', { jobId: 'a' }));
    const reader = new EventTail(dir, '1:0');
    expect(ids(reader.read(64 * 1024))).toEqual(['a']);
    fs.appendFileSync(segPath(dir, 1), line('completed', { jobId: 'big', returnvalue: 'y'.repeat(200 * 1024) }) + line('completed', { jobId: 'b' }));
    const got = reader.read(64 * 1024);
    expect(ids(got)).toEqual(['big', 'b']);
    expect((got[0]!.a.returnvalue as string).length).toBe(200 * 1024);
    reader.close();
  });

  it('a reader that moved on to a newer segment still gets a batch appended late to the old one (a writer that lost the race with a rotation)', () => {
    const dir = path.join(tmpSpool(), 'events');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(segPath(dir, 1), line('added', { jobId: 'a' }));
    const reader = new EventTail(dir, '1:0');
    expect(ids(reader.read())).toEqual(['a']);
    // Another process rotated; the reader moves on.
    fs.writeFileSync(segPath(dir, 2), line('added', { jobId: 'b' }));
    expect(ids(reader.read())).toEqual(['b']);
    // A writer that had checked segment 1's size just before the rotation appends there now.
    fs.appendFileSync(segPath(dir, 1), line('completed', { jobId: 'a' }));
    fs.appendFileSync(segPath(dir, 2), line('added', { jobId: 'c' }));
    expect(ids(reader.read())).toEqual(['a', 'c']);
    // Each late line once; and the reader's position stays in the newest segment.
    expect(ids(reader.read())).toEqual([]);
    expect(reader.position()).toBe(`2:${fs.statSync(segPath(dir, 2)).size}`);
    reader.close();
  });

  it('a writer holding a segment that others filled and left appends to the newest one, where readers are', () => {
    const dir = path.join(tmpSpool(), 'events');
    const writer = new EventWriter(dir, resolveModes(undefined));
    writer.append('added', { jobId: 'a' });
    writer.flush(); // its descriptor is on segment 1 from here on
    // Meanwhile other processes filled segments 1 and 2 and went on to 3.
    fs.truncateSync(segPath(dir, 1), SEGMENT_BYTES);
    fs.writeFileSync(segPath(dir, 2), '');
    fs.truncateSync(segPath(dir, 2), SEGMENT_BYTES);
    fs.writeFileSync(segPath(dir, 3), line('added', { jobId: 'c' }));
    const reader = new EventTail(dir, '3:0');
    writer.append('added', { jobId: 'b' });
    writer.flush();
    expect(ids(reader.read())).toEqual(['c', 'b']);
    expect(fs.statSync(segPath(dir, 2)).size).toBe(SEGMENT_BYTES);
    writer.close();
    reader.close();
  });

  it('a reader whose segment was removed under it (queue obliterated) reads the new log from its start', () => {
    const spool = tmpSpool();
    const dir = path.join(spool, 'events');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(segPath(dir, 1), line('added', { jobId: '1' }) + line('added', { jobId: '2' }));
    const reader = new EventTail(dir, '0');
    expect(ids(reader.read())).toEqual(['1', '2']);
    // As obliterate does: the directory moves away and goes; a new log starts at segment 1.
    fs.renameSync(dir, path.join(spool, 'gone'));
    fs.rmSync(path.join(spool, 'gone'), { recursive: true });
    fs.mkdirSync(dir);
    fs.writeFileSync(segPath(dir, 1), line('added', { jobId: '1' }) + line('added', { jobId: '2' }) + line('added', { jobId: '3' }));
    expect(ids(reader.read())).toEqual(['1', '2', '3']);
    expect(reader.position()).toBe(`1:${fs.statSync(segPath(dir, 1)).size}`);
    reader.close();
  });

  it('a batch cut short does not take the next batch first line with it', () => {
    const dir = path.join(tmpSpool(), 'events');
    fs.mkdirSync(dir, { recursive: true });
    // A writer killed inside write(2): a fragment with no newline.
    fs.writeFileSync(segPath(dir, 1), '{"e":"progress","t":1,"a":{"jobId":"1","data":"xx');
    const everything = new EventTail(dir, '0');
    const finishedOnly = new EventTail(dir, '0');
    const writer = new EventWriter(dir, resolveModes(undefined));
    writer.append('completed', { jobId: '2', returnvalue: { e: 'inner' } });
    writer.append('completed', { jobId: '3' });
    writer.flush();
    const got = everything.read();
    expect(ids(got)).toEqual(['2', '3']);
    expect(got[0]!.a.returnvalue).toEqual({ e: 'inner' });
    // Retention reads with a filter on the line's start; the recovered line passes it.
    const filtered = finishedOnly.read(64 * 1024, (l) => l.startsWith('{"e":"completed"'));
    expect(ids(filtered)).toEqual(['2', '3']);
    // The recovered event's id resumes after it.
    expect(ids(new EventTail(dir, got[0]!.id).read())).toEqual(['3']);
    writer.close();
    everything.close();
    finishedOnly.close();
  });
  it('a batch cut right before its last newline keeps that last line: both events are read', () => {
    const dir = path.join(tmpSpool(), 'events');
    fs.mkdirSync(dir, { recursive: true });
    // Whole but for its newline (a full disk took all but the last byte of the batch).
    fs.writeFileSync(segPath(dir, 1), '{"e":"completed","t":1,"a":{"jobId":"1","returnvalue":"one"}}');
    const reader = new EventTail(dir, '0');
    const writer = new EventWriter(dir, resolveModes(undefined));
    writer.append('completed', { jobId: '2' });
    writer.flush();
    const got = reader.read();
    expect(ids(got)).toEqual(['1', '2']);
    expect(got[0]!.a.returnvalue).toBe('one');
    writer.close();
    reader.close();
  });
});

describe('event ids across an obliterate', () => {
  it('keep increasing, so a QueueEvents resumed after an id of the old log hears the new log from its first event', async () => {
    const { spool, q, events } = await queueWithEvents();
    const seenIds: string[] = [];
    events.on('added', (_args: unknown, id: string) => seenIds.push(id));
    // A long old log: its ids' offsets lie past the end of the new log's first segment.
    await q.addBulk(Array.from({ length: 50 }, (_, i) => ({ name: 'old', data: { i } })));
    await waitFor(() => seenIds.length === 50, 3000);
    const lastOld = seenIds.at(-1)!;
    await q.obliterate({ force: true });
    const resumed = track(new QueueEvents('q', { spool, lastEventId: lastOld }));
    const heard: string[] = [];
    resumed.on('added', ({ jobId }: { jobId: string }, id: string) => heard.push(`${jobId}@${id}`));
    await resumed.waitUntilReady();
    await q.add('new', {}, { jobId: 'first-after' });
    await q.add('new', {}, { jobId: 'second-after' });
    await waitFor(() => heard.length === 2, 3000, `both adds heard: ${heard.join(' ')}`);
    expect(heard.map((h) => h.split('@')[0])).toEqual(['first-after', 'second-after']);
    const seg = (id: string) => Number(id.split('-')[0]);
    expect(seg(heard[0]!.split('@')[1]!)).toBeGreaterThan(seg(lastOld));
  });
});

describe('QueueEvents as BullMQ delivers them', () => {
  it('a listener that throws costs nobody the rest of the batch; its error goes to error', async () => {
    const { spool, q, events } = await queueWithEvents();
    const seen: string[] = [];
    const errors: string[] = [];
    events.on('error', (err: Error) => errors.push(err.message));
    events.on('added', ({ jobId }: { jobId: string }) => {
      seen.push(`added:${jobId}`);
      if (jobId === '2') throw new Error('listener threw');
    });
    events.on('waiting', ({ jobId }: { jobId: string }) => seen.push(`waiting:${jobId}`));
    await q.addBulk([1, 2, 3].map((n) => ({ name: 'x', data: n })));
    await waitFor(() => seen.length === 6, 3000);
    expect(seen).toEqual(['added:1', 'waiting:1', 'added:2', 'waiting:2', 'added:3', 'waiting:3']);
    expect(errors).toEqual(['listener threw']);
  });

  it('drained is written only when nothing is left waiting, active or delayed', async () => {
    const { spool, q, events } = await queueWithEvents();
    const log: string[] = [];
    for (const e of ['completed', 'drained', 'delayed']) events.on(e, () => log.push(e));
    const w = track(new Worker('q', async () => 'ok', { spool, pollIntervalMs: 20 }));
    let localDrained = 0;
    w.on('drained', () => localDrained++);
    // A delayed job stays behind the one that runs: the queue is not drained.
    await q.add('later', {}, { delay: 60_000 });
    await q.add('now', {});
    await waitFor(() => log.includes('completed') && localDrained > 0, 3000);
    await new Promise((r) => setTimeout(r, 150));
    expect(log.filter((e) => e === 'drained')).toEqual([]);
    // Once the delayed job is gone too, the next idle moment is a drain.
    await q.drain(true);
    await q.add('last', {});
    await waitFor(() => log.includes('drained'), 3000);
    expect(log.filter((e) => e === 'completed')).toHaveLength(2);
  });

  it('drained is not written while a paused queue still has jobs waiting, prioritized or not', async () => {
    const { spool, q, events } = await queueWithEvents();
    const log: string[] = [];
    for (const e of ['completed', 'drained']) events.on(e, () => log.push(e));
    await q.add('first', {});
    await q.add('plain', {});
    await q.add('urgent', {}, { priority: 3 });
    // The first job pauses the queue: after it the worker finds nothing it may claim and goes
    // idle (its own drained), while two jobs still wait (no drained in the log).
    const w = track(new Worker('q', async (job) => (job.name === 'first' ? q.pause() : 'ok'), { spool, pollIntervalMs: 20 }));
    let localDrained = 0;
    w.on('drained', () => localDrained++);
    await waitFor(() => log.includes('completed') && localDrained > 0, 3000);
    await new Promise((r) => setTimeout(r, 150));
    expect(log).toEqual(['completed']);
    await q.resume();
    await waitFor(() => log.includes('drained'), 3000);
    expect(log).toEqual(['completed', 'completed', 'completed', 'drained']);
  });
});

describe('null options', () => {
  it('new QueueEvents(name, null) reads as no options, as in BullMQ (a TypeError before)', async () => {
    const spool = envSpool();
    const events = track(new QueueEvents('q', null as never));
    await events.waitUntilReady();
    expect(events.store.root).toBe(spool);
  });
});
