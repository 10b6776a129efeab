// Detection from an app's files: package manager, Node version, build, web command, processors,
// schedulers. Snapshots are built in memory, so each case states exactly what the app holds.
import { describe, expect, it } from 'vitest';
import { createModel, snapshotFromFiles, type InitRequest } from '../../src/generate/index.js';
import { majorFromRange, parseVersionFile } from '../../src/generate/detect/node-version.js';
import { isIgnored } from '../../src/generate/ignore-match.js';

const LOCK = '{"lockfileVersion":3}\n';

function app(files: Record<string, string>, pkg: Record<string, unknown> = {}): ReturnType<typeof snapshotFromFiles> {
  const packageJson = { name: 'demo', dependencies: { spoolkit: '^0.1.0' }, scripts: { start: 'node server.js' }, ...pkg };
  return snapshotFromFiles('/apps/demo', { 'package.json': JSON.stringify(packageJson), 'processors.js': 'export default {}', ...files });
}

function model(files: Record<string, string>, pkg: Record<string, unknown> = {}, request: InitRequest = {}) {
  return createModel(app(files, pkg), request);
}

describe('package manager', () => {
  it('is npm for package-lock.json, installing with npm ci', () => {
    const m = model({ 'package-lock.json': LOCK });
    expect(m.packageManager.name).toBe('npm');
    expect(m.packageManager.installProd).toBe('npm ci --omit=dev');
  });

  it('is pnpm for pnpm-lock.yaml, with the pnpm major that writes its lockfile format', () => {
    const m = model({ 'pnpm-lock.yaml': "lockfileVersion: '6.0'\n" });
    expect(m.packageManager.name).toBe('pnpm');
    expect(m.packageManager.setup).toBe('npm install -g pnpm@8');
  });

  it('prefers the exact version in packageManager', () => {
    expect(model({ 'pnpm-lock.yaml': "lockfileVersion: '9.0'\n" }, { packageManager: 'pnpm@9.1.0+sha512.abc' }).packageManager.setup).toBe('npm install -g pnpm@9.1.0');
  });

  it('is yarn 1 for a v1 yarn.lock', () => {
    const m = model({ 'yarn.lock': '# yarn lockfile v1\n' });
    expect(m.packageManager).toMatchObject({ name: 'yarn', berry: false, installAll: 'yarn install --frozen-lockfile --production=false' });
  });

  it('refuses yarn berry with Plug\'n\'Play, naming nodeLinker', () => {
    expect(() => model({ 'yarn.lock': '__metadata:\n  version: 8\n' }, { packageManager: 'yarn@4.5.1' })).toThrow(/nodeLinker: node-modules/);
  });

  it('refuses an app without a lockfile, saying how to make one', () => {
    expect(() => model({})).toThrow(/No lockfile.*npm install/);
  });

  it('refuses two lockfiles unless packageManager picks one', () => {
    const files = { 'package-lock.json': LOCK, 'yarn.lock': '# yarn lockfile v1\n' };
    expect(() => model(files)).toThrow(/more than one lockfile/);
    expect(model(files, { packageManager: 'yarn@1.22.22' }).packageManager.name).toBe('yarn');
  });

  it('refuses a packageManager that contradicts the lockfile', () => {
    expect(() => model({ 'package-lock.json': LOCK }, { packageManager: 'pnpm@9.0.0' })).toThrow(/says pnpm but the lockfile is package-lock.json/);
  });
});

describe('node version', () => {
  it('reads .nvmrc before engines', () => {
    const m = model({ 'package-lock.json': LOCK, '.nvmrc': 'v22.3.0\r\n' }, { engines: { node: '>=20' } });
    expect(m.node).toEqual({ major: 22, source: '.nvmrc' });
    expect(m.baseImage).toBe('node:22-bookworm-slim');
  });

  it('reads engines.node when there is no version file', () => {
    expect(model({ 'package-lock.json': LOCK }, { engines: { node: '>=20' } }).node.major).toBe(20);
  });

  it('falls back to a fixed default, never the host version', () => {
    expect(model({ 'package-lock.json': LOCK }).node.major).toBe(22);
  });

  it('refuses a Node.js older than spoolkit supports', () => {
    expect(() => model({ 'package-lock.json': LOCK, '.nvmrc': '18' })).toThrow(/needs Node.js 20 or newer/);
  });

  it('parses version files and ranges', () => {
    expect(parseVersionFile('lts/iron\n')).toBe(20);
    expect(parseVersionFile('# comment\n20.11.1\n')).toBe(20);
    expect(parseVersionFile('lts/*')).toBeUndefined();
    expect(majorFromRange('^18 || ^20')).toBe(20);
    expect(majorFromRange('20.x')).toBe(20);
    expect(majorFromRange('>19')).toBe(20);
    expect(majorFromRange('>= 20.3')).toBe(20);
    expect(majorFromRange('*')).toBeUndefined();
  });

  it('accepts a range that starts below 20 but allows 20 or newer, and refuses one that ends below 20', () => {
    // An open floor below 20 takes the default; a ceiling below the default takes 20.
    expect(majorFromRange('>=18')).toBe(22);
    expect(majorFromRange('>16')).toBe(22);
    expect(majorFromRange('>=18 <25')).toBe(22);
    expect(majorFromRange('>=18 <21')).toBe(20);
    expect(majorFromRange('<21')).toBe(20);
    expect(majorFromRange('16 - 20')).toBe(20);
    expect(majorFromRange('^16 || >=18')).toBe(22);
    expect(model({ 'package-lock.json': LOCK }, { engines: { node: '>=18' } }).node).toEqual({ major: 22, source: 'package.json engines.node (">=18")' });
    for (const [node, major] of [['^18', 18], ['>=16 <20', 19], ['<=19.9', 19], ['18.x || ^19', 19]] as const) {
      expect(() => model({ 'package-lock.json': LOCK }, { engines: { node } }), node).toThrow(`asks for Node.js ${major}, but spoolkit needs Node.js 20 or newer`);
    }
  });
});

describe('web command', () => {
  it('takes spoolkit.web, then scripts.start, then main', () => {
    expect(model({ 'package-lock.json': LOCK }, { spoolkit: { web: 'node a.js' } }).web).toMatchObject({ command: 'node a.js', source: 'spoolkit.web' });
    expect(model({ 'package-lock.json': LOCK }).web).toMatchObject({ command: 'node server.js', source: 'scripts.start', entryFile: 'server.js' });
    expect(model({ 'package-lock.json': LOCK }, { scripts: {}, main: 'index.js' }).web).toMatchObject({ command: 'node index.js', source: 'main' });
  });

  it('refuses a start script that goes through npm, because signals would not arrive', () => {
    expect(() => model({ 'package-lock.json': LOCK }, { scripts: { start: 'npm run serve' } })).toThrow(/does not pass SIGTERM on.*--web/);
  });

  it('refuses shell syntax and inline variables, as the entrypoint does', () => {
    expect(() => model({ 'package-lock.json': LOCK }, { scripts: { start: 'node a.js && node b.js' } })).toThrow(/needs a shell/);
    expect(() => model({ 'package-lock.json': LOCK }, { scripts: { start: 'NODE_ENV=production node a.js' } })).toThrow(/leading variable assignment/);
  });

  it('accepts what the entrypoint runs: quoted arguments, $PORT, and an argv array, saved as written', () => {
    const quoted = model({ 'package-lock.json': LOCK }, { scripts: { start: 'node server.js --title "My App" --port ${PORT:-3000}' } });
    expect(quoted.web).toMatchObject({ command: 'node server.js --title "My App" --port ${PORT:-3000}', entryFile: 'server.js' });
    expect(quoted.web.argv).toEqual(['node', 'server.js', '--title', 'My App', '--port', '3000']);
    expect(quoted.saved.web).toBe('node server.js --title "My App" --port ${PORT:-3000}');
    expect(model({ 'package-lock.json': LOCK }, {}, { web: 'node server.js --port $PORT' }).saved.web).toBe('node server.js --port $PORT');
    const array = model({ 'package-lock.json': LOCK }, { spoolkit: { web: ['node', 'dist/server.js', '--title', 'My App'] } });
    expect(array.web).toMatchObject({ source: 'spoolkit.web', entryFile: 'dist/server.js' });
    expect(array.saved.web).toEqual(['node', 'dist/server.js', '--title', 'My App']);
    expect(() => model({ 'package-lock.json': LOCK }, { spoolkit: { web: ['npm', 'start'] } })).toThrow(/does not pass SIGTERM on/);
    expect(() => model({ 'package-lock.json': LOCK }, { spoolkit: { web: [] } })).toThrow(/non-empty argv array/);
    // A variable the deployment must set is no error at init, where nothing is set.
    expect(model({ 'package-lock.json': LOCK }, {}, { web: 'node server.js --port ${PORT:?PORT must be set}' }).saved.web).toBe('node server.js --port ${PORT:?PORT must be set}');
  });

  it('warns when the web command needs a file the generated .dockerignore leaves out of the image', () => {
    const warnings = (files: Record<string, string>, pkg: Record<string, unknown>) => model({ 'package-lock.json': LOCK, ...files }, pkg).notes.filter((n) => n.startsWith('warning:'));
    expect(warnings({}, { scripts: { start: 'node --env-file=.env server.js' } })).toEqual([expect.stringMatching(/loads \.env \(--env-file\).*Remove --env-file/)]);
    expect(warnings({}, { scripts: { start: 'node --env-file .env.production server.js' } })).toEqual([expect.stringMatching(/loads \.env\.production/)]);
    expect(warnings({}, { scripts: { start: 'node --env-file-if-exists=.env server.js' } })).toEqual([]);
    // Compiled output in a gitignored directory, made by a script that is not called "build".
    const compiled = { '.gitignore': 'dist/\n', 'dist/server.js': '', 'dist/processors.js': '' };
    const noBuild = warnings(compiled, { scripts: { start: 'node dist/server.js', compile: 'tsc' }, spoolkit: { processors: 'dist/processors.js' } });
    expect(noBuild).toEqual([expect.stringMatching(/^warning: dist\/server.js is excluded .*"build"/), expect.stringMatching(/^warning: dist\/processors.js is excluded/)]);
    expect(warnings(compiled, { scripts: { start: 'node dist/server.js', build: 'tsc' }, spoolkit: { processors: 'dist/processors.js' } })).toEqual([]);
    expect(warnings({}, { scripts: { start: 'node server.js' } })).toEqual([]);
  });

  it('keeps the release command to plain words, since every manifest quotes differently', () => {
    expect(model({ 'package-lock.json': LOCK }, {}, { options: { release: 'node migrate.js up' } }).release).toEqual(['node', 'migrate.js', 'up']);
    expect(() => model({ 'package-lock.json': LOCK }, {}, { options: { release: 'node migrate.js --name "a b"' } })).toThrow(/--release .*plain command/);
  });

  it('fails with the fix when nothing says how to start', () => {
    expect(() => model({ 'package-lock.json': LOCK }, { scripts: {} })).toThrow(/--web "node server.js"/);
  });
});

describe('processors', () => {
  it('finds a conventional file and records it for the worker', () => {
    const m = model({ 'package-lock.json': LOCK });
    expect(m.processors).toEqual({ path: 'processors.js', source: 'detected', exists: true });
    expect(m.saved.processors).toBe('processors.js');
  });

  it('refuses a path outside the app', () => {
    expect(() => model({ 'package-lock.json': LOCK }, {}, { processors: '../x.js' })).toThrow(/inside the app/);
  });

  it('asks for the compiled file when only TypeScript is found', () => {
    const snapshot = snapshotFromFiles('/apps/ts', {
      'package.json': JSON.stringify({ name: 'ts', dependencies: { spoolkit: '1' }, scripts: { start: 'node dist/a.js', build: 'tsc' } }),
      'package-lock.json': LOCK,
      'src/processors.ts': '',
    });
    expect(() => createModel(snapshot)).toThrow(/dist\/processors.js/);
  });

  it('notes a processors file that only the build will create', () => {
    const m = model({ 'package-lock.json': LOCK }, { spoolkit: { processors: 'dist/processors.js' } });
    expect(m.processors.exists).toBe(false);
    expect(m.notes.join('\n')).toMatch(/dist\/processors.js does not exist yet/);
  });
});

describe('schedulers', () => {
  it('decides from committed files only, so a fresh clone without the build output gets the same processes', () => {
    const ts = (built: boolean, init?: Record<string, unknown>) =>
      model(
        {
          'package-lock.json': LOCK,
          '.gitignore': 'node_modules/\ndist\n',
          ...(built ? { 'dist/processors.js': "export default {}; q.upsertJobScheduler('x', { every: 1000 })", 'dist/server.js': '' } : {}),
        },
        { scripts: { start: 'node dist/server.js', build: 'tsc' }, spoolkit: { processors: 'dist/processors.js', ...(init ? { init } : {}) } },
      );
    // After a build and in a fresh clone: the same processes; the note says how to declare them.
    expect(ts(true).processes.map((p) => p.role)).toEqual(['web', 'worker']);
    expect(ts(false).processes.map((p) => p.role)).toEqual(['web', 'worker']);
    expect(ts(true).notes.join('\n')).toMatch(/found in dist\/processors.js, which is gitignored .*pass --schedulers/);
    expect(ts(false).notes.join('\n')).toMatch(/dist\/processors.js and dist\/server.js are gitignored .*pass --schedulers/);
    // Declared once (saved in spoolkit.init), both agree on a scheduler process.
    expect(ts(true, { schedulers: true }).processes.map((p) => p.role)).toEqual(['web', 'worker', 'scheduler']);
    expect(ts(false, { schedulers: true }).processes.map((p) => p.role)).toEqual(['web', 'worker', 'scheduler']);
    expect(ts(false, { schedulers: true }).notes.join('\n')).not.toMatch(/gitignored/);
  });

  it('matches paths against ignore patterns as .dockerignore does', () => {
    expect(isIgnored('dist/server.js', ['**/dist'])).toBe(true);
    expect(isIgnored('packages/a/dist/x.js', ['**/dist'])).toBe(true);
    expect(isIgnored('src/server.js', ['**/dist'])).toBe(false);
    expect(isIgnored('build/out.js', ['build/*.js', '!build/out.js'])).toBe(false);
    expect(isIgnored('.env', ['**/.env'])).toBe(true);
    expect(isIgnored('.env.production', ['**/.env.*'])).toBe(true);
    expect(isIgnored('lib/a.js', ['lib/?.js'])).toBe(true);
  });

  it('adds a scheduler process when the app calls upsertJobScheduler', () => {
    const m = model({ 'package-lock.json': LOCK, 'server.js': "await q.upsertJobScheduler('x', { every: 1000 })" });
    expect(m.schedulers.foundIn).toEqual(['server.js']);
    expect(m.processes.map((p) => p.role)).toEqual(['web', 'worker', 'scheduler']);
  });

  it('leaves schedulers to the workers when asked', () => {
    const m = model({ 'package-lock.json': LOCK, 'server.js': 'q.upsertJobScheduler(' }, {}, { options: { scheduler: 'workers' } });
    expect(m.processes.map((p) => p.role)).toEqual(['web', 'worker']);
  });
});

describe('workspaces', () => {
  it('tells a workspace package to run init at the workspace root, instead of asking for a lockfile it never gets', () => {
    const member = { ...snapshotFromFiles('/repo/packages/api', { 'package.json': JSON.stringify({ name: 'api', dependencies: { spoolkit: '1' }, scripts: { start: 'node server.js' } }), 'processors.js': '' }), workspaceRoot: '../..' };
    expect(() => createModel(member)).toThrow(/package of the workspace at \.\.\/\.\..*add spoolkit to the root package.json dependencies.*--web "node packages\/api\/server.js" --processors packages\/api\/processors.js/);
    expect(() => createModel({ ...member, workspaceRoot: undefined })).toThrow(/No lockfile/);
  });

  it('tells a workspace root without spoolkit that the root itself must depend on it', () => {
    const root = snapshotFromFiles('/repo', { 'package.json': JSON.stringify({ name: 'repo', private: true, workspaces: ['packages/*'] }), 'package-lock.json': LOCK });
    expect(() => createModel(root)).toThrow(/workspace root's package.json dependencies.*npm install spoolkit at the root/);
  });
});

describe('the spoolkit dependency', () => {
  it('must be a runtime dependency, since the image prunes dev dependencies', () => {
    expect(() => model({ 'package-lock.json': LOCK }, { dependencies: {}, devDependencies: { spoolkit: '1' } })).toThrow(/Move it to dependencies/);
    expect(() => model({ 'package-lock.json': LOCK }, { dependencies: {} })).toThrow(/npm install spoolkit/);
  });
});
