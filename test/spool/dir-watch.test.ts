import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DirWatch } from '../../src/spool/dir-watch.js';
import { sleep, tmpSpool, waitFor } from '../fixtures/core/helpers.js';

describe('DirWatch', () => {
  it('follows a directory replaced under its name', async () => {
    const dir = path.join(tmpSpool(), 'events');
    fs.mkdirSync(dir, { recursive: true });
    const changes: string[] = [];
    const watch = new DirWatch(dir, (file) => changes.push(file ?? '?'));
    watch.check();
    expect(watch.armed).toBe(true);
    fs.renameSync(dir, `${dir}.old`);
    fs.mkdirSync(dir);
    fs.rmSync(`${dir}.old`, { recursive: true });
    await sleep(50);
    watch.check();
    fs.writeFileSync(path.join(dir, 'new-file'), 'x');
    await waitFor(() => changes.includes('new-file'), 2000, 'a change in the new directory is reported');
    watch.close();
  });

  it('stays closed: a check scheduled by a change just before close arms nothing', async () => {
    const dir = path.join(tmpSpool(), 'events');
    fs.mkdirSync(dir, { recursive: true });
    const watch = new DirWatch(dir, () => {
      // Closed from the change callback, while the watch's own look at the directory is scheduled.
      watch.close();
    });
    watch.check();
    fs.writeFileSync(path.join(dir, 'a-name'), 'x');
    await waitFor(() => !watch.armed, 2000, 'closed');
    await sleep(50);
    expect(watch.armed).toBe(false);
    watch.check();
    expect(watch.armed).toBe(false);
  });
});
