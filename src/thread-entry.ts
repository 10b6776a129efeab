/**
 * How to start a worker thread on a module that sits next to the caller's, whether this process
 * runs the built JavaScript or the TypeScript sources (tests, through tsx).
 *
 * Worker threads do not apply `--import` hooks to their entry module, so from the sources the
 * thread starts from a one-line bootstrap that registers tsx first.
 */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** True when `moduleUrl` is a TypeScript source file. */
export function isSourceUrl(moduleUrl: string): boolean {
  return moduleUrl.endsWith('.ts');
}

/** The module `stem` (no extension) next to `moduleUrl`, as a file path. */
export function siblingPath(moduleUrl: string, stem: string): string {
  return fileURLToPath(new URL(`./${stem}${isSourceUrl(moduleUrl) ? '.ts' : '.js'}`, moduleUrl));
}

/** The `Worker` constructor's first argument and `eval` option for the sibling module `stem`. */
export function threadEntry(moduleUrl: string, stem: string): { entry: string; evaluate: boolean } {
  const file = siblingPath(moduleUrl, stem);
  if (!isSourceUrl(moduleUrl)) return { entry: file, evaluate: false };
  // The ESM build of tsx's API sits next to the CommonJS one that require.resolve finds.
  const api = pathToFileURL(createRequire(moduleUrl).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;
  const main = pathToFileURL(file).href;
  return { entry: `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(main)}); })`, evaluate: true };
}
