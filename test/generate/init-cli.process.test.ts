// `spoolkit init` as a user runs it: a real child process on a real app directory, checking
// stdout, stderr and exit codes (0 written, 1 conflict or drift, 2 usage or detection error).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const repoRoot = join(import.meta.dirname, '../..');
const fixture = join(repoRoot, 'test/fixtures/projects/npm-no-build/input');
let dir: string;

function init(...args: string[]) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'src/cli/main.ts'), 'init', '--dir', dir, ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, LOG_LEVEL: 'info' },
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'spoolkit-init-cli-'));
  cpSync(fixture, dir, { recursive: true });
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('spoolkit init', () => {
  it('writes the files, explains the topology, then reports them identical', () => {
    const first = init();
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^topology: split: web and worker run as separate processes because on Docker Compose/m);
    expect(first.stdout).toMatch(/^create +docker\/Dockerfile$/m);
    expect(first.stdout).toMatch(/^update +package.json$/m);
    expect(existsSync(join(dir, 'compose.yaml'))).toBe(true);

    const second = init();
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^identical +compose.yaml$/m);
    expect(second.stdout).toContain('Everything was up to date.');
  });

  it('exits 1 on a conflict, writes nothing, and says how to resolve it', () => {
    writeFileSync(join(dir, 'Procfile'), 'web: node mine.js\n');
    const run = init();
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^conflict +Procfile$/m);
    expect(run.stdout).toContain('Nothing was written: Procfile already exists with other content');
    expect(existsSync(join(dir, 'compose.yaml'))).toBe(false);
    expect(init('--force').code).toBe(0);
    expect(readFileSync(join(dir, 'Procfile'), 'utf8')).toContain('entrypoint worker');
  });

  it('exits 1 rather than hide an existing docker-compose.yml, and says why', () => {
    writeFileSync(join(dir, 'docker-compose.yml'), 'services:\n  db:\n    image: postgres:16\n');
    const run = init();
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^conflict +compose.yaml$/m);
    expect(run.stdout).toContain('Nothing was written: compose.yaml would hide docker-compose.yml from docker compose.');
    expect(run.stdout).not.toContain('already exists with other content');
  });

  it('exits 1 under --check when a generated file drifted, 0 once regenerated', () => {
    expect(init().code).toBe(0);
    unlinkSync(join(dir, 'Procfile'));
    writeFileSync(join(dir, 'compose.yaml'), 'services: {}\n');
    const check = init('--check');
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/^drifted +compose.yaml$/m);
    expect(check.stdout).toMatch(/^missing +Procfile$/m);
    expect(init('--force').code).toBe(0);
    expect(init('--check').code).toBe(0);
  });

  it('prints a diff under --dry-run --json and writes nothing', () => {
    const run = init('--dry-run', '--json', '--platform', 'fly');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { topology: string; diff: string; files: { path: string; status: string }[] };
    expect(report.topology).toBe('all');
    expect(report.files.map((f) => f.path)).toContain('fly.toml');
    expect(report.diff).toContain('+++ b/fly.toml');
    expect(existsSync(join(dir, 'fly.toml'))).toBe(false);
  });

  it('exits 2 with the reason when a split topology is asked of Heroku', () => {
    const run = init('--platform', 'heroku', '--topology', 'split');
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/split topology cannot work on Heroku.*--force/);
  });

  it('exits 2 when the app has no lockfile, naming the fix', () => {
    unlinkSync(join(dir, 'package-lock.json'));
    const run = init();
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/No lockfile.*npm install/);
  });
});
