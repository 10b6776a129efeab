import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { readDedupWithInode, removeIfSame } from '../../src/spool/dedup-key.js';
import { takeLock } from '../../src/spool/id-lock.js';
import { releaseDedup } from '../../src/spool/finish.js';
import { dedupFile } from '../../src/spool/store.js';
import type { JobRecord } from '../../src/spool/record.js';
import { tmpSpool, track } from '../fixtures/core/helpers.js';

const key = (jobId: string) => JSON.stringify({ id: 'e', jobId, expiresAt: null });
const judge = (file: string) => readDedupWithInode(file)!;

function setup() {
  const q = track(new Queue('q', { spool: tmpSpool() }));
  const dir = path.join(q.store.dir, 'dedup');
  fs.mkdirSync(dir, { recursive: true });
  return { store: q.store, dir };
}

describe('removeIfSame (removing a stale deduplication key)', () => {
  it('removes the file when it is still the inode judged stale, and leaves no lock behind', () => {
    const { store, dir } = setup();
    const file = path.join(dir, 'key.json');
    fs.writeFileSync(file, key('1'));
    expect(removeIfSame(store, file, judge(file))).toBe(true);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('keeps a file another process put there after the stale one was judged: that one stands', () => {
    const { store, dir } = setup();
    const file = path.join(dir, 'key.json');
    fs.writeFileSync(file, key('1'));
    const judged = judge(file);
    // Another process replaced the stale key with its own meanwhile.
    fs.writeFileSync(path.join(dir, 'new'), key('2'));
    fs.renameSync(path.join(dir, 'new'), file);
    expect(removeIfSame(store, file, judged)).toBe(false);
    expect(fs.readFileSync(file, 'utf8')).toBe(key('2'));
    expect(fs.readdirSync(dir)).toEqual(['key.json']);
  });

  it('keeps a new key that got the judged key\'s inode number (freed by its removal and given out again)', () => {
    const { store, dir } = setup();
    const file = path.join(dir, 'key.json');
    fs.writeFileSync(file, key('2'));
    // As if the judged key (job 1's) had been removed and this one made on its freed inode.
    const judged = { ino: fs.statSync(file).ino, key: { id: 'e', jobId: '1', expiresAt: null } };
    expect(removeIfSame(store, file, judged)).toBe(false);
    expect(fs.readFileSync(file, 'utf8')).toBe(key('2'));
  });

  it('does nothing when the file is gone', () => {
    const { store, dir } = setup();
    expect(removeIfSame(store, path.join(dir, 'key.json'), { ino: 1, key: undefined })).toBe(false);
  });

  it('removes nothing while another holds the key\'s lock (it may be rewriting the key)', () => {
    const { store, dir } = setup();
    const file = path.join(dir, 'key.json');
    fs.writeFileSync(file, key('1'));
    expect(takeLock(store, `${file}.lock`, Date.now())).toBe(true);
    expect(removeIfSame(store, file, judge(file), 30)).toBe(false);
    expect(fs.existsSync(file)).toBe(true);
    fs.unlinkSync(`${file}.lock`);
    expect(removeIfSame(store, file, judge(file), 30)).toBe(true);
  });
});

describe('releaseDedup (a finished job gives its key back)', () => {
  const rec = (id: string) => ({ id, deduplicationId: 'e' }) as JobRecord;

  it('frees the key its job holds, under the key\'s lock', () => {
    const { store } = setup();
    const file = dedupFile(store, 'e');
    fs.writeFileSync(file, JSON.stringify({ id: 'e', jobId: '126', expiresAt: null }));
    expect(takeLock(store, `${file}.lock`, Date.now())).toBe(true);
    // An add holding the lock may be making this key another job's: the finisher leaves it.
    expect(releaseDedup(store, rec('126'))).toBe(false);
    expect(fs.existsSync(file)).toBe(true);
    fs.unlinkSync(`${file}.lock`);
    expect(releaseDedup(store, rec('126'))).toBe(true);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('leaves a key another job holds, and a ttl key', () => {
    const { store } = setup();
    const file = dedupFile(store, 'e');
    fs.writeFileSync(file, JSON.stringify({ id: 'e', jobId: '91', expiresAt: null }));
    expect(releaseDedup(store, rec('126'))).toBe(false);
    fs.writeFileSync(file, JSON.stringify({ id: 'e', jobId: '126', expiresAt: Date.now() + 60_000 }));
    expect(releaseDedup(store, rec('126'))).toBe(false);
    expect(fs.existsSync(file)).toBe(true);
  });
});
