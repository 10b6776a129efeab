// The generated Dockerfile, stage by stage, for apps built in memory: what the image puts on PATH,
// where cache mounts go, what the install gets besides the manifests, which scripts it skips,
// where registry settings (tokens) end up, and which layer node_modules ships in.
import { describe, expect, it } from 'vitest';
import { createModel, snapshotFromFiles, type InitOptions } from '../../src/generate/index.js';
import { localPath } from '../../src/generate/detect/install-inputs.js';
import { reincludes } from '../../src/generate/dockerignore-rules.js';
import { renderDockerignore } from '../../src/generate/templates/dockerignore.js';
import { renderDockerfile } from '../../src/generate/templates/dockerfile.js';
import { renderAppJson } from '../../src/generate/templates/app-json.js';
import { renderCompose } from '../../src/generate/templates/compose.js';
import { renderFlyToml } from '../../src/generate/templates/fly.js';
import { renderRenderYaml } from '../../src/generate/templates/render-yaml.js';
import { renderRailwayJson } from '../../src/generate/templates/railway-json.js';

const LOCK = '{"lockfileVersion":3}\n';

function modelOf(pkg: Record<string, unknown>, files: Record<string, string> = {}, options: InitOptions = {}) {
  const packageJson = { name: 'demo', dependencies: { spoolkit: '^0.1.0' }, scripts: { start: 'node server.js' }, ...pkg };
  const all = { 'package.json': JSON.stringify(packageJson), 'package-lock.json': LOCK, 'processors.js': 'export default {}', ...files };
  return createModel(snapshotFromFiles('/apps/demo', all), { options });
}

function dockerfile(pkg: Record<string, unknown>, files: Record<string, string> = {}, options: InitOptions = {}): string {
  return renderDockerfile(modelOf(pkg, files, options));
}

interface Stage {
  name: string;
  from: string;
  /** Instructions, continuation lines joined, comments dropped. */
  lines: string[];
}

function stages(text: string): Stage[] {
  const joined = text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n')
    .replace(/\\\n/g, ' ');
  const out: Stage[] = [];
  for (const line of joined.split('\n')) {
    const from = /^FROM (\S+) AS (\S+)/.exec(line);
    if (from) out.push({ name: from[2] as string, from: from[1] as string, lines: [] });
    else if (line.trim() !== '') out.at(-1)?.lines.push(line.trim().replace(/\s+/g, ' '));
  }
  return out;
}

function stage(text: string, name: string): Stage {
  const found = stages(text).find((s) => s.name === name);
  if (!found) throw new Error(`no stage ${name} in\n${text}`);
  return found;
}

/** Every file the runtime stage copies: [source stage or "context", source path]. */
function runtimeCopies(text: string): [string, string][] {
  return stage(text, 'runtime')
    .lines.filter((l) => l.startsWith('COPY '))
    .map((l) => {
      const from = /--from=(\S+)/.exec(l)?.[1] ?? 'context';
      const src = l.replace(/^COPY (--\S+ )*/, '').split(' ')[0] as string;
      return [from, src];
    });
}

/** Whether a stage, or one it is built FROM, copies the whole build context. */
function copiesContext(text: string, name: string): boolean {
  const all = stages(text);
  for (let s = all.find((x) => x.name === name); s; s = all.find((x) => x.name === s?.from)) {
    if (s.lines.some((l) => /^COPY \. /.test(l))) return true;
  }
  return false;
}

describe('PATH', () => {
  it('puts node_modules/.bin on the runtime PATH, so a web command may name a package program (next start)', () => {
    const m = modelOf({ scripts: { start: 'next start' }, dependencies: { spoolkit: '^0.1.0', next: '^15.0.0' } });
    expect(m.web.argv).toEqual(['next', 'start']);
    const env = stage(renderDockerfile(m), 'runtime').lines.filter((l) => l.startsWith('ENV '));
    expect(env.join(' ')).toMatch(/\bPATH=\/app\/node_modules\/\.bin:\$PATH\b/);
  });
});

describe('cache mounts', () => {
  const lockfiles: Record<string, [Record<string, string>, Record<string, unknown>]> = {
    npm: [{ 'package-lock.json': LOCK }, {}],
    pnpm: [{ 'pnpm-lock.yaml': "lockfileVersion: '9.0'\n" }, { packageManager: 'pnpm@9.12.3' }],
    yarn: [{ 'yarn.lock': '# yarn lockfile v1\n' }, {}],
  };
  for (const [label, [lock, pkg]] of Object.entries(lockfiles)) {
    it(`puts --mount right after RUN, never inside a command chain (${label}, with a build)`, () => {
      const packageJson = { name: 'demo', dependencies: { spoolkit: '^0.1.0' }, scripts: { start: 'node dist/server.js', build: 'tsc' }, spoolkit: { processors: 'dist/processors.js' }, ...pkg };
      const snapshot = snapshotFromFiles('/apps/demo', { 'package.json': JSON.stringify(packageJson), ...lock });
      const text = renderDockerfile(createModel(snapshot, { options: { cacheMounts: true } }));
      const mounts = text.split('\n').filter((l) => l.includes('--mount='));
      expect(mounts.length).toBe(2);
      for (const l of mounts) expect(l, text).toMatch(/^RUN --mount=type=cache,target=\S+ [a-z]/);
      // The prune runs with the cache too.
      expect(mounts.some((l) => /prune|--production --ignore-scripts/.test(l)), text).toBe(true);
    });
  }
});

describe('what the install gets besides the manifests', () => {
  it('copies a file: tarball dependency before installing', () => {
    const text = dockerfile({ dependencies: { spoolkit: 'file:vendor/spoolkit-0.1.0.tgz' } });
    const deps = stage(text, 'deps').lines;
    const copy = deps.indexOf('COPY vendor/spoolkit-0.1.0.tgz ./vendor/spoolkit-0.1.0.tgz');
    expect(copy, text).toBeGreaterThan(0);
    expect(copy).toBeLessThan(deps.findIndex((l) => l.includes('npm ci')));
  });

  it('copies pnpm patchedDependencies and .pnpmfile.cjs before installing', () => {
    const text = renderDockerfile(
      createModel(
        snapshotFromFiles('/apps/demo', {
          'package.json': JSON.stringify({
            name: 'demo',
            packageManager: 'pnpm@9.12.3',
            dependencies: { spoolkit: '^0.1.0', ms: '2.1.3' },
            scripts: { start: 'node server.js' },
            pnpm: { patchedDependencies: { 'ms@2.1.3': 'patches/ms@2.1.3.patch' } },
          }),
          'pnpm-lock.yaml': "lockfileVersion: '9.0'\n",
          '.pnpmfile.cjs': 'module.exports = {}',
          'processors.js': '',
        }),
      ),
    );
    const deps = stage(text, 'deps').lines;
    expect(deps).toContain('COPY patches/ms@2.1.3.patch ./patches/ms@2.1.3.patch');
    expect(deps).toContain('COPY .pnpmfile.cjs ./.pnpmfile.cjs');
  });

  it('copies yarn berry patches and plugins, not only releases', () => {
    const text = renderDockerfile(
      createModel(
        snapshotFromFiles('/apps/demo', {
          'package.json': JSON.stringify({ name: 'demo', packageManager: 'yarn@4.5.1', dependencies: { spoolkit: '^0.1.0' }, scripts: { start: 'node server.js' } }),
          'yarn.lock': '__metadata:\n  version: 8\n',
          '.yarnrc.yml': 'nodeLinker: node-modules\n',
          '.yarn/releases/yarn-4.5.1.cjs': '',
          '.yarn/patches/x.patch': '',
          '.yarn/plugins/p.cjs': '',
          'processors.js': '',
        }),
      ),
    );
    const deps = stage(text, 'deps').lines;
    for (const dir of ['.yarn/releases', '.yarn/patches', '.yarn/plugins']) expect(deps).toContain(`COPY ${dir} ./${dir}`);
  });

  it('copies yarn 1 settings with the release they may point yarn-path at', () => {
    const files = { 'yarn.lock': '# yarn lockfile v1\n', '.yarnrc': 'yarn-path ".yarn/releases/yarn-1.22.22.cjs"\n', '.yarn/releases/yarn-1.22.22.cjs': '', 'processors.js': '' };
    const snapshot = snapshotFromFiles('/apps/demo', { 'package.json': JSON.stringify({ name: 'demo', dependencies: { spoolkit: '^0.1.0' }, scripts: { start: 'node server.js' } }), ...files });
    const text = renderDockerfile(createModel(snapshot));
    const deps = stage(text, 'deps').lines;
    expect(deps).toContain('COPY package.json yarn.lock .yarnrc ./');
    expect(deps).toContain('COPY .yarn/releases ./.yarn/releases');
    // .yarnrc can hold a registry token too.
    expect(stage(text, 'source').lines).toContain('RUN rm -f .yarnrc');
  });

  it('copies the whole context before installing when a root install script may read any file', () => {
    const m = modelOf({ scripts: { start: 'node server.js', postinstall: 'node scripts/postinstall.cjs' } });
    expect(m.installFromWholeContext).toBe(true);
    const deps = stage(renderDockerfile(m), 'deps').lines;
    expect(deps[0]).toBe('COPY . .');
    expect(m.notes.join('\n')).toMatch(/postinstall/);
  });

  it('copies the whole context for a local directory dependency, which gets a node_modules of its own', () => {
    const m = modelOf({ dependencies: { spoolkit: '^0.1.0', shared: 'file:./packages/shared' } });
    expect(m.installFromWholeContext).toBe(true);
    expect(runtimeCopies(renderDockerfile(m))).toEqual([['deps', '/app']]);
  });

  it('refuses a local dependency outside the app, naming the fix', () => {
    expect(() => modelOf({ dependencies: { spoolkit: '^0.1.0', lib: 'file:../lib' } })).toThrow(/outside the app directory.*npm pack it into vendor/);
    expect(() => modelOf({ dependencies: { spoolkit: 'link:/home/me/spoolkit' } })).toThrow(/outside the app directory/);
  });

  it('reads local paths from dependency specs', () => {
    expect(localPath('file:vendor/x.tgz')).toBe('vendor/x.tgz');
    expect(localPath('link:../x')).toBe('../x');
    expect(localPath('./lib')).toBe('./lib');
    expect(localPath('patch:left-pad@npm%3A1.3.0#~/.yarn/patches/left-pad.patch::version=1.3.0')).toBe('.yarn/patches/left-pad.patch');
    expect(localPath('^1.2.3')).toBeUndefined();
    expect(localPath('npm:other@1')).toBeUndefined();
    expect(localPath('github:a/b')).toBeUndefined();
  });
});

describe('root prepare scripts (husky)', () => {
  for (const build of [false, true]) {
    it(`deletes prepare before the install and keeps dependencies' install scripts (${build ? 'with' : 'without'} a build)`, () => {
      const scripts: Record<string, string> = { start: 'node server.js', prepare: 'husky' };
      if (build) scripts.build = 'tsc';
      const text = dockerfile({ scripts, devDependencies: { husky: '^9.1.7' } });
      const run = stage(text, 'deps').lines.find((l) => l.startsWith('RUN ') && l.includes('npm ci')) ?? '';
      expect(run, text).toMatch(/^RUN npm pkg delete scripts\.prepare && npm ci /);
      expect(text).not.toContain('--ignore-scripts');
    });
  }

  it('deletes an old-style prepublish build hook, which npm and yarn 1 run on a plain install', () => {
    const text = dockerfile({ scripts: { start: 'node dist/server.js', build: 'node build.mjs', prepublish: 'node build.mjs', prepare: 'husky' } });
    const run = stage(text, 'deps').lines.find((l) => l.startsWith('RUN ') && l.includes('npm ci')) ?? '';
    expect(run, text).toMatch(/^RUN npm pkg delete scripts\.prepublish scripts\.prepare && npm ci /);
  });

  it('leaves an app without prepare alone', () => {
    expect(dockerfile({})).not.toContain('npm pkg delete');
  });
});

describe('registry settings (.npmrc with a token)', () => {
  const npmrc = { '.npmrc': '//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n' };
  const variants: [string, Record<string, unknown>, Record<string, string>][] = [
    ['no build', {}, {}],
    ['a build', { scripts: { start: 'node dist/server.js', build: 'tsc' }, spoolkit: { processors: 'dist/processors.js' } }, {}],
    ['install scripts, no build', { scripts: { start: 'node server.js', postinstall: 'node x.js' } }, {}],
    ['install scripts and a build', { scripts: { start: 'node dist/server.js', postinstall: 'node x.js', build: 'tsc' }, spoolkit: { processors: 'dist/processors.js' } }, {}],
  ];
  for (const [label, pkg, files] of variants) {
    it(`is used by the install but never copied into the runtime stage (${label})`, () => {
      const text = dockerfile(pkg, { ...npmrc, ...files });
      expect(stage(text, 'deps').lines.some((l) => l.startsWith('COPY ') && (l.includes('.npmrc') || l === 'COPY . .'))).toBe(true);
      for (const [from, src] of runtimeCopies(text)) {
        expect(from, `${label}: the runtime copies ${src} straight from the context\n${text}`).not.toBe('context');
        if (src.endsWith('/node_modules')) continue;
        // The stage it copies the app from has the context in it, so it must remove .npmrc.
        if (copiesContext(text, from)) expect(stage(text, from).lines.join('\n'), `${label}: stage ${from}\n${text}`).toMatch(/^RUN .*rm -f \.npmrc/m);
      }
    });
  }

  for (const [label, pkg, files] of variants) {
    it(`declares the token the settings read as a build argument where it installs, never in the runtime (${label})`, () => {
      const text = dockerfile(pkg, { ...npmrc, ...files });
      for (const st of stages(text)) {
        const installs = st.lines.some((l) => l.startsWith('RUN ') && /npm (ci|prune)/.test(l));
        const declares = st.lines.includes('ARG NPM_TOKEN');
        if (installs) expect(declares, `${label}: stage ${st.name}\n${text}`).toBe(true);
        if (st.name === 'runtime' || st.from === 'runtime') expect(declares, `${label}: stage ${st.name}\n${text}`).toBe(false);
      }
      expect(text).toContain('--build-arg NPM_TOKEN="$NPM_TOKEN"');
    });
  }

  it('declares no build argument for settings that read no variable', () => {
    const text = dockerfile({}, { '.npmrc': 'engine-strict=true\n' });
    expect(text.split('\n').filter((l) => l.startsWith('ARG ')).map((l) => l.split('=')[0])).toEqual(['ARG BASE_IMAGE', 'ARG APP_UID', 'ARG APP_GID']);
  });

  it('copies the app straight from the context when there is no registry file', () => {
    expect(runtimeCopies(dockerfile({}))).toEqual([
      ['deps', '/app/node_modules'],
      ['context', '.'],
    ]);
  });
});

describe('layers with a build', () => {
  it('ships node_modules in a layer of its own, from a stage that depends on the manifests only', () => {
    const text = dockerfile({ scripts: { start: 'node dist/server.js', build: 'tsc' }, spoolkit: { processors: 'dist/processors.js' } });
    const copies = runtimeCopies(text);
    expect(copies.map(([, src]) => src)).toEqual(['/app/node_modules', '/app']);
    const [modulesFrom, appFrom] = copies.map(([from]) => from) as [string, string];
    expect(copiesContext(text, modulesFrom), text).toBe(false);
    expect(stage(text, modulesFrom).lines.join('\n')).toMatch(/npm prune --omit=dev/);
    // The app layer holds no node_modules (it would re-ship them on every source change).
    expect(stage(text, appFrom).lines.join('\n')).toMatch(/rm -rf node_modules/);
  });
});

describe('a build that writes into node_modules', () => {
  it('is named in a note, since the runtime ships the pruned install, not the build\'s node_modules', () => {
    const m = modelOf({ scripts: { start: 'node dist/server.js', build: 'prisma generate && tsc' }, spoolkit: { processors: 'dist/processors.js' } });
    expect(m.notes.join('\n')).toMatch(/prisma generate.*postinstall/);
    expect(modelOf({ scripts: { start: 'node dist/server.js', build: 'tsc' }, spoolkit: { processors: 'dist/processors.js' } }).notes.join('\n')).not.toMatch(/prisma/);
  });
});

describe('the shutdown timeout', () => {
  it('is not baked into the image: a plain docker stop kills after 10 s', () => {
    for (const options of [{}, { shutdownTimeoutMs: 45000 }, { platform: 'fly' as const }]) {
      expect(dockerfile({}, {}, options)).not.toContain('SPOOLKIT_SHUTDOWN_TIMEOUT_MS=');
    }
  });

  it('is set by every manifest that runs the image and can carry it, and named in a note where it cannot', () => {
    const timeout = 45000;
    const of = (platform: 'compose' | 'fly' | 'render' | 'railway' | 'dokku' | 'heroku') => modelOf({}, {}, { platform, shutdownTimeoutMs: timeout });
    expect(renderCompose(of('compose'))).toContain(`SPOOLKIT_SHUTDOWN_TIMEOUT_MS: "${timeout}"`);
    expect(renderCompose(of('fly'))).toContain(`SPOOLKIT_SHUTDOWN_TIMEOUT_MS: "${timeout}"`);
    expect(renderFlyToml(of('fly'))).toContain(`SPOOLKIT_SHUTDOWN_TIMEOUT_MS = "${timeout}"`);
    expect(renderRenderYaml(of('render'))).toMatch(new RegExp(`SPOOLKIT_SHUTDOWN_TIMEOUT_MS\\n\\s+value: "${timeout}"`));
    expect(renderRailwayJson(of('railway'))).not.toContain('SPOOLKIT_SHUTDOWN_TIMEOUT_MS');
    expect(of('railway').notes.join('\n')).toContain(`SPOOLKIT_SHUTDOWN_TIMEOUT_MS=${timeout}`);
    expect(of('dokku').notes.join('\n')).toContain(`dokku config:set demo SPOOLKIT_SHUTDOWN_TIMEOUT_MS=${timeout}`);
    // Heroku builds with the buildpack, not the Dockerfile; app.json sets it.
    expect(renderAppJson(modelOf({}, {}, { platform: 'heroku', shutdownTimeoutMs: 20000 }))).toContain('"value": "20000"');
  });
});

describe('.dockerignore and what the install copies by name', () => {
  it('puts back a gitignored vendor tarball, which the deps stage copies', () => {
    const m = modelOf({ dependencies: { spoolkit: 'file:vendor/spoolkit-0.1.0.tgz' } }, { '.gitignore': 'vendor/\n' });
    const lines = renderDockerignore(m).split('\n');
    expect(lines.lastIndexOf('!vendor/spoolkit-0.1.0.tgz')).toBeGreaterThan(lines.lastIndexOf('**/vendor'));
  });

  it('leaves a gitignored .npmrc out (a fresh clone has none: init --check and the CI build would fail), and says so', () => {
    const files = { '.npmrc': '//registry.npmjs.org/:_authToken=npm_local', '.gitignore': '.npmrc\n' };
    const m = modelOf({}, files);
    expect(renderDockerfile(m)).not.toContain('.npmrc');
    expect(renderDockerignore(m)).not.toContain('!.npmrc');
    expect(m.notes.join('\n')).toMatch(/\.npmrc is gitignored, so a fresh clone \(CI\) has no such file/);
    // The same app in a fresh clone generates the same files.
    const fresh = modelOf({}, { '.gitignore': '.npmrc\n' });
    expect(renderDockerfile(fresh)).toBe(renderDockerfile(m));
    // A committed .npmrc (a token read from the environment) is used by the install.
    expect(dockerfile({}, { '.npmrc': '//registry.npmjs.org/:_authToken=${NPM_TOKEN}' })).toContain('.npmrc');
  });

  it('adds nothing when no pattern can exclude the install inputs', () => {
    const m = modelOf({}, { '.npmrc': 'x', '.gitignore': 'dist/\n*.log\n' });
    expect(renderDockerignore(m)).not.toContain('!');
  });

  it('matches names, directories and globs', () => {
    expect(reincludes(['**/.npmrc', '**/dist'], ['package.json', '.npmrc'])).toEqual(['.npmrc']);
    expect(reincludes(['**/*.tgz'], ['vendor/a.tgz', 'patches/a.patch'])).toEqual(['vendor/a.tgz']);
    expect(reincludes(['.yarn/*'], ['.yarn/releases', 'yarn.lock'])).toEqual(['.yarn/releases']);
    expect(reincludes(['!keep', '**/.env'], ['.npmrc'])).toEqual([]);
  });
});
