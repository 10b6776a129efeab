/**
 * Saves the generator's options under the `spoolkit` key of package.json, keeping every other key
 * (and the keys the runtime reads, `web` and `processors`) where they are.
 */
import type { InitOptions } from './options.js';

/** What the `spoolkit` key must hold. */
export interface SavedSettings {
  readonly web: string | readonly string[];
  readonly processors: string;
  readonly init: InitOptions;
}

/** The new package.json text, or the old text unchanged when the settings are already saved. */
export function mergeSavedSettings(text: string, saved: SavedSettings): string {
  const pkg = JSON.parse(text) as Record<string, unknown>;
  const before = pkg.spoolkit;
  const key: Record<string, unknown> = typeof before === 'object' && before !== null && !Array.isArray(before) ? { ...(before as Record<string, unknown>) } : {};
  key.processors = saved.processors;
  key.web = saved.web;
  if (Object.keys(saved.init).length === 0) delete key.init;
  else if (canonical(key.init) !== canonical(saved.init)) key.init = saved.init;
  if (JSON.stringify(key) === JSON.stringify(before)) return text;
  pkg.spoolkit = key;
  const indent = /^([ \t]+)"/m.exec(text)?.[1] ?? '  ';
  return `${JSON.stringify(pkg, null, indent)}${text.endsWith('\n') ? '\n' : ''}`;
}

/** JSON with object keys sorted, so key order alone never counts as a change. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}
