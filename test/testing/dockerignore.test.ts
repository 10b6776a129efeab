import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { contextFiles, dockerignoreFilter } from '../../src/testing/dockerignore.js';

describe('dockerignoreFilter', () => {
  const f = dockerignoreFilter(['# comment', 'node_modules', '/dist/', '**/*.log', 'docs/*.md', '!docs/keep.md', '.spool', 'a?c'].join('\n'));
  it('excludes matches and everything beneath a matching directory', () => {
    expect(f('node_modules')).toBe(true);
    expect(f('node_modules/x/index.js')).toBe(true);
    expect(f('dist/index.js')).toBe(true);
    expect(f('src/dist.ts')).toBe(false);
    expect(f('.spool/queues/q/1.json')).toBe(true);
  });
  it('supports ** across directories, single-segment * and ?', () => {
    expect(f('a.log')).toBe(true);
    expect(f('deep/er/b.log')).toBe(true);
    expect(f('docs/readme.md')).toBe(true);
    expect(f('docs/sub/readme.md')).toBe(false);
    expect(f('abc')).toBe(true);
    expect(f('abbc')).toBe(false);
  });
  it('lets a later ! pattern re-include a file', () => {
    expect(f('docs/keep.md')).toBe(false);
  });
});

describe('contextFiles', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('lists the context after .dockerignore and always keeps the Dockerfile', () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'spoolkit-ctx-'));
    for (const d of ['docker', 'src', 'node_modules/pkg', 'logs']) mkdirSync(path.join(dir, d), { recursive: true });
    for (const file of ['docker/Dockerfile', 'src/a.ts', 'node_modules/pkg/index.js', 'logs/x.log', 'logs/keep.txt', 'package.json']) writeFileSync(path.join(dir, file), 'x');
    writeFileSync(path.join(dir, '.dockerignore'), 'node_modules\ndocker\nlogs\n!logs/keep.txt\n');
    return contextFiles(dir, 'docker/Dockerfile').then((files) => {
      expect(files).toEqual(['.dockerignore', 'docker/Dockerfile', 'logs/keep.txt', 'package.json', 'src/a.ts']);
    });
  });
});
