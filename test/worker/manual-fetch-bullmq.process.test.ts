/**
 * Manual fetching side by side with BullMQ 6: the same calls (`getNextJob`, `moveToCompleted`,
 * `moveToFailed`, a wrong token, `extendLock`) on a private redis-server and on a spool must give
 * the same jobs in the same order, the same job fields and the same errors (BullMQ's message
 * first; spoolkit adds a hint after it).
 *
 * Without redis-server (SPOOLKIT_DIFF_LIVE_BULLMQ=0, or it cannot start) the result recorded in
 * golden/manual-fetch.bullmq.json is used; with it, the recording is checked to be still BullMQ's.
 * Re-record with SPOOLKIT_RECORD_MANUAL=1.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useLiveRedis } from '../fixtures/core/live-redis.js';
import { tmpSpool } from '../fixtures/core/helpers.js';

const GOLDEN = path.join(import.meta.dirname, 'golden', 'manual-fetch.bullmq.json');
const TOKEN = 'tok';

/* eslint-disable @typescript-eslint/no-explicit-any */
interface Lib {
  Queue: any;
  Worker: any;
}

/** The calls, and what an application observes of them. */
async function play(lib: Lib, opts: Record<string, unknown>): Promise<unknown> {
  const q = new lib.Queue('manual', opts);
  const w = new lib.Worker('manual', null, { ...opts, drainDelay: 1 });
  const log: unknown[] = [];
  const error = async (p: Promise<unknown>): Promise<string> => {
    const err = await p.then(() => undefined, (e: unknown) => e);
    return err instanceof Error ? err.message : `no error (${String(err)})`;
  };
  try {
    await q.add('a', { n: 1 });
    await q.add('b', { n: 2 }, { attempts: 2 });
    await q.add('c', { n: 3 }, { attempts: 1 });
    await q.add('d', { n: 4 });
    const fetched = async () => {
      const job = await w.getNextJob(TOKEN, { block: false });
      log.push(job ? `fetched ${job.name} started ${job.attemptsStarted} made ${job.attemptsMade} token ${job.token}` : 'fetched nothing');
      return job;
    };
    const a = await fetched();
    await a.updateProgress(30);
    log.push(['a state', await a.getState()]);
    log.push(['wrong token', await error(a.moveToCompleted('x', 'other', false))]);
    log.push(['extendLock wrong', await a.extendLock('other', 5000)]);
    await a.moveToCompleted({ ok: true }, TOKEN, false);
    log.push(['a after', a.returnvalue, a.attemptsMade, a.finishedOn > 0]);
    log.push(['a again', await error(a.moveToCompleted('again', TOKEN, false))]);
    const b = await fetched();
    await b.moveToFailed(new Error('b broke'), TOKEN, false);
    log.push(['b after', b.attemptsMade, b.failedReason, await b.getState()]);
    const c = await fetched();
    await c.moveToFailed(new Error('c broke'), TOKEN, false);
    log.push(['c after', c.attemptsMade, c.failedReason, await c.getState()]);
    for (let i = 0; i < 3; i++) {
      const next = await fetched();
      if (!next) break;
      await next.moveToCompleted(`done ${next.name}`, TOKEN, false);
    }
    for (const id of ['1', '2', '3', '4']) {
      const j = await q.getJob(id);
      log.push([id, j.name, await j.getState(), j.attemptsMade, j.attemptsStarted, j.returnvalue, j.failedReason ?? null, j.progress, j.stacktrace?.length ?? 0]);
    }
    log.push(['counts', await q.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed')]);
  } finally {
    await w.close();
    await q.obliterate({ force: true }).catch(() => undefined);
    await q.close();
  }
  return log;
}

const live = useLiveRedis('manual-fetch', GOLDEN);

describe('manual fetching as BullMQ does it', () => {
  it('the same calls give the same jobs, fields and errors', async () => {
    const recorded = fs.existsSync(GOLDEN) ? (JSON.parse(fs.readFileSync(GOLDEN, 'utf8')) as unknown) : undefined;
    let expected: unknown;
    if (live.redis) {
      const bull = (await import('bullmq')) as unknown as Lib;
      expected = await play(bull, { connection: { host: '127.0.0.1', port: live.redis.port } });
      if (process.env.SPOOLKIT_RECORD_MANUAL === '1') {
        fs.mkdirSync(path.dirname(GOLDEN), { recursive: true });
        fs.writeFileSync(GOLDEN, JSON.stringify(expected, null, 1) + '\n');
      } else expect(recorded, "the recording is still live BullMQ's (re-record with SPOOLKIT_RECORD_MANUAL=1)").toEqual(expected);
    } else {
      if (!recorded) throw new Error(`no recorded result in ${GOLDEN} and no redis-server (${live.unavailable})`);
      expected = recorded;
    }
    const spoolkit = (await import('../../src/index.js')) as unknown as Lib;
    const actual = (await play(spoolkit, { spool: tmpSpool() })) as unknown[];
    // spoolkit's errors begin with BullMQ's message and add a hint after it.
    const exp = expected as unknown[];
    const normalized = actual.map((entry, i) => {
      const want = exp[i];
      if (Array.isArray(entry) && Array.isArray(want) && typeof entry[1] === 'string' && typeof want[1] === 'string' && want[1] !== entry[1] && entry[1].startsWith(want[1].replace(/\.$/, ''))) {
        return [entry[0], want[1], ...entry.slice(2)];
      }
      return entry;
    });
    expect(normalized).toEqual(expected);
  }, 60_000);
});
