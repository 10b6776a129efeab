// @ts-check
// The raw filesystem ceiling: what Node's synchronous fs calls can do with small files on this
// disk, with no queue logic at all. Three shapes:
// - enqueue: write a temp file, rename it into wait/ (optionally fsync file and directory)
// - drain:   rename wait/x to active/x, read it, unlink it (one or more processes racing)
// - cycle:   both, one job at a time (write+rename+rename+read+unlink)
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { forkReady, childMain } from '../lib/child.mjs';
import { freshDir, removeDir, retireDir, settle } from '../lib/settle.mjs';
import { nowNs, perSecond } from '../lib/stats.mjs';

const PAYLOAD = JSON.stringify({ name: 'noop', data: { i: 0 }, opts: {}, timestamp: 0 });
const self = fileURLToPath(import.meta.url);

function writeJob(dir, name, fsync, dirFd) {
  const tmp = join(dir, 'tmp', `${name}.tmp`);
  const fd = openSync(tmp, 'w', 0o640);
  writeSync(fd, PAYLOAD);
  if (fsync) fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, join(dir, 'wait', name));
  if (fsync) fsyncSync(dirFd);
}

function layout(dir) {
  for (const d of ['tmp', 'wait', 'active']) mkdirSync(join(dir, d), { recursive: true });
  return openSync(join(dir, 'wait'), 'r');
}

function drainList(dir, names, start) {
  let won = 0;
  for (let k = 0; k < names.length; k++) {
    const name = names[(start + k) % names.length];
    const active = join(dir, 'active', `${name}.${process.pid}`);
    try {
      renameSync(join(dir, 'wait', name), active);
    } catch (err) {
      if (/** @type {NodeJS.ErrnoException} */ (err).code === 'ENOENT') continue; // another process won
      throw err;
    }
    readFileSync(active);
    unlinkSync(active);
    won++;
  }
  return won;
}

/** Creates and then deletes `count` small files in a scratch directory (the disturbance). */
function churn(base, count) {
  const dir = freshDir(base, 'churn');
  for (let i = 0; i < count; i++) {
    const fd = openSync(join(dir, String(i)), 'w');
    writeSync(fd, PAYLOAD);
    closeSync(fd);
  }
  removeDir(dir);
}

/**
 * `afterDeletes` creates and deletes that many files just before the timed part; with
 * `settleAfterDeletes: false` the timed part starts right away, otherwise after `settle()`.
 * @param {{ shape: 'enqueue' | 'drain' | 'cycle'; n: number; fsync?: boolean; procs?: number; base: string; settleMs?: number; afterDeletes?: number; settleAfterDeletes?: boolean }} p
 */
export async function run(p) {
  const dir = freshDir(p.base, `raw-${p.shape}`);
  const dirFd = layout(dir);
  try {
    if (p.shape === 'enqueue' || p.shape === 'cycle') {
      /** @type {import('../lib/settle.mjs').SettleReport | null} */
      let settled = await settle(p);
      if (p.afterDeletes) {
        churn(p.base, p.afterDeletes);
        settled = p.settleAfterDeletes === false ? null : await settle(p);
      }
      const t0 = nowNs();
      for (let i = 0; i < p.n; i++) {
        const name = `${String(i).padStart(10, '0')}.json`;
        writeJob(dir, name, Boolean(p.fsync), dirFd);
        if (p.shape === 'cycle') drainList(dir, [name], 0);
      }
      return { opsPerSec: perSecond(p.n, nowNs() - t0), n: p.n, settled };
    }
    // drain: prefill (untimed), then one or more processes race over the same names.
    for (let i = 0; i < p.n; i++) writeJob(dir, `${String(i).padStart(10, '0')}.json`, false, dirFd);
    await settle(p);
    const procs = p.procs ?? 1;
    if (procs === 1) {
      const t0 = nowNs();
      const names = readdirSync(join(dir, 'wait'));
      const won = drainList(dir, names, 0);
      return { opsPerSec: perSecond(won, nowNs() - t0), n: won, procs };
    }
    const kids = await Promise.all(Array.from({ length: procs }, () => forkReady(self, ['--child'])));
    const t0 = nowNs();
    kids.forEach((k, i) => k.send({ type: 'go', dir, part: i, parts: procs }));
    const results = await Promise.all(kids.map((k) => k.next((m) => m.type === 'done')));
    const elapsed = nowNs() - t0;
    await Promise.all(kids.map((k) => k.stop()));
    const won = results.reduce((s, r) => s + r.won, 0);
    return { opsPerSec: perSecond(won, elapsed), n: won, procs };
  } finally {
    closeSync(dirFd);
    retireDir(dir);
  }
}

if (process.argv.includes('--child')) {
  childMain((msg) => {
    if (msg.type === 'go') {
      const names = readdirSync(join(msg.dir, 'wait'));
      const won = drainList(msg.dir, names, Math.floor((names.length * msg.part) / msg.parts));
      process.send?.({ type: 'done', won });
    } else if (msg.type === 'stop') {
      process.disconnect?.();
    }
  });
}
