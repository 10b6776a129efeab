// "Committed" is what git says when the app is in a work tree: an app in a subdirectory of its
// repository whose root .gitignore (or .git/info/exclude) ignores .npmrc and dist/ gets neither
// a COPY of .npmrc nor schedulers detected from dist/, as in a fresh clone.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createModel } from '../../src/generate/model.js';
import { readProject } from '../../src/generate/project.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

/** A repository holding the app under service/; `ignore` goes to the root .gitignore or info/exclude. */
function repoWithApp(where: 'root .gitignore' | 'info/exclude' | 'nowhere'): string {
  const root = mkdtempSync(join(tmpdir(), 'spoolkit-gitignored-'));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  execFileSync('git', ['init', '-q'], { cwd: root });
  const rules = '.npmrc\ndist/\n';
  if (where === 'root .gitignore') writeFileSync(join(root, '.gitignore'), rules);
  if (where === 'info/exclude') writeFileSync(join(root, '.git/info/exclude'), rules);
  const app = join(root, 'service');
  mkdirSync(join(app, 'dist'), { recursive: true });
  const pkg = { name: 'svc', type: 'module', scripts: { build: 'tsc' }, dependencies: { spoolkit: '^0.1.0' }, spoolkit: { processors: 'dist/processors.js', web: 'node dist/server.js' } };
  writeFileSync(join(app, 'package.json'), JSON.stringify(pkg));
  writeFileSync(join(app, 'package-lock.json'), '{"lockfileVersion":3,"packages":{}}\n');
  writeFileSync(join(app, '.npmrc'), '//registry.example.com/:_authToken=secret\n');
  writeFileSync(join(app, 'dist/processors.js'), "await queue.upsertJobScheduler('nightly', { pattern: '0 3 * * *' });\nexport default {};\n");
  writeFileSync(join(app, 'dist/server.js'), 'export {};\n');
  return app;
}

describe('files ignored by the repository, not by the app', () => {
  for (const where of ['root .gitignore', 'info/exclude'] as const) {
    it(`leaves out a .npmrc and dist/ that ${where} ignores`, async () => {
      const snapshot = await readProject(repoWithApp(where), ['dist/processors.js', 'dist/server.js']);
      expect([...(snapshot.gitIgnored ?? ['git did not answer'])].sort()).toEqual(['.npmrc', 'dist/processors.js', 'dist/server.js']);
      const model = createModel(snapshot, { options: { platform: 'compose' } });
      expect(model.installInputs.registryConfigs).toEqual([]);
      expect(model.schedulers.detected).toBe(false);
    });
  }

  it('keeps them when git ignores neither', async () => {
    const snapshot = await readProject(repoWithApp('nowhere'), ['dist/processors.js', 'dist/server.js']);
    expect([...(snapshot.gitIgnored ?? ['git did not answer'])]).toEqual([]);
    const model = createModel(snapshot, { options: { platform: 'compose' } });
    expect(model.installInputs.registryConfigs).toEqual(['.npmrc']);
    expect(model.schedulers.detected).toBe(true);
  });

  it("reads the app's own .gitignore outside a work tree", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spoolkit-nogit-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'svc', scripts: { start: 'node server.js' }, dependencies: { spoolkit: '^0.1.0' } }));
    writeFileSync(join(dir, 'package-lock.json'), '{"lockfileVersion":3,"packages":{}}\n');
    writeFileSync(join(dir, '.npmrc'), 'x=1\n');
    writeFileSync(join(dir, 'processors.js'), 'export default {};\n');
    writeFileSync(join(dir, '.gitignore'), '.npmrc\n');
    const snapshot = await readProject(dir);
    expect(snapshot.gitIgnored).toBeUndefined();
    expect(createModel(snapshot, { options: { platform: 'compose' } }).installInputs.registryConfigs).toEqual([]);
  });
});
