import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue } from '../../src/index.js';
import { dedupFile } from '../../src/spool/store.js';
import { tmpSpool, track } from '../fixtures/core/helpers.js';
import { exited, startFixture, stdoutOf } from '../fixtures/core/procs.js';

const ROUNDS = 100;

describe('deduplication across processes', () => {
  for (const mode of ['simple', 'ttl'] as const) {
    it(`${mode} mode: four producers adding the same deduplication id at the same instant make one job`, async () => {
      const spool = tmpSpool();
      const q = track(new Queue('q', { spool }));
      const start = Date.now() + 3000;
      const env = { SPOOL: spool, START_MS: String(start), ROUNDS: String(ROUNDS), ...(mode === 'ttl' ? { TTL_MS: '60000' } : {}) };
      const producers = await Promise.all([0, 1, 2, 3].map(() => startFixture('dedup-producer.ts', env)));
      for (const p of producers) expect(await exited(p, 30_000)).toBe(0);
      const jobs = await q.getJobs(['waiting']);
      const perRound = new Map<number, number>();
      for (const j of jobs) perRound.set((j.data as { r: number }).r, (perRound.get((j.data as { r: number }).r) ?? 0) + 1);
      expect([...perRound].filter(([, n]) => n > 1)).toEqual([]);
      expect(perRound.size).toBe(ROUNDS);
    }, 60_000);
  }

  it('replace mode: four producers replacing the same delayed job at the same instant leave one job, and every other one was removed with an event', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const start = Date.now() + 3000;
    const env = { SPOOL: spool, START_MS: String(start), ROUNDS: String(ROUNDS), TTL_MS: '600000', REPLACE: '1' };
    const producers = await Promise.all([0, 1, 2, 3].map(() => startFixture('dedup-producer.ts', env)));
    for (const p of producers) expect(await exited(p, 30_000)).toBe(0);
    const out = producers.map((p) => stdoutOf(p)).join('');
    const resolved = out.split('\n').filter((l) => l.startsWith('{')).map((l) => (JSON.parse(l) as { id: string }).id);
    expect(resolved).toHaveLength(4 * ROUNDS);
    const jobs = await q.getJobs(['delayed']);
    const byRound = new Map<number, string[]>();
    for (const j of jobs) byRound.set((j.data as { r: number }).r, [...(byRound.get((j.data as { r: number }).r) ?? []), j.id!]);
    expect([...byRound].filter(([, ids]) => ids.length !== 1)).toEqual([]);
    expect(byRound.size).toBe(ROUNDS);
    // Each round's key names its one job.
    for (const [r, [id]] of byRound) {
      const key = JSON.parse(fs.readFileSync(dedupFile(q.store, `k${r}`), 'utf8')) as { jobId: string };
      expect(key.jobId, `round ${r}`).toBe(id);
    }
    // Every job added and not left was removed, with an event: added - removed = 1 per round.
    const added = new Set<string>();
    const removed = new Set<string>();
    for (const f of fs.readdirSync(path.join(q.store.dir, 'events')).sort()) {
      for (const line of fs.readFileSync(path.join(q.store.dir, 'events', f), 'utf8').split('\n')) {
        if (!line) continue;
        const e = JSON.parse(line) as { e: string; a: { jobId?: string } };
        if (e.e === 'added' && e.a.jobId) added.add(e.a.jobId);
        if (e.e === 'removed' && e.a.jobId) removed.add(e.a.jobId);
      }
    }
    expect(added.size - removed.size).toBe(ROUNDS);
    // The last add wins, as in BullMQ: no add was resolved to another add's job while that job was
    // being added or held by a replacing add; each made its own job.
    expect(new Set(resolved)).toEqual(added);
    for (const j of jobs) expect(removed.has(j.id!)).toBe(false);
    for (const id of removed) expect(await q.getJob(id)).toBeUndefined();
    // Nothing left held or half added.
    expect(fs.readdirSync(path.join(q.store.dir, 'reclaiming'))).toEqual([]);
  }, 60_000);

  it('extend and replace adds of one id from four processes leave one delayed job, named by the key', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const start = Date.now() + 3000;
    const modes = ['replace', 'extend', 'extend', 'extend'];
    const producers = await Promise.all(modes.map((MODE) => startFixture('debounce-mixer.ts', { SPOOL: spool, START_MS: String(start), ROUNDS: '300', MODE })));
    let out = '';
    for (const p of producers) {
      p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    }
    for (const p of producers) expect(await exited(p, 30_000)).toBe(0);
    const delayed = await q.getJobs(['delayed']);
    const key = JSON.parse(fs.readFileSync(dedupFile(q.store, 'd'), 'utf8')) as { jobId: string };
    const seen = `${out}\ndelayed: ${delayed.map((j) => j.id).join(',')}; key: ${key.jobId}`;
    expect(out.match(/errors \d+/g), seen).toEqual(['errors 0', 'errors 0', 'errors 0', 'errors 0']);
    expect(delayed, seen).toHaveLength(1);
    expect(key.jobId, seen).toBe(delayed[0]!.id);
    expect(fs.readdirSync(path.join(q.store.dir, 'reclaiming'))).toEqual([]);
    expect(fs.readdirSync(path.join(q.store.dir, 'dedup')).filter((n) => !n.endsWith('.json'))).toEqual([]);
  }, 60_000);
});
