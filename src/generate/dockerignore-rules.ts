/**
 * The `.dockerignore` entries: a fixed list that keeps secrets, dependencies and VCS data out of
 * the build context, plus the app's own `.gitignore` translated to `.dockerignore` syntax.
 *
 * The two syntaxes differ: a `.gitignore` pattern without a slash matches at any depth, while a
 * `.dockerignore` pattern is anchored at the context root; `**` restores the any-depth meaning.
 */

/** Always ignored. */
export const DEFAULT_DOCKERIGNORE: readonly string[] = [
  '.git',
  '**/node_modules',
  '**/.env',
  '**/.env.*',
  '**/*.pem',
  '**/*.key',
  '**/.ssh',
  '**/.aws',
  '.spool',
  '**/npm-debug.log*',
  '**/yarn-debug.log*',
  '**/yarn-error.log*',
  '**/.DS_Store',
  'coverage',
];

/** Translates `.gitignore` text to `.dockerignore` patterns, dropping comments, blanks and duplicates of `skip`. */
export function translateGitignore(text: string | undefined, skip: readonly string[] = DEFAULT_DOCKERIGNORE): string[] {
  if (text === undefined) return [];
  const out: string[] = [];
  const seen = new Set(skip);
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trimEnd();
    if (line === '' || line.startsWith('#')) continue;
    const pattern = translatePattern(line);
    if (pattern === undefined || seen.has(pattern)) continue;
    seen.add(pattern);
    out.push(pattern);
  }
  return out;
}

function translatePattern(line: string): string | undefined {
  const negated = line.startsWith('!');
  let body = negated ? line.slice(1) : line;
  if (body.startsWith('\\#') || body.startsWith('\\!')) body = body.slice(1);
  body = body.replace(/\/+$/, '');
  if (body === '' || body === '/') return undefined;
  const anchored = body.startsWith('/') || body.slice(0, -1).includes('/');
  body = body.replace(/^\/+/, '');
  if (!anchored && !body.startsWith('**/')) body = `**/${body}`;
  // A root-level name that is also a default (node_modules/, .env) collapses into the default.
  return `${negated ? '!' : ''}${body}`;
}

/**
 * The paths among `needed` (files the Dockerfile copies by name for the install) that one of
 * `patterns` may exclude, to be re-included with `!path` after them: a gitignored `.npmrc` or
 * `vendor/` tarball must still reach the deps stage. A pattern may exclude a path when it matches
 * its whole path, or one of its names (as `**` patterns and excluded directories do); for a
 * pattern that only may match, a needless `!path` costs nothing.
 */
export function reincludes(patterns: readonly string[], needed: readonly string[]): string[] {
  const excluding = patterns.filter((p) => !p.startsWith('!')).map((p) => globRegExp(p.replace(/^\*\*\//, '')));
  return needed.filter((path) => {
    const names = path.split('/');
    const prefixes = names.map((_n, i) => names.slice(0, i + 1).join('/'));
    return excluding.some((re) => prefixes.some((p) => re.test(p)) || names.some((n) => re.test(n)));
  });
}

function globRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') re += glob[i + 1] === '*' ? (i++, '.*') : '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i);
      if (end < 0) re += '\\[';
      else {
        re += `[${glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
