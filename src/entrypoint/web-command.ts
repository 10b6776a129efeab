/**
 * Finds the app's web command: the `spoolkit.web` key of package.json (a string or an argv
 * array, written by `spoolkit init`), else the `web:` line of the Procfile. The result is argv,
 * never a shell line.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readAppPackageConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { assertNoPackageManager, splitCommandLine } from './command-line.js';

/** Where the web command came from, and its argv. */
export interface WebCommand {
  argv: string[];
  source: string;
}

/** Reads a Procfile's `<type>:` line, or undefined when the file or the line is missing. */
export function readProcfileLine(dir: string, type: string): string | undefined {
  const file = join(dir, 'Procfile');
  if (!existsSync(file)) return undefined;
  for (const raw of readFileSync(file, 'utf8').split(/\r?\n/)) {
    const m = /^([A-Za-z0-9_-]+):\s*(.*)$/.exec(raw.trim());
    if (m && m[1] === type) return m[2];
  }
  return undefined;
}

/** Resolves the web command in `dir` (the app directory), expanding `$VAR` from `env`. */
export function resolveWebCommand(dir: string, env: NodeJS.ProcessEnv): WebCommand {
  const app = readAppPackageConfig(dir);
  let result: WebCommand | undefined;
  if (app.web !== undefined) {
    const source = `"spoolkit.web" in ${app.packageJson}`;
    result = { argv: Array.isArray(app.web) ? [...app.web] : splitCommandLine(app.web, env, source), source };
  } else {
    const line = readProcfileLine(dir, 'web');
    if (line !== undefined) {
      const source = `the web: line of ${join(dir, 'Procfile')}`;
      result = { argv: splitCommandLine(line, env, source), source };
    }
  }
  if (!result) {
    throw new ConfigError(`No web command found in ${dir}: add "spoolkit": { "web": "node server.js" } to package.json (spoolkit init writes it) or a "web: node server.js" line to the Procfile.`);
  }
  assertNoPackageManager(result.argv, result.source);
  if (result.argv.includes('entrypoint') && result.argv.some((a) => /spoolkit|entrypoint\.js|cli\/main\.js/.test(a))) {
    throw new ConfigError(`The web command in ${result.source} starts the spoolkit entrypoint again ("${result.argv.join(' ')}"); it must start your web server itself, e.g. "node server.js".`);
  }
  return result;
}
