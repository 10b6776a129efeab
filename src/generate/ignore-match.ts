/**
 * Whether a path is excluded by `.dockerignore`-syntax patterns (the `.dockerignore` init writes,
 * and `.gitignore` translated by `translateGitignore`), with the testing kit's matcher: the same
 * rules `docker build` applies to its context.
 */
import { dockerignoreFilter } from '../testing/dockerignore.js';

/** True when `path` (relative, `/`-separated) is excluded by `patterns`. */
export function isIgnored(path: string, patterns: readonly string[]): boolean {
  return dockerignoreFilter(patterns.join('\n'))(path.replace(/^\.\//, '').replace(/\/+$/, ''));
}
