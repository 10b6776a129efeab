/**
 * Splits a command line (a Procfile line, the `spoolkit.web` string) into argv without a shell,
 * so the program it names is spawned directly and receives signals itself.
 *
 * Supported, as a POSIX shell reads them: words separated by blanks, single quotes (literal),
 * double quotes (with `\"`, `\\` and `$` expansions inside), backslash escapes, a `#` that starts
 * a word (a comment to the end of the line), and variables from the environment (Procfiles rely
 * on `$PORT`): `$VAR`, `${VAR}`, and `${VAR<op>word}` for the operators `-`, `=`, `+` and `?`, each
 * also with `:` (which treats an empty value as unset); an unquoted expansion is split into words
 * at blanks. Anything else that needs a real shell (pipes, `&&`, `;`, redirections, command
 * substitution, globs, `$1`, `$$` and the other special parameters, `${#VAR}` and the other
 * `${...}` forms, `$'...'`) is refused with an error naming the fix, never passed on literally;
 * so are package-manager wrappers (npm, npx, yarn, pnpm), which do not pass signals on.
 */
import { ConfigError } from '../errors.js';

const SHELL_ONLY = new Set(['|', '&', ';', '<', '>', '`', '(', ')']);
const WRAPPERS = new Set(['npm', 'npx', 'yarn', 'pnpm', 'bun', 'bunx']);
/** `$` followed by one of these is a special parameter (`$1`, `$$`, `$#`, ...), which only a shell has. */
const SPECIAL_PARAMETER = /^[0-9$#?!@*-]/;

/** Options of {@link splitCommandLine}. */
export interface SplitOptions {
  /**
   * False to let `${VAR?message}` pass when VAR is unset (as an empty value): for checking a
   * command's syntax before the environment it will run in exists (`spoolkit init`).
   */
  requireSet?: boolean;
}

/** Splits `line` into argv. `source` names where the line came from, for errors. */
export function splitCommandLine(line: string, env: NodeJS.ProcessEnv, source: string, options: SplitOptions = {}): string[] {
  const argv: string[] = [];
  let word = '';
  let inWord = false;
  // Whether the line's text has begun a word (comments and continuations are lexical: a `#` after
  // an expansion that ended in a blank is still part of the word, as in a shell).
  let lexWord = false;
  // A word made only of unquoted expansions that came out empty disappears, as in a shell.
  let quoted = false;
  const endWord = (): void => {
    if (inWord && (word !== '' || quoted)) argv.push(word);
    word = '';
    inWord = false;
    quoted = false;
  };
  // Variables that `${VAR=word}` / `${VAR:=word}` assigned, for the rest of the line.
  const assigned = new Map<string, string>();
  const lookup = (name: string): string | undefined => assigned.get(name) ?? env[name];
  let i = 0;
  const fail = (what: string): never => {
    throw new ConfigError(`The command in ${source} uses ${what}, which needs a shell; spoolkit runs it without one so signals reach your app. Move that logic into a script file and name the script in ${source}.`);
  };
  const expand = (inDoubleQuotes: boolean): string => {
    // At a '$'.
    const rest = line.slice(i + 1);
    if (rest.startsWith('{')) {
      let close = -1;
      for (let k = 1, depth = 1; k < rest.length && close < 0; k++) {
        if (rest[k] === '{') depth++;
        else if (rest[k] === '}' && --depth === 0) close = k;
      }
      if (close < 0) fail('an unterminated "${"');
      const body = rest.slice(1, close);
      i += 2 + close;
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-=+?])(.*))?$/s.exec(body);
      if (!m) fail(`the expansion "\${${body}}"`);
      const [, name, colon, op, operand] = m as unknown as [string, string, string | undefined, string | undefined, string | undefined];
      const value = lookup(name);
      if (op === undefined) return value ?? '';
      // The shell expands the word too: `$VAR` and `${VAR}` in it are taken, any other expansion or quote is refused.
      const plain = /\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})/g;
      if (/[$`'"\\{}]/.test((operand ?? '').replace(plain, ''))) fail(`an expansion or quote inside "\${${body}}"`);
      const word = (operand ?? '').replace(plain, (_m, bare?: string, braced?: string) => lookup((bare ?? braced) as string) ?? '');
      const isSet = colon === ':' ? value !== undefined && value !== '' : value !== undefined;
      switch (op) {
        case '-':
          return isSet ? (value as string) : word;
        case '=':
          if (!isSet) assigned.set(name, word);
          return isSet ? (value as string) : word;
        case '+':
          return isSet ? word : '';
        case '?':
          if (!isSet && options.requireSet !== false) {
            throw new ConfigError(`The command in ${source} needs ${name} ("\${${body}}"): ${word || `${name} is not set${colon === ':' ? ' or empty' : ''}`}. Set ${name} in the environment.`);
          }
          return value ?? '';
        default:
          return fail(`the expansion "\${${body}}"`);
      }
    }
    const bare = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (bare) {
      i += 1 + bare[0].length;
      return lookup(bare[0]) ?? '';
    }
    if (rest.startsWith('(')) fail('command substitution "$(...)"');
    if (SPECIAL_PARAMETER.test(rest)) fail(`the shell parameter "$${rest[0]}"`);
    if (!inDoubleQuotes && (rest.startsWith("'") || rest.startsWith('"'))) fail(`the quoting "$${rest[0]}...${rest[0]}"`);
    // A '$' before anything else (a blank, '/', the closing quote) is itself, as in a shell.
    i += 1;
    return '$';
  };
  // An unquoted expansion is split into words at blanks (the shell's field splitting).
  const appendUnquoted = (value: string): void => {
    value.split(/[ \t\n]+/).forEach((field, k) => {
      if (k > 0) endWord();
      if (field !== '') {
        word += field;
        inWord = true;
      }
    });
  };
  while (i < line.length) {
    const c = line[i] as string;
    if (c === '\\' && line[i + 1] === '\n') {
      // A line continuation: both characters go, as in a shell.
      i += 2;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\n') {
      endWord();
      lexWord = false;
      i++;
      continue;
    }
    if (c === '#' && !lexWord) {
      // A comment, as in a shell (a `#` inside a word, `a#b`, is a letter).
      const eol = line.indexOf('\n', i);
      i = eol < 0 ? line.length : eol;
      continue;
    }
    inWord = true;
    lexWord = true;
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
        if (d === '\\' && line[i + 1] === '\n') {
          // A line continuation inside double quotes goes too.
          i += 2;
        } else if (d === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1] as string)) {
          word += line[i + 1];
          i += 2;
        } else if (d === '$') {
          word += expand(true);
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
      appendUnquoted(expand(false));
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
