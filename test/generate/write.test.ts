// spoolkit init on a real directory: files are created once, reported identical on a re-run,
// never overwritten on conflict (and then nothing at all is written), overwritten with force,
// kept with skip; options are saved in package.json so a re-run reproduces the output.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readProject, runInit, unifiedDiff } from '../../src/generate/index.js';

const fixture = join(import.meta.dirname, '../fixtures/projects/npm-no-build/input');
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'spoolkit-init-'));
  cpSync(fixture, dir, { recursive: true });
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const statuses = (r: Awaited<ReturnType<typeof runInit>>) => Object.fromEntries(r.files.map((f) => [f.path, f.status]));

describe('runInit', () => {
  it('creates the files, saves the detected commands, and is idempotent', async () => {
    const first = await runInit(dir);
    expect(first.ok).toBe(true);
    expect(statuses(first)).toEqual({
      'docker/Dockerfile': 'created',
      '.dockerignore': 'created',
      'compose.yaml': 'created',
      Procfile: 'created',
      'package.json': 'updated',
    });
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { spoolkit: unknown };
    expect(pkg.spoolkit).toEqual({ processors: 'processors.js', web: 'node server.js' });

    const second = await runInit(dir);
    expect(second.written).toEqual([]);
    expect(new Set(Object.values(statuses(second)))).toEqual(new Set(['identical']));
    expect((await runInit(dir, { mode: 'check' })).ok).toBe(true);
  });

  it('writes nothing when a file conflicts, and reports which', async () => {
    writeFileSync(join(dir, 'Procfile'), 'web: node my-own-server.js\n');
    const result = await runInit(dir);
    expect(result.ok).toBe(false);
    expect(result.conflicts).toEqual(['Procfile']);
    expect(result.written).toEqual([]);
    expect(existsSync(join(dir, 'compose.yaml'))).toBe(false);
    expect(readFileSync(join(dir, 'Procfile'), 'utf8')).toBe('web: node my-own-server.js\n');
  });

  it.each(['docker-compose.yml', 'docker-compose.yaml', 'compose.yml'])('does not silently hide an existing %s behind a new compose.yaml', async (existing) => {
    writeFileSync(join(dir, existing), 'services:\n  db:\n    image: postgres:16\n');
    const result = await runInit(dir);
    expect(result.ok).toBe(false);
    expect(result.conflicts).toEqual(['compose.yaml']);
    expect(result.written).toEqual([]);
    expect(result.model.notes.some((n) => n.startsWith(`compose: ${existing} already exists`))).toBe(true);
    expect(existsSync(join(dir, 'compose.yaml'))).toBe(false);
    const skipped = await runInit(dir, { skip: true });
    expect(statuses(skipped)['compose.yaml']).toBe('skipped');
    expect(existsSync(join(dir, 'compose.yaml'))).toBe(false);
    expect(existsSync(join(dir, 'Procfile'))).toBe(true);
    const forced = await runInit(dir, { force: true });
    expect(statuses(forced)['compose.yaml']).toBe('created');
    expect(existsSync(join(dir, 'compose.yaml'))).toBe(true);
    expect(readFileSync(join(dir, existing), 'utf8')).toContain('postgres:16');
  });

  it('finds the workspace root above an app that is a workspace package', async () => {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'root', private: true, workspaces: ['packages/*'] }));
    const app = join(dir, 'packages/api');
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'api', dependencies: { spoolkit: '1' }, scripts: { start: 'node server.js' } }));
    writeFileSync(join(app, 'processors.js'), '');
    expect((await readProject(app)).workspaceRoot).toBe('../..');
    expect((await readProject(dir)).workspaceRoot).toBeUndefined();
    await expect(runInit(app)).rejects.toThrow(/run spoolkit init in \.\.\/\.\./);
  });

  it('overwrites a conflicting file only with force, and keeps it with skip', async () => {
    writeFileSync(join(dir, 'Procfile'), 'web: node my-own-server.js\n');
    const skipped = await runInit(dir, { skip: true });
    expect(statuses(skipped).Procfile).toBe('skipped');
    expect(readFileSync(join(dir, 'Procfile'), 'utf8')).toBe('web: node my-own-server.js\n');
    expect(existsSync(join(dir, 'compose.yaml'))).toBe(true);

    const forced = await runInit(dir, { force: true });
    expect(statuses(forced).Procfile).toBe('overwritten');
    expect(readFileSync(join(dir, 'Procfile'), 'utf8')).toContain('web: node node_modules/spoolkit/dist/cli/main.js entrypoint web');
  });

  it('treats a CRLF checkout of the same file as identical', async () => {
    await runInit(dir);
    const path = join(dir, 'compose.yaml');
    writeFileSync(path, readFileSync(path, 'utf8').replace(/\n/g, '\r\n'));
    expect(statuses(await runInit(dir))['compose.yaml']).toBe('identical');
  });

  it('saves given options so that a re-run without them reproduces the files', async () => {
    await runInit(dir, { options: { workers: 5, platform: 'dokku' } });
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { spoolkit: { init: unknown } };
    expect(pkg.spoolkit.init).toEqual({ platform: 'dokku', workers: 5 });
    expect(readFileSync(join(dir, 'compose.yaml'), 'utf8')).toContain('replicas: 5');
    const again = await runInit(dir, { mode: 'check' });
    expect(again.ok).toBe(true);
    expect(again.files.map((f) => f.path)).toContain('app.json');
  });

  it('reports drift under check and shows it under dry-run without writing', async () => {
    await runInit(dir);
    writeFileSync(join(dir, 'compose.yaml'), 'services: {}\n');
    const check = await runInit(dir, { mode: 'check' });
    expect(check.ok).toBe(false);
    expect(check.drifted).toEqual(['compose.yaml']);
    const preview = await runInit(dir, { mode: 'dry-run', options: { workers: 3 } });
    expect(preview.diff).toContain('--- a/compose.yaml');
    expect(preview.diff).toContain('+      replicas: 3');
    expect(readFileSync(join(dir, 'compose.yaml'), 'utf8')).toBe('services: {}\n');
    expect(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).spoolkit.init).toBeUndefined();
  });
});

describe('unifiedDiff', () => {
  it('is empty for equal texts and shows a new file against /dev/null', () => {
    expect(unifiedDiff('a', 'x\n', 'x\n')).toBe('');
    expect(unifiedDiff('a', null, 'x\ny\n')).toBe('--- /dev/null\n+++ b/a\n@@ -0,0 +1,2 @@\n+x\n+y\n');
  });

  it('gives hunks with context and correct line numbers', () => {
    const before = Array.from({ length: 20 }, (_v, i) => `line ${i + 1}`).join('\n') + '\n';
    const after = before.replace('line 10\n', 'line ten\n');
    expect(unifiedDiff('f', before, after)).toBe(
      '--- a/f\n+++ b/f\n@@ -7,7 +7,7 @@\n line 7\n line 8\n line 9\n-line 10\n+line ten\n line 11\n line 12\n line 13\n',
    );
  });
});
