import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue, Worker } from '../../src/index.js';
import { removeLogs } from '../../src/spool/finish.js';
import { once, tmpSpool, track } from '../fixtures/core/helpers.js';

describe('removeLogs', () => {
  it('removes a log file that exists and does nothing (no throw) when there is none, or no logs/ at all', async () => {
    const q = track(new Queue('q', { spool: tmpSpool() }));
    const logsDir = path.join(q.store.dir, 'logs');
    fs.rmSync(logsDir, { recursive: true, force: true });
    expect(() => removeLogs(q.store, '1')).not.toThrow();
    expect(fs.existsSync(logsDir)).toBe(false);
    const job = await q.add('x', {});
    await job.log('row');
    const file = path.join(logsDir, `${job.id}.jsonl`);
    expect(fs.existsSync(file)).toBe(true);
    removeLogs(q.store, 'no-such-job');
    expect(fs.existsSync(file)).toBe(true);
    removeLogs(q.store, job.id!);
    expect(fs.existsSync(file)).toBe(false);
    expect(() => removeLogs(q.store, job.id!)).not.toThrow();
  });

  it('a removeOnComplete: true run removes the log rows its job wrote, and leaves no logs/ for jobs that wrote none', async () => {
    const spool = tmpSpool();
    const q = track(new Queue('q', { spool }));
    const logged = await q.add('x', { log: true });
    const bare = await q.add('x', { log: false });
    const w = track(
      new Worker(
        'q',
        async (job) => {
          if ((job.data as { log: boolean }).log) await job.log('working');
        },
        { spool, removeOnComplete: true, autorun: false },
      ),
    );
    const done = new Set<string>();
    const all = new Promise<void>((resolve) =>
      w.on('completed', (job) => {
        done.add(job.id!);
        if (done.size === 2) resolve();
      }),
    );
    void w.run();
    await all;
    await once(w, 'drained');
    expect(await q.getJob(logged.id!)).toBeUndefined();
    expect(await q.getJob(bare.id!)).toBeUndefined();
    expect(fs.readdirSync(path.join(q.store.dir, 'logs'))).toEqual([]);
  });
});
