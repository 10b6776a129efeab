import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue, QueueEvents } from '../../src/index.js';
import { newClaimTag } from '../../src/spool/claim.js';
import { DISCARD_TAG_PREFIX, MOVE_TAG_PREFIX } from '../../src/spool/keys.js';
import { openQueueStore } from '../../src/spool/open.js';
import { reclaimStalled, type ReclaimResult } from '../../src/spool/reclaim.js';
import { appendPatch } from '../../src/spool/record.js';
import { filesUnder, once, tmpSpool, track, tmpFiles } from '../fixtures/core/helpers.js';

const SIX_MINUTES_MS = 6 * 60_000;

/**
 * Puts a just-added job back in the state an `add` leaves when its process dies between the id
 * link and the publishing rename: the file in tmp/, named in the id index, not in any set.
 */
function unpublish(queueDir: string, ageMs: number): string {
  const [published] = filesUnder(path.join(queueDir, 'waiting'));
  expect(published).toBeDefined();
  const tmp = path.join(queueDir, 'tmp', `died-${path.basename(published!)}`);
  fs.renameSync(published!, tmp);
  const then = new Date(Date.now() - ageMs);
  fs.utimesSync(tmp, then, then);
  return tmp;
}

function pass(spool: string): void {
  const store = openQueueStore('q', { spool });
  reclaimStalled(store, { nowMs: Date.now(), lockDurationMs: 30_000, maxStalledCount: 1 });
}

describe('stalled checker: temp files of an add that died', () => {
  it('publishes a job whose add died between its id link and its publishing rename', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const job = await q.add('email', { to: 'a@b.c' });
    const queueDir = path.join(spool, 'queues', 'q');
    const tmp = unpublish(queueDir, SIX_MINUTES_MS);
    expect(await q.getJobCounts('waiting')).toEqual({ waiting: 0 });
    // Six minutes on (the rename that left it in tmp/ set its ctime to now).
    passAt(spool, Date.now() + SIX_MINUTES_MS);
    expect(fs.existsSync(tmp)).toBe(false);
    expect(await q.getJobCounts('waiting')).toEqual({ waiting: 1 });
    expect(await q.getJobState(job.id!)).toBe('waiting');
    expect((await q.getJob(job.id!))!.data).toEqual({ to: 'a@b.c' });
  });

  it('leaves a recent temp file alone: its add may still be running (a large addBulk writes every file first)', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    await q.add('email', {});
    const tmp = unpublish(path.join(spool, 'queues', 'q'), 60_000);
    pass(spool);
    expect(fs.existsSync(tmp)).toBe(true);
    expect(await q.getJobCounts('waiting')).toEqual({ waiting: 0 });
  });

  it('leaves a spare file just taken from the pool alone, though its mtime is old (an add is about to rewrite it)', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const queueDir = path.join(spool, 'queues', 'q');
    const spare = path.join(queueDir, 'tmp', 'taken-spare');
    fs.writeFileSync(spare, 'an old job');
    const then = new Date(Date.now() - SIX_MINUTES_MS);
    // Old mtime, fresh ctime: what a rename out of free/ leaves.
    fs.utimesSync(spare, then, then);
    pass(spool);
    expect(fs.existsSync(spare)).toBe(true);
    void q;
  });

  it('deletes an old temp file that never got an id name, and one whose id now names another job', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const queueDir = path.join(spool, 'queues', 'q');
    const then = new Date(Date.now() - SIX_MINUTES_MS);
    // An add that died before linking: the file's only name is in tmp/.
    const unlinked = path.join(queueDir, 'tmp', 'died-before-link');
    fs.writeFileSync(unlinked, '{"v":1}\n');
    fs.utimesSync(unlinked, then, then);
    // A job whose add died after linking, whose id was since freed and taken by a new job.
    await q.add('old', { n: 1 }, { jobId: 'reused' });
    const stale = unpublish(queueDir, SIX_MINUTES_MS);
    // Its id name moves aside (the file keeps two names) and a new job takes the id.
    const [idName] = filesUnder(path.join(queueDir, 'ids'));
    fs.renameSync(idName!, path.join(spool, 'elsewhere'));
    expect(fs.statSync(stale).nlink).toBe(2);
    await q.add('new', { n: 2 }, { jobId: 'reused' });
    passAt(spool, Date.now() + SIX_MINUTES_MS);
    expect(fs.existsSync(unlinked)).toBe(false);
    expect(fs.existsSync(stale)).toBe(false);
    expect(await q.getJobCounts('waiting')).toEqual({ waiting: 1 });
    expect((await q.getJob('reused'))!.data).toEqual({ n: 2 });
  });
});

describe('stalled checker: a bulk still being written', () => {
  /** Moves the waiting jobs into tmp/ as an uncommitted bulk's temp files, in order, 60 ms apart from the first. */
  async function bulkInProgress(queueDir: string): Promise<{ files: string[]; changedMs: number[] }> {
    const waiting = filesUnder(path.join(queueDir, 'waiting')).sort();
    const files: string[] = [];
    for (const [i, f] of waiting.entries()) {
      if (i === 1) await new Promise((r) => setTimeout(r, 60));
      const tmp = path.join(queueDir, 'tmp', `b-slowbulk-${i}`);
      fs.renameSync(f, tmp);
      files.push(tmp);
    }
    const changedMs = files.map((f) => {
      const st = fs.statSync(f);
      return Math.max(st.mtimeMs, st.ctimeMs);
    });
    return { files, changedMs };
  }

  it('leaves the whole bulk while its newest file is young, though its first files are old; undoes it once all are old', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    await q.addBulk([1, 2, 3].map((n) => ({ name: 'j', data: { n } })));
    const queueDir = path.join(spool, 'queues', 'q');
    const { files, changedMs } = await bulkInProgress(queueDir);
    expect(changedMs[1]! - changedMs[0]!).toBeGreaterThan(40);
    // Five minutes and 20 ms after the first file: it is old, the others are not.
    passAt(spool, changedMs[0]! + 5 * 60_000 + 20);
    for (const f of files) expect(fs.existsSync(f)).toBe(true);
    expect(filesUnder(path.join(queueDir, 'ids'))).toHaveLength(3);
    // Once the newest is old too, the uncommitted bulk is undone whole.
    passAt(spool, Math.max(...changedMs) + 5 * 60_000 + 1);
    expect(tmpFiles(queueDir)).toEqual([]);
    expect(filesUnder(path.join(queueDir, 'ids'))).toEqual([]);
    expect(await q.getJobCounts('waiting', 'active')).toEqual({ waiting: 0, active: 0 });
  });

  it('a committed bulk is published whole once its newest file and marker are old, not file by file', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    await q.addBulk([1, 2, 3].map((n) => ({ name: 'j', data: { n } })));
    const queueDir = path.join(spool, 'queues', 'q');
    const { files, changedMs } = await bulkInProgress(queueDir);
    fs.writeFileSync(path.join(queueDir, 'tmp', 'b-slowbulk.commit'), '');
    passAt(spool, changedMs[0]! + 5 * 60_000 + 20);
    for (const f of files) expect(fs.existsSync(f)).toBe(true);
    passAt(spool, Date.now() + SIX_MINUTES_MS);
    expect(tmpFiles(queueDir)).toEqual([]);
    expect(await q.getJobCounts('waiting')).toEqual({ waiting: 3 });
  });
});

/** Moves a waiting job's file to `active/` or `reclaiming/` as a claimer would; returns the new path. */
function hold(spool: string, place: 'active' | 'reclaiming', id: string): string {
  const queueDir = path.join(spool, 'queues', 'q');
  const [published] = filesUnder(path.join(queueDir, 'waiting'));
  expect(published).toBeDefined();
  const store = openQueueStore('q', { spool });
  const held = store.claimPath(place, id, newClaimTag());
  fs.renameSync(published!, held);
  return held;
}

function passAt(spool: string, nowMs: number): ReclaimResult {
  const store = openQueueStore('q', { spool });
  return reclaimStalled(store, { nowMs, lockDurationMs: 30_000, maxStalledCount: 1 });
}

describe('stalled checker: jobs whose holder died', () => {
  it('puts back a job whose lease expired, counting the stall, and leaves a live lease alone', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const job = await q.add('email', { n: 1 });
    const held = hold(spool, 'active', job.id!);
    expect(passAt(spool, Date.now()).stalled).toEqual([]);
    expect(fs.existsSync(held)).toBe(true);
    expect(passAt(spool, Date.now() + 31_000).stalled).toEqual([job.id]);
    expect(fs.existsSync(held)).toBe(false);
    expect(await q.getJobState(job.id!)).toBe('waiting');
    expect((await q.getJob(job.id!))!.stalledCounter).toBe(1);
  });

  it('finishes a job whose holder recorded its outcome and died before the rename into completed/', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const events = track(new QueueEvents('q', { spool }));
    await events.waitUntilReady();
    const job = await q.add('email', { n: 1 });
    const held = hold(spool, 'active', job.id!);
    appendPatch(held, { returnvalue: { sent: true }, finishedOn: Date.now(), attemptsMade: 1, st: 'completed', g: 0 });
    const completed = once<[{ jobId: string; returnvalue: unknown }]>(events, 'completed');
    expect(passAt(spool, Date.now() + 31_000)).toMatchObject({ finished: [job.id], stalled: [] });
    expect(await q.getJobState(job.id!)).toBe('completed');
    expect((await q.getJob(job.id!))!.returnvalue).toEqual({ sent: true });
    expect((await completed)[0]).toMatchObject({ jobId: job.id, returnvalue: { sent: true } });
  });

  it('gives back the deduplication key of a job its dead holder had finished, as a finish does', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const job = await q.add('email', { n: 1 }, { deduplication: { id: 'mail-7' } });
    const held = hold(spool, 'active', job.id!);
    appendPatch(held, { returnvalue: null, finishedOn: Date.now(), attemptsMade: 1, st: 'completed', g: 0 });
    expect(passAt(spool, Date.now() + 31_000).finished).toEqual([job.id]);
    expect(await q.getDeduplicationJobId('mail-7')).toBeNull();
    const next = await q.add('email', { n: 2 }, { deduplication: { id: 'mail-7' } });
    expect(next.id).not.toBe(job.id);
  });

  it('a key left by a finished job (released by nobody) does not hold back a new add', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const job = await q.add('email', { n: 1 }, { deduplication: { id: 'mail-8' } });
    const held = hold(spool, 'active', job.id!);
    // Finished by hand into completed/, its key still there.
    fs.renameSync(held, q.store.filePath('completed', job.id!));
    expect(await q.getDeduplicationJobId('mail-8')).toBe(job.id);
    const next = await q.add('email', { n: 2 }, { deduplication: { id: 'mail-8' } });
    expect(next.id).not.toBe(job.id);
    expect(await q.getDeduplicationJobId('mail-8')).toBe(next.id);
  });

  it('writes the finished job\'s own retention setting with the event it logs, for the retention pass', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const kept = await q.add('kept', {}, { removeOnComplete: false });
    const plain = await q.add('plain', {});
    for (const job of [kept, plain]) {
      const held = hold(spool, 'active', job.id!);
      appendPatch(held, { returnvalue: null, finishedOn: Date.now(), attemptsMade: 1, st: 'completed', g: 0 });
    }
    expect(passAt(spool, Date.now() + 31_000).finished.sort()).toEqual([kept.id, plain.id].sort());
    q.store.events.flush();
    const dir = path.join(spool, 'queues', 'q', 'events');
    const lines = fs
      .readdirSync(dir)
      .flatMap((f) => fs.readFileSync(path.join(dir, f), 'utf8').split('\n'))
      .filter((l) => l.startsWith('{"e":"completed"'))
      .map((l) => JSON.parse(l) as { a: { jobId: string }; k?: unknown });
    expect(lines.find((l) => l.a.jobId === kept.id)).toMatchObject({ k: false });
    expect(lines.find((l) => l.a.jobId === plain.id)!.k).toBeUndefined();
  });

  it('ignores an outcome recorded by a holder of an older generation: the job runs again', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const job = await q.add('email', { n: 1 });
    const held = hold(spool, 'active', job.id!);
    appendPatch(held, { gen: 1, g: 0 });
    appendPatch(held, { returnvalue: 'stale', st: 'completed', g: 0 });
    expect(passAt(spool, Date.now() + 31_000).stalled).toEqual([job.id]);
    expect(await q.getJobState(job.id!)).toBe('waiting');
  });

  it('finishes the move of a file left in reclaiming/ by a checker that died, once it is 10 s old', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const job = await q.add('email', { n: 1 });
    const held = hold(spool, 'reclaiming', job.id!);
    expect(passAt(spool, Date.now()).stalled).toEqual([]);
    expect(fs.existsSync(held)).toBe(true);
    expect(passAt(spool, Date.now() + 11_000).stalled).toEqual([job.id]);
    expect(await q.getJobState(job.id!)).toBe('waiting');
  });

  it('drops a held file whose job was removed meanwhile (its id no longer names it)', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const job = await q.add('email', { n: 1 });
    const held = hold(spool, 'active', job.id!);
    const [idName] = filesUnder(path.join(spool, 'queues', 'q', 'ids'));
    fs.unlinkSync(idName!);
    expect(passAt(spool, Date.now() + 31_000)).toMatchObject({ dropped: [job.id], stalled: [] });
    expect(fs.existsSync(held)).toBe(false);
    expect(await q.getJobCounts()).toMatchObject({ waiting: 0, active: 0, completed: 0 });
  });
});

describe('stalled checker: removals that died after taking the file out of view', () => {
  /** Holds a job's file as `discardJobFile` does before it frees the id, as a process that died right there leaves it. */
  function holdForDiscard(spool: string, file: string, id: string): string {
    const store = openQueueStore('q', { spool });
    const held = store.claimPath('reclaiming', id, `${DISCARD_TAG_PREFIX}${newClaimTag()}`);
    fs.renameSync(file, held);
    return held;
  }

  it('finishes the removal once the held file is 10 s old: id freed, file made a spare, nothing counted meanwhile', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const auto = await q.add('auto', { n: 1 });
    const custom = await q.add('custom', { n: 2 }, { jobId: 'order-7' });
    const queueDir = path.join(spool, 'queues', 'q');
    const files = filesUnder(path.join(queueDir, 'waiting'));
    expect(files).toHaveLength(2);
    const ids = files.map((f) => path.basename(f).split('.')[1]!);
    const held = files.map((f, i) => holdForDiscard(spool, f, ids[i]!));
    // Being removed is no state: not active, not listed, not locked.
    expect(await q.getJobCounts()).toMatchObject({ waiting: 0, active: 0 });
    expect(await q.getActive()).toEqual([]);
    expect(passAt(spool, Date.now()).dropped).toEqual([]);
    expect(passAt(spool, Date.now() + 11_000).dropped.sort()).toEqual([auto.id, custom.id].sort());
    for (const h of held) expect(fs.existsSync(h)).toBe(false);
    expect(filesUnder(path.join(queueDir, 'ids'))).toEqual([]);
    expect(filesUnder(path.join(queueDir, 'free'))).toHaveLength(2);
    expect(await q.getJob(auto.id!)).toBeUndefined();
    // The custom id can be used again.
    expect((await q.add('custom', { n: 3 }, { jobId: 'order-7' })).data).toEqual({ n: 3 });
    expect((await q.getJob('order-7'))!.data).toEqual({ n: 3 });
  });

  it('leaves the id of a custom-id job added again meanwhile: only the held file goes', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    await q.add('first', { n: 1 }, { jobId: 'dup.rm-x' });
    const queueDir = path.join(spool, 'queues', 'q');
    const [file] = filesUnder(path.join(queueDir, 'waiting'));
    const held = holdForDiscard(spool, file!, 'dup.rm-x');
    // The interrupted removal had freed the id; a new job took it.
    fs.unlinkSync(q.store.idPath('dup.rm-x'));
    await q.add('second', { n: 2 }, { jobId: 'dup.rm-x' });
    expect(passAt(spool, Date.now() + 11_000).dropped).toEqual(['dup.rm-x']);
    expect(fs.existsSync(held)).toBe(false);
    expect((await q.getJob('dup.rm-x'))!.data).toEqual({ n: 2 });
    expect(await q.getJobCounts()).toMatchObject({ waiting: 1, active: 0 });
  });
});

describe('stalled checker: moves between sets that died half-way', () => {
  it('files a delayed job held by a dead changeDelay back into delayed: not started, not counted as a stall', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const job = await q.add('later', { n: 1 }, { delay: 3_600_000 });
    const queueDir = path.join(spool, 'queues', 'q');
    const [file] = filesUnder(path.join(queueDir, 'delayed'));
    const store = openQueueStore('q', { spool });
    const held = store.claimPath('reclaiming', job.id!, `${MOVE_TAG_PREFIX}${newClaimTag()}`);
    fs.renameSync(file!, held);
    expect(passAt(spool, Date.now() + 11_000)).toMatchObject({ returned: [job.id], stalled: [] });
    expect(fs.existsSync(file!)).toBe(true);
    expect(await q.getJobState(job.id!)).toBe('delayed');
    expect((await q.getJob(job.id!))!.stalledCounter).toBe(0);
  });

  it('files a finished job held by a dead retry back into completed/', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const job = await q.add('done', {});
    const held = hold(spool, 'active', job.id!);
    appendPatch(held, { returnvalue: 'ok', finishedOn: Date.now(), attemptsMade: 1, st: 'completed', g: 0 });
    expect(passAt(spool, Date.now() + 31_000).finished).toEqual([job.id]);
    const store = openQueueStore('q', { spool });
    const again = store.claimPath('reclaiming', job.id!, `${MOVE_TAG_PREFIX}${newClaimTag()}`);
    fs.renameSync(store.filePath('completed', job.id!), again);
    expect(passAt(spool, Date.now() + 11_000)).toMatchObject({ returned: [job.id], stalled: [] });
    expect(await q.getJobState(job.id!)).toBe('completed');
  });
});
