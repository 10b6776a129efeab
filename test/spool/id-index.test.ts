import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue, SPOOL_FORMAT_VERSION, Worker } from '../../src/index.js';
import { hashShard, idShard, pruneIdRanges } from '../../src/spool/id-index.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';

function writeMarker(spool: string, version: number): void {
  fs.mkdirSync(spool, { recursive: true });
  fs.writeFileSync(path.join(spool, 'spool.json'), JSON.stringify({ format: 'spoolkit', version, createdAt: Date.now() }) + '\n');
}

describe('id index layout', () => {
  it('files automatic ids by thousands in a version 2 spool, custom ids by hash', () => {
    expect(idShard('1', 2)).toBe('n0');
    expect(idShard('999', 2)).toBe('n0');
    expect(idShard('1000', 2)).toBe('n1');
    expect(idShard('1999', 2)).toBe('n1');
    expect(idShard('1234567', 2)).toBe('n1234');
    expect(idShard('order-7', 2)).toBe(hashShard('order-7'));
    expect(idShard('007', 2)).toBe(hashShard('007'));
    expect(idShard('repeat:k:1700000000000', 2)).toBe(hashShard('repeat:k:1700000000000'));
  });

  it('keeps every id under its hash shard in a version 1 spool', () => {
    expect(idShard('1234567', 1)).toBe(hashShard('1234567'));
    expect(idShard('order-7', 1)).toBe(hashShard('order-7'));
  });

  it('hashes as format version 1 always did (FNV-1a, low byte in hex)', () => {
    // Values fixed by version 1 spools on disk: changing the hash would lose their jobs.
    expect(hashShard('1')).toBe('1c');
    expect(hashShard('1234567')).toBe('27');
    expect(hashShard('order-7')).toBe('fb');
    expect(hashShard('')).toBe('c5');
  });

  it('a new spool is made at the current version and links an automatic id into its range', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    expect(JSON.parse(fs.readFileSync(path.join(spool, 'spool.json'), 'utf8')).version).toBe(SPOOL_FORMAT_VERSION);
    const job = await q.add('x', { a: 1 });
    const entry = path.join(q.store.dir, 'ids', 'n0', job.id!);
    expect(fs.statSync(entry).nlink).toBe(2);
    const custom = await q.add('x', { b: 2 }, { jobId: 'order-7' });
    expect(fs.existsSync(path.join(q.store.dir, 'ids', hashShard('order-7'), 'order-7'))).toBe(true);
    expect((await q.getJob(job.id!))?.data).toEqual({ a: 1 });
    expect((await q.getJob(custom.id!))?.data).toEqual({ b: 2 });
  });

  it('a version 1 spool keeps its layout: its jobs are found, new ones go where version 1 puts them, and workers run both', async () => {
    const spool = tmpSpool();
    writeMarker(spool, 1);
    const q = track(new Queue('q', { spool }));
    const first = await q.add('x', { n: 1 });
    const entry = path.join(q.store.dir, 'ids', hashShard(first.id!), first.id!);
    expect(fs.existsSync(entry)).toBe(true);
    expect(fs.existsSync(path.join(q.store.dir, 'ids', 'n0'))).toBe(false);
    expect(JSON.parse(fs.readFileSync(path.join(spool, 'spool.json'), 'utf8')).version).toBe(1);
    const more = await q.addBulk([2, 3, 4].map((n) => ({ name: 'x', data: { n } })));
    const seen: number[] = [];
    const w = track(new Worker('q', async (job) => void seen.push((job.data as { n: number }).n), { spool }));
    await waitFor(() => seen.length === 4, 5000, 'four jobs run');
    expect(seen.sort()).toEqual([1, 2, 3, 4]);
    expect(await q.getJobState(more[2]!.id!)).toBe('completed');
    await w.close();
  });

  it('an existing marker decides the version even when another store made it first', async () => {
    const spool = tmpSpool();
    writeMarker(spool, 1);
    const q = track(new Queue('q', { spool, durability: 'durable' }));
    expect(q.store.formatVersion).toBe(1);
  });
});

describe('pruning empty id ranges', () => {
  it('removes empty range directories except the two newest, and leaves full ones and hash shards', () => {
    const spool = tmpSpool();
    const ids = path.join(spool, 'ids');
    for (const d of ['n0', 'n1', 'n2', 'n3', 'n10', 'n11', 'ab', 'fb']) fs.mkdirSync(path.join(ids, d), { recursive: true });
    fs.writeFileSync(path.join(ids, 'n0', '5'), '');
    fs.writeFileSync(path.join(ids, 'n2', '2001'), '');
    expect(pruneIdRanges(spool)).toBe(2);
    // n10 and n11 are the newest by number (not by name order), so n1 and n3 went.
    expect(fs.readdirSync(ids).sort()).toEqual(['ab', 'fb', 'n0', 'n10', 'n11', 'n2']);
  });

  it('a queue without an index yet has nothing to prune', () => {
    expect(pruneIdRanges(path.join(tmpSpool(), 'none'))).toBe(0);
  });

  it('a worker prunes the ranges its removed jobs emptied, and adds go on after it', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    for (let i = 0; i < 3; i++) await q.addBulk(Array.from({ length: 1000 }, (_, n) => ({ name: 'x', data: { n }, opts: { removeOnComplete: true } })));
    const idsDir = path.join(q.store.dir, 'ids');
    expect(fs.readdirSync(idsDir).sort()).toEqual(['n0', 'n1', 'n2', 'n3']);
    let done = 0;
    const w = track(new Worker('q', async () => void done++, { spool, concurrency: 8, stalledInterval: 200 }));
    await waitFor(() => done === 3000, 20_000, 'all jobs done');
    await waitFor(() => fs.readdirSync(idsDir).length === 2, 5000, 'empty ranges pruned');
    expect(fs.readdirSync(idsDir).sort()).toEqual(['n2', 'n3']);
    const next = await q.add('x', { last: true });
    expect(next.id).toBe('3001');
    expect((await q.getJob('3001'))?.data).toEqual({ last: true });
    expect(await q.getJob('10')).toBeUndefined();
    await w.close();
  });
});

describe('linkIdEntry', () => {
  it('throws, and does not retry for ever, when the file to link is missing', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const missing = path.join(q.store.dir, 'tmp', 'never-written');
    expect(() => q.store.linkIdEntry(missing, '123456')).toThrow(/ENOENT|no such file/);
  });
});
