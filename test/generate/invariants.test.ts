// Rules every generated stack keeps, checked on the output of every golden case and of this
// repository (what a Dockerfile linter like hadolint and a careful reviewer would check):
// non-root, exec form, tini, no npm in the signal path, a health check everywhere, the spool
// volume on every service, a stop grace period above the shutdown timeout.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { runInit, type InitResult } from '../../src/generate/index.js';
import { CREATE_SPOOL } from '../../src/generate/templates/procfile.js';

const repoRoot = join(import.meta.dirname, '../..');
const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const casesDir = join(repoRoot, 'test/fixtures/projects');
const apps = [
  ...readdirSync(casesDir)
    .filter((n) => statSync(join(casesDir, n)).isDirectory())
    .sort()
    .map((n) => ({ name: n, dir: join(casesDir, n, 'input') })),
  { name: 'repository', dir: repoRoot },
];
const results = new Map<string, InitResult>();

beforeAll(async () => {
  for (const app of apps) results.set(app.name, await runInit(app.dir, { mode: 'dry-run' }));
});

function file(app: string, path: string): string {
  const f = results.get(app)?.files.find((x) => x.path === path);
  if (!f) throw new Error(`${app} has no ${path}`);
  return f.content;
}

interface ComposeService {
  init?: boolean;
  build?: { target?: string; dockerfile?: string; network?: string };
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test?: string[]; disable?: boolean };
  stop_grace_period?: string;
  container_name?: string;
  restart?: string;
  command?: string[];
}

describe.each(apps.map((a) => a.name))('%s', (app) => {
  it('builds a Dockerfile that runs as a non-root user, exec form, under tini, without npm', () => {
    const text = file(app, 'docker/Dockerfile');
    const doc = DockerfileParser.parse(text);
    const ins = doc.getInstructions();
    const keyword = (k: string) => ins.filter((i) => i.getKeyword() === k);
    expect(text).not.toMatch(/^#\s*syntax=/m);
    const cacheMounts = results.get(app)?.model.options.cacheMounts === true;
    if (!cacheMounts) expect(text).not.toContain('--mount=');
    // A mount flag belongs to RUN, never inside a command chain.
    for (const line of text.split('\n').filter((l) => l.includes('--mount='))) expect(line).toMatch(/^RUN --mount=/);
    // Package programs are on PATH; the shutdown timeout is left to where the stop timeout is set.
    expect(text).toMatch(/^\s*PATH=\/app\/node_modules\/\.bin:\$PATH$/m);
    expect(text).not.toContain('SPOOLKIT_SHUTDOWN_TIMEOUT_MS=');
    // The installs run dependencies' install scripts (yarn 1's prune is a second install of what is there).
    const prune = results.get(app)?.model.packageManager.prune ?? '';
    expect(text.split(prune).join('')).not.toMatch(/^RUN .*--ignore-scripts/m);

    const users = keyword('USER');
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)?.getArgumentsContent()).not.toMatch(/^(root|0)(:|$)/);

    const [entrypoint] = keyword('ENTRYPOINT');
    const argv = JSON.parse(entrypoint?.getArgumentsContent() ?? 'null') as string[];
    expect(argv.slice(0, 4)).toEqual(['/usr/bin/tini', '-s', '--', 'node']);
    expect(argv.at(-1)).toBe('entrypoint');
    expect(argv.join(' ')).not.toMatch(/\b(npm|yarn|pnpm|sh)\b/);

    const [health] = keyword('HEALTHCHECK');
    expect(health?.getArgumentsContent()).toMatch(/CMD \["node", "[^"]+", "health"\]$/);
    expect(keyword('CMD')).toEqual([]);
    expect(keyword('VOLUME')).toEqual([]);
    expect(keyword('ADD')).toEqual([]);

    for (const run of keyword('RUN')) {
      const body = run.getArgumentsContent() ?? '';
      if (body.includes('apt-get install')) {
        expect(body).toContain('--no-install-recommends');
        expect(body).toContain('rm -rf /var/lib/apt/lists/*');
      }
    }

    // Every COPY --from names an earlier stage; the role targets exist and the last one is the default.
    const stages = doc.getFROMs().map((f) => f.getBuildStage());
    for (const copy of keyword('COPY')) {
      const from = /--from=(\S+)/.exec(copy.getArgumentsContent() ?? '')?.[1];
      if (from !== undefined) expect(stages).toContain(from);
    }
    expect(stages).toContain('web');
    expect(stages).toContain('worker');
    expect(stages.at(-1)).toBe(results.get(app)?.model.topology.topology === 'all' ? 'all' : 'web');

    // The spool directory is created and handed to the app user before USER.
    const spoolDir = results.get(app)?.model.paths.spoolDir as string;
    const chownAt = text.indexOf(`chown "$APP_UID:$APP_GID" ${spoolDir}`);
    expect(chownAt).toBeGreaterThan(0);
    expect(chownAt).toBeLessThan(text.indexOf('\nUSER '));
  });

  it('composes services that share the spool volume, each with init and a health check', () => {
    const compose = parseYaml(file(app, 'compose.yaml')) as { services: Record<string, ComposeService>; volumes: Record<string, unknown>; version?: unknown };
    const model = results.get(app)?.model;
    const spool = model?.paths.spoolDir as string;
    expect(compose.version).toBeUndefined();
    expect(Object.keys(compose.volumes)).toEqual(['spool']);
    for (const [name, svc] of Object.entries(compose.services)) {
      expect(svc.init, name).toBe(true);
      expect(svc.volumes, name).toContain(`spool:${spool}`);
      expect(svc.container_name, name).toBeUndefined();
      expect(svc.build?.network, name).toBeUndefined();
      expect(svc.build?.dockerfile, name).toBe('docker/Dockerfile');
      if (name === 'release') {
        expect(svc.healthcheck?.disable).toBe(true);
        continue;
      }
      expect(svc.healthcheck?.test?.slice(-1), name).toEqual(['health']);
      expect(svc.environment?.SPOOLKIT_ROLE, name).toBeDefined();
      expect(svc.environment?.SPOOLKIT_SPOOL, name).toBe(spool);
      expect(svc.restart, name).toBe('unless-stopped');
      const role = svc.environment?.SPOOLKIT_ROLE;
      if (role === 'worker' || role === 'all') {
        const graceSeconds = Number(/^(\d+)s$/.exec(svc.stop_grace_period ?? '')?.[1]);
        expect(graceSeconds * 1000, name).toBeGreaterThan(Number(svc.environment?.SPOOLKIT_SHUTDOWN_TIMEOUT_MS));
      }
      if (role === 'worker') expect(svc.ports, name).toBeUndefined();
      if (role === 'web' || role === 'all') expect(svc.ports?.length, name).toBe(1);
    }
  });

  it('starts every Procfile process through the spoolkit entrypoint', () => {
    const model = results.get(app)?.model;
    const lines = file(app, 'Procfile').split('\n').filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('release:'));
    expect(lines.length).toBe(model?.processes.length);
    // Where a Procfile runner's shell starts the line (Heroku, a VPS), it creates the spool and then execs node.
    const prefix = model?.procfileCreatesSpool ? escapeRegExp(`${CREATE_SPOOL} && exec `) : '';
    for (const line of lines) expect(line).toMatch(new RegExp(`^\\w+: ${prefix}node ${model?.spoolkitBin} entrypoint (web|worker|all|scheduler)$`));
  });
});
