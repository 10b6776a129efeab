/**
 * Finds the app's web command: the `spoolkit.web` key of package.json (a string or an argv
 * array, written by `spoolkit init`), else the `web:` line of the Procfile. The result is argv,
 * never a shell line.
 */
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
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

/** Words a shell runs itself: no program of that name exists for a command run without a shell. */
const SHELL_BUILTINS = new Set(['exec', 'cd', 'export', 'source', '.', 'set', 'unset', 'ulimit', 'umask', 'eval', 'trap', 'exit', 'wait', 'command', 'builtin']);

/** Exit codes a shell uses for a command it could not run: not found, and found but not executable. */
export const EXIT_NOT_FOUND = 127;
export const EXIT_NOT_EXECUTABLE = 126;

/**
 * Explains why the web command could not be started (the spawn error), as one line naming the
 * program, where the command came from and the fix, with the exit code a shell would use.
 */
export function describeWebStartFailure(web: WebCommand, err: NodeJS.ErrnoException, cwd: string): { code: number; message: string } {
  const program = web.argv[0] ?? '';
  const head = `spoolkit: the web command "${web.argv.join(' ')}" from ${web.source} cannot be started:`;
  const hasPath = program.includes('/');
  if (err.code === 'ENOENT' && SHELL_BUILTINS.has(program)) {
    const rest = web.argv.slice(1).join(' ');
    const fix =
      program === 'exec' && rest !== ''
        ? `remove "exec": the entrypoint already runs "${rest}" directly, without a shell in between, as exec would.`
        : 'move the shell logic into a script (with a "#!/bin/sh" line, made executable) and run that script.';
    return { code: EXIT_NOT_FOUND, message: `${head} "${program}" is a shell builtin, not a program, and the web command runs without a shell. Fix: ${fix}\n` };
  }
  if (err.code === 'ENOENT') {
    if (hasPath && existsSync(resolve(cwd, program))) {
      return { code: EXIT_NOT_FOUND, message: `${head} "${program}" exists but the interpreter on its "#!" line was not found (ENOENT). Fix: install that interpreter in the image or correct the "#!" line.\n` };
    }
    const where = hasPath ? `does not exist (ENOENT; a relative path is taken from ${cwd})` : 'was not found on PATH (ENOENT)';
    return { code: EXIT_NOT_FOUND, message: `${head} "${program}" ${where}. Fix: correct the program in ${web.source}, or install it in the image${hasPath ? '' : ' or give its full path'}.\n` };
  }
  if (err.code === 'EACCES') {
    return {
      code: EXIT_NOT_EXECUTABLE,
      message: `${head} "${program}" is not executable (EACCES). Fix: make it executable in the image (chmod +x ${program}), or start it through its interpreter, e.g. "sh ${program}" or "node ${program}".\n`,
    };
  }
  return { code: EXIT_NOT_EXECUTABLE, message: `${head} "${program}" could not be run (${err.code ?? 'error'}: ${err.message}). Fix: correct the command in ${web.source}.\n` };
}

/** Where a program is looked for when PATH is unset (the C library's default path). */
const DEFAULT_SEARCH_PATH = ['/usr/bin', '/bin'].join(delimiter);

/**
 * `env` with the app's `node_modules/.bin` first on PATH, as `npm start` would have it, so a web
 * command naming a package's program (`next start`, `fastify start`) runs wherever the app's
 * dependencies are installed (a VPS, a Procfile runner), not only in an image that sets PATH.
 */
export function withPackageBins(env: NodeJS.ProcessEnv, cwd: string): NodeJS.ProcessEnv {
  const bins = join(cwd, 'node_modules', '.bin');
  if (!existsSync(bins)) return env;
  // Without PATH a program is looked for where the C library's default path says (/usr/bin:/bin):
  // that search must stay after the app's own programs.
  const path = env.PATH === undefined || env.PATH === '' ? DEFAULT_SEARCH_PATH : env.PATH;
  if (path.split(delimiter).includes(bins)) return env;
  return { ...env, PATH: `${bins}${delimiter}${path}` };
}
