/**
 * The build context as `docker build` would send it: every file under the context directory
 * except those a `.dockerignore` excludes (Go-style patterns, `**`, `!` exceptions, the last
 * matching pattern wins, a pattern matching a directory excludes everything beneath it).
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

interface Rule {
  negate: boolean;
  regex: RegExp;
}

/** Compiles `.dockerignore` text into a predicate over context-relative paths (forward slashes). */
export function dockerignoreFilter(text: string): (relPath: string) => boolean {
  const rules: Rule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    if (negate) line = line.slice(1).trim();
    line = path.posix.normalize(line.replace(/^\/+/, '')).replace(/\/+$/, '');
    if (!line || line === '.') continue;
    rules.push({ negate, regex: patternRegex(line) });
  }
  return (relPath: string): boolean => {
    const parts = relPath.split('/');
    let excluded = false;
    for (const rule of rules) {
      // A pattern excludes a path when it matches the path itself or one of its parent directories.
      for (let i = 1; i <= parts.length; i++) {
        if (rule.regex.test(parts.slice(0, i).join('/'))) {
          excluded = !rule.negate;
          break;
        }
      }
    }
    return excluded;
  };
}

function patternRegex(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        // `**/` matches zero or more directories; a trailing `**` matches everything.
        if (pattern[i + 2] === '/') {
          out += '(?:.*/)?';
          i += 2;
        } else {
          out += '.*';
          i += 1;
        }
      } else {
        out += '[^/]*';
      }
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const end = pattern.indexOf(']', i);
      if (end === -1) out += '\\[';
      else {
        out += `[${pattern.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < pattern.length) {
      out += escapeRegex(pattern[i + 1] as string);
      i += 1;
    } else {
      out += escapeRegex(c);
    }
  }
  return new RegExp(`^${out}$`);
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * Lists the files (relative, forward slashes) of a build context after `.dockerignore`, always
 * keeping the Dockerfile and `.dockerignore` themselves as the Docker CLI does.
 */
export async function contextFiles(contextDir: string, dockerfile: string): Promise<string[]> {
  let ignoreText = '';
  try {
    ignoreText = await readFile(path.join(contextDir, '.dockerignore'), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const excluded = dockerignoreFilter(ignoreText);
  const keep = new Set(['.dockerignore', dockerfile.split(path.sep).join('/')]);
  const files: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(path.join(contextDir, rel), { withFileTypes: true });
    for (const e of entries) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (excluded(child) && !keep.has(child)) {
        // Exceptions (`!pattern`) may re-include files under an excluded directory; descend only
        // when some rule could, which the filter answers per file.
        if (e.isDirectory() && /(^|\n)\s*!/.test(ignoreText)) await walk(child);
        continue;
      }
      if (e.isDirectory()) await walk(child);
      else if (e.isFile() || e.isSymbolicLink()) files.push(child);
    }
  };
  await walk('');
  for (const k of keep) if (!files.includes(k) && (await exists(path.join(contextDir, k)))) files.push(k);
  return files.sort();
}

async function exists(p: string): Promise<boolean> {
  try {
    await readFile(p);
    return true;
  } catch {
    return false;
  }
}
