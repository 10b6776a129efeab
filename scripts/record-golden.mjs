#!/usr/bin/env node
// @ts-check
// Re-records the generator's golden files: for each case under test/fixtures/projects/<case>/,
// runs spoolkit init (as a dry run) on input/ and writes every file it would create or change
// into expected/. Review the result with git diff before committing.
//
//   node scripts/record-golden.mjs            every case
//   node scripts/record-golden.mjs fly pnpm   only these cases
import { fs, path } from 'zx';
import { tsImport } from 'tsx/esm/api';

const root = path.resolve(import.meta.dirname, '..');
const casesDir = path.join(root, 'test/fixtures/projects');
// Each input stands for an app of its own (its .gitignore decides what is committed): git must not
// find this repository above it.
process.env.GIT_CEILING_DIRECTORIES = casesDir;
/** @type {typeof import('../src/generate/index.js')} */
const generator = await tsImport(path.join(root, 'src/generate/index.ts'), import.meta.url);

const wanted = process.argv.slice(2);
const cases = (await fs.readdir(casesDir)).filter((name) => wanted.length === 0 || wanted.includes(name)).sort();
const unknown = wanted.filter((name) => !cases.includes(name));
if (unknown.length > 0) {
  console.error(`no such case: ${unknown.join(', ')}`);
  process.exit(2);
}

for (const name of cases) {
  const caseDir = path.join(casesDir, name);
  const result = await generator.runInit(path.join(caseDir, 'input'), { mode: 'dry-run' });
  const expectedDir = path.join(caseDir, 'expected');
  await fs.remove(expectedDir);
  const changed = result.files.filter((f) => f.status !== 'identical');
  for (const file of changed) {
    await fs.outputFile(path.join(expectedDir, file.path), file.content);
  }
  console.log(`${name}: ${changed.map((f) => f.path).join(', ')}`);
}
