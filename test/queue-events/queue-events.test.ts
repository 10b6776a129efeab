import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue, QueueEvents, Worker } from '../../src/index.js';
import { EventTail, EventWriter, listSegments, SEGMENT_BYTES } from '../../src/spool/events.js';
import { resolveModes } from '../../src/spool/fs.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

describe('QueueEvents', () => {
  it('delivers the lifecycle of a job with BullMQ argument shapes and per-job events', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const events = track(new QueueEvents('q', { spool }));
    await events.waitUntilReady();
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
