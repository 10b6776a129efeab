// Every file the generator writes, for every golden case and for this repository, is valid in its
// own format: strict YAML, the compose-spec schema, docker compose config (when Docker Compose is
// here), a Dockerfile linter, shellcheck on RUN lines, TOML, JSON, Procfile and unit syntax.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInit, type PlannedFile } from '../../src/generate/index.js';
import {
  composeSchemaProblems,
  dockerfileProblems,
  haveDockerCompose,
  installShellcheck,
  procfileProblems,
  runCommands,
  shellcheckProblems,
  tomlProblems,
  unitProblems,
  yamlProblems,
} from './validate-helpers.js';

const repoRoot = join(import.meta.dirname, '../..');
const casesDir = join(repoRoot, 'test/fixtures/projects');
const apps: { name: string; dir: string }[] = [
  ...readdirSync(casesDir)
    .filter((n) => statSync(join(casesDir, n)).isDirectory())
    .sort()
    .map((n) => ({ name: n, dir: join(casesDir, n, 'input') })),
  { name: 'repository', dir: repoRoot },
];

const generated = new Map<string, PlannedFile[]>();
let shellcheckMissing: string | undefined;
const composeAvailable = haveDockerCompose();
const tempDirs: string[] = [];

beforeAll(async () => {
  for (const app of apps) generated.set(app.name, (await runInit(app.dir, { mode: 'dry-run' })).files.filter((f) => f.path !== 'package.json'));
  shellcheckMissing = installShellcheck();
  if (shellcheckMissing) console.warn(`skipping shellcheck: ${shellcheckMissing}`);
  if (!composeAvailable) console.warn('skipping docker compose config: docker compose (v2) is not installed here');
}, 300_000);

afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

function filesOf(app: string, test: (path: string) => boolean): PlannedFile[] {
  return (generated.get(app) ?? []).filter((f) => test(f.path));
}

describe.each(apps.map((a) => a.name))('%s', (app) => {
  it('writes YAML that parses strictly, with no duplicate keys', () => {
    const yamlFiles = filesOf(app, (p) => p.endsWith('.yaml') || p.endsWith('.yml'));
    expect(yamlFiles.length).toBeGreaterThan(0);
    for (const f of yamlFiles) expect(yamlProblems(f.content), f.path).toEqual([]);
  });

  it('writes a compose file the compose-spec schema accepts', () => {
    const [compose] = filesOf(app, (p) => p === 'compose.yaml');
    expect(compose).toBeDefined();
    expect(composeSchemaProblems(compose?.content ?? '')).toEqual([]);
  });

  it.skipIf(!composeAvailable)('writes a compose file docker compose config accepts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spoolkit-compose-'));
    tempDirs.push(dir);
    const appDir = apps.find((a) => a.name === app)?.dir as string;
    if (app !== 'repository') cpSync(appDir, dir, { recursive: true });
    for (const f of generated.get(app) ?? []) {
      mkdirSync(dirname(join(dir, f.path)), { recursive: true });
      writeFileSync(join(dir, f.path), f.content);
    }
    const run = spawnSync('docker', ['compose', '-f', join(dir, 'compose.yaml'), 'config', '--quiet'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('writes a Dockerfile the linter finds nothing wrong with', () => {
    const [dockerfile] = filesOf(app, (p) => p === 'docker/Dockerfile');
    expect(dockerfile).toBeDefined();
    expect(dockerfileProblems(dockerfile?.content ?? '')).toEqual([]);
  });

  it('writes RUN commands that pass shellcheck', (ctx) => {
    if (shellcheckMissing) ctx.skip();
    const [dockerfile] = filesOf(app, (p) => p === 'docker/Dockerfile');
    const commands = runCommands(dockerfile?.content ?? '');
    expect(commands.length).toBeGreaterThan(0);
    expect(shellcheckProblems(commands)).toEqual([]);
  });

  it('writes a Procfile, manifests and units in their own syntax', () => {
    for (const f of generated.get(app) ?? []) {
      if (f.path === 'Procfile') expect(procfileProblems(f.content), f.path).toEqual([]);
      if (f.path.endsWith('.toml')) expect(tomlProblems(f.content), f.path).toEqual([]);
      if (f.path.endsWith('.json')) expect(() => JSON.parse(f.content), f.path).not.toThrow();
      if (f.path.endsWith('.service') || f.path.endsWith('.target')) expect(unitProblems(f.content), f.path).toEqual([]);
    }
  });
});

describe('the validators', () => {
  it('report broken input, so a passing check means something', () => {
    expect(yamlProblems('a: 1\na: 2\n')).not.toEqual([]);
    expect(composeSchemaProblems('services:\n  web:\n    stop_grace: 30s\n')).not.toEqual([]);
    expect(dockerfileProblems('FROM\nCMD ["node"\n')).not.toEqual([]);
    expect(tomlProblems('a = \n')).not.toEqual([]);
    expect(procfileProblems('web node server.js\n')).not.toEqual([]);
    expect(unitProblems('[Service]\nnot a setting\n')).not.toEqual([]);
    expect(runCommands('RUN a \\\n && b\nRUN ["x"]\nRUN --mount=type=cache,target=/c c\n')).toEqual(['a && b', 'c']);
  });

  it('shellcheck reports an unquoted variable', (ctx) => {
    if (shellcheckMissing) ctx.skip();
    expect(shellcheckProblems(['rm -rf $DIR/x'])).not.toEqual([]);
  });
});
