/**
 * Splits a command line (a Procfile line, the `spoolkit.web` string) into argv without a shell,
 * so the program it names is spawned directly and receives signals itself.
 *
 * Supported: words separated by blanks, single quotes (literal), double quotes (with `\"`, `\\`
 * and `$VAR` inside), backslash escapes, and `$VAR` / `${VAR}` / `${VAR:-default}` expanded from
 * the environment (Procfiles rely on `$PORT`). Anything that needs a real shell (pipes, `&&`,
 * `;`, redirections, command substitution, globs) is refused with an error naming the fix, and
 * so are package-manager wrappers (npm, npx, yarn, pnpm), which do not pass signals on.
 */
import { ConfigError } from '../errors.js';

const SHELL_ONLY = new Set(['|', '&', ';', '<', '>', '`', '(', ')']);
const WRAPPERS = new Set(['npm', 'npx', 'yarn', 'pnpm', 'bun', 'bunx']);

/** Splits `line` into argv. `source` names where the line came from, for errors. */
export function splitCommandLine(line: string, env: NodeJS.ProcessEnv, source: string): string[] {
  const argv: string[] = [];
  let word = '';
  let inWord = false;
  // A word made only of unquoted expansions that came out empty disappears, as in a shell.
  let quoted = false;
  const endWord = (): void => {
    if (inWord && (word !== '' || quoted)) argv.push(word);
    word = '';
    inWord = false;
    quoted = false;
  };
  let i = 0;
  const fail = (what: string): never => {
    throw new ConfigError(`The command in ${source} uses ${what}, which needs a shell; spoolkit runs it without one so signals reach your app. Move that logic into a script file and name the script in ${source}.`);
  };
  const expand = (): string => {
    // At a '$': $NAME, ${NAME} or ${NAME:-default}.
    const rest = line.slice(i + 1);
    const braced = /^\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/.exec(rest);
    if (braced) {
      i += 1 + braced[0].length;
      const value = env[braced[1] as string];
      return value !== undefined && value !== '' ? value : (braced[2] ?? '');
    }
    const bare = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (bare) {
      i += 1 + bare[0].length;
      return env[bare[0]] ?? '';
    }
    if (rest.startsWith('(')) fail('command substitution "$(...)"');
    i += 1;
    return '$';
  };
  while (i < line.length) {
    const c = line[i] as string;
    if (c === ' ' || c === '\t' || c === '\n') {
      endWord();
      i++;
      continue;
    }
    inWord = true;
    if (c === "'") {
      quoted = true;
      const end = line.indexOf("'", i + 1);
      if (end < 0) fail('an unterminated single quote');
      word += line.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      quoted = true;
      i++;
      while (i < line.length && line[i] !== '"') {
        const d = line[i] as string;
        if (d === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1] as string)) {
          word += line[i + 1];
          i += 2;
        } else if (d === '$') {
          word += expand();
        } else if (d === '`') {
          fail('command substitution "`...`"');
        } else {
          word += d;
          i++;
        }
      }
      if (i >= line.length) fail('an unterminated double quote');
      i++;
    } else if (c === '\\') {
      if (i + 1 < line.length) word += line[i + 1];
      i += 2;
    } else if (c === '$') {
      word += expand();
    } else if (SHELL_ONLY.has(c)) {
      fail(`"${c}"`);
    } else if (c === '*' || c === '?' || c === '~') {
      fail(`the glob or home character "${c}"`);
    } else {
      word += c;
      i++;
    }
  }
  endWord();
  if (argv.length === 0) throw new ConfigError(`The command in ${source} is empty; write the program and its arguments, e.g. "node server.js".`);
  // `FOO=bar node app.js` is shell syntax too.
  if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(argv[0] as string)) fail(`a leading variable assignment ("${argv[0]}")`);
  return argv;
}

/** Refuses npm/yarn/pnpm wrappers: they sit between tini and node and drop SIGTERM. */
export function assertNoPackageManager(argv: readonly string[], source: string): void {
  const program = (argv[0] ?? '').split('/').pop() ?? '';
  if (WRAPPERS.has(program)) {
    throw new ConfigError(`The command in ${source} starts with ${program}, which does not pass SIGTERM on to your app; name the program directly (e.g. "node server.js" instead of "${argv.join(' ')}").`);
  }
}
