/**
 * An obliterate renames the queue's directory aside and deletes it from there. A process killed
 * while it deletes leaves the old queue's files in `queues/.trash-*`; an idle Worker of the spool
 * deletes them once they are old enough that no obliterate can still be at work on them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Queue, Worker } from '../../src/index.js';
import { OBLITERATE_TRASH_SETTLE_MS } from '../../src/spool/obliterate-leftovers.js';
import { tmpSpool, track, waitFor } from '../fixtures/core/helpers.js';
import { exited, startFixture } from '../fixtures/core/procs.js';

describe('an obliterate killed midway', () => {
  it('leaves the old queue in queues/.trash-*, and an idle Worker of another queue deletes it once settled, not before', async () => {
    const spool = tmpSpool();
    const go = path.join(spool, 'go');
    const queues = path.join(spool, 'queues');
    const child = await startFixture('obliterator.ts', { SPOOL: spool, N: '30000', GO: go }, 60_000);
    const leftovers = (): string[] => fs.readdirSync(queues).filter((n) => n.startsWith('.trash-'));
    fs.writeFileSync(go, '');
    const deadline = Date.now() + 20_000;
    while (leftovers().length === 0 && Date.now() < deadline && child.exitCode === null) {
      /* looking as fast as it can: the delete takes a fraction of a second */
    }
    child.kill('SIGKILL');
    await exited(child);
    const [trash] = leftovers();
    expect(trash, 'the obliterate was killed while it deleted').toBeDefined();
    const count = (dir: string): number => fs.readdirSync(dir, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? count(path.join(dir, e.name)) : 1), 0);
    expect(count(path.join(queues, trash!))).toBeGreaterThan(100);

    // A fresh leftover may still be in the hands of its obliterate: kept. An old one is deleted.
    const worker = track(new Worker('other', async () => 'ok', { spool }));
    const other = track(new Queue('other', { spool }));
    await other.add('x', {});
    await waitFor(async () => (await other.getJobCounts('completed')).completed === 1, 5000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(leftovers()).toEqual([trash]);

    const m = /^(.*-)(\d+)$/.exec(trash!)!;
    const old = `${m[1]}${Number(m[2]) - OBLITERATE_TRASH_SETTLE_MS - 1000}`;
    fs.renameSync(path.join(queues, trash!), path.join(queues, old));
    const staging = path.join(queues, `.new-q-1-${Date.now() - 120_000}`);
    fs.mkdirSync(path.join(staging, 'events'), { recursive: true });
    // The killed obliterate may have made its new directory of q too (fresh, so kept for now):
    // aged like the trash, it goes as well.
    for (const n of fs.readdirSync(queues).filter((e) => /^\.new-q-\d+-\d+$/.test(e) && e !== path.basename(staging))) {
      const [, pid] = /^\.new-q-(\d+)-/.exec(n)!;
      fs.renameSync(path.join(queues, n), path.join(queues, `.new-q-${pid}-${Date.now() - 120_000}`));
    }
    // The Worker looks again a minute after its first look; a new Worker looks at once.
    await worker.close();
    track(new Worker('other', async () => 'ok', { spool }));
    await waitFor(() => leftovers().length === 0 && !fs.existsSync(staging), 20_000, 'leftovers deleted');
    // Nothing else is left (the killed obliterate may not have made the new directory of q yet).
    expect(fs.readdirSync(queues).filter((n) => n.startsWith('.'))).toEqual([]);
  }, 90_000);
});
