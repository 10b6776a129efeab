import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hasSchedulers, schedulersDirOf } from '../../src/scheduler/presence.js';
import { queuesWithSchedulers } from '../../src/scheduler/loop.js';

describe('hasSchedulers', () => {
  it('is true only for a schedulers directory, and queuesWithSchedulers lists exactly those queues', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'spoolkit-presence-'));
    const dir = (name: string) => path.join(root, 'queues', name);
    for (const name of ['none', 'file', 'yes', '.trash-yes']) fs.mkdirSync(dir(name), { recursive: true });
    fs.writeFileSync(schedulersDirOf(dir('file')), 'not a directory');
    fs.mkdirSync(schedulersDirOf(dir('yes')));
    fs.mkdirSync(schedulersDirOf(dir('.trash-yes')));
    expect(hasSchedulers(dir('none'))).toBe(false);
    expect(hasSchedulers(dir('file'))).toBe(false);
    expect(hasSchedulers(dir('missing'))).toBe(false);
    expect(hasSchedulers(dir('yes'))).toBe(true);
    expect(queuesWithSchedulers(root)).toEqual(['yes']);
    fs.rmSync(root, { recursive: true, force: true });
  });
});
