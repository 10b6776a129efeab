// Golden files: every case under test/fixtures/projects/<case>/ holds an app (input/) and the
// files spoolkit init must write for it (expected/), compared exactly. Re-record with
// node scripts/record-golden.mjs and review the diff.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runInit } from '../../src/generate/index.js';

const casesDir = join(import.meta.dirname, '../fixtures/projects');
// Each input stands for an app of its own (its .gitignore decides what is committed), not for
// files of this repository: git must not find this repository above it.
process.env.GIT_CEILING_DIRECTORIES = casesDir;
const cases = readdirSync(casesDir).filter((name) => statSync(join(casesDir, name)).isDirectory()).sort();

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.push(relative(dir, full).split('\\').join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

describe('golden files', () => {
  it('has the cases the generator promises to cover', () => {
    for (const name of ['npm-build', 'npm-no-build', 'pnpm', 'yarn', 'schedulers', 'dokku', 'vps-systemd', 'heroku', 'fly', 'render', 'railway']) {
      expect(cases).toContain(name);
    }
  });

  for (const name of cases) {
    it(`${name}: writes exactly the expected files`, async () => {
      const input = join(casesDir, name, 'input');
      const expectedDir = join(casesDir, name, 'expected');
      const result = await runInit(input, { mode: 'dry-run' });
      const changed = result.files.filter((f) => f.status !== 'identical');
      expect(changed.map((f) => f.path).sort()).toEqual(listFiles(expectedDir));
      for (const file of changed) {
        expect(file.content, `${name}/expected/${file.path}`).toBe(readFileSync(join(expectedDir, file.path), 'utf8'));
      }
    });
  }
});
