// @ts-check
// Runs one benchmark case in this (fresh) process: `node bench/run-case.mjs <case> '<json params>'`.
// Prints the case's result as one JSON line prefixed with "RESULT ".
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const [caseName, json] = process.argv.slice(2);
if (!caseName || !/^[a-z0-9-]+$/.test(caseName)) {
  console.error('usage: node bench/run-case.mjs <case> \'<json params>\'');
  process.exit(2);
}
const mod = await import(pathToFileURL(join(import.meta.dirname, 'cases', `${caseName}.mjs`)).href);
const result = await mod.run(JSON.parse(json ?? '{}'));
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
