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
  const before = (JSON.parse(text) as Record<string, unknown>).spoolkit;
  const key: Record<string, unknown> = typeof before === 'object' && before !== null && !Array.isArray(before) ? { ...(before as Record<string, unknown>) } : {};
  key.processors = saved.processors;
  key.web = saved.web;
  if (Object.keys(saved.init).length === 0) delete key.init;
  else if (canonical(key.init) !== canonical(saved.init)) key.init = saved.init;
  if (JSON.stringify(key) === JSON.stringify(before)) return text;
  return replaceTopLevelValue(text, 'spoolkit', key);
}

/**
 * Sets one top-level key of a JSON object's text, leaving every other byte as the user wrote it
 * (one-line arrays, key order, line endings): the value is replaced in place, or the key is
 * added after the last member. The text must already be valid JSON holding an object.
 */
function replaceTopLevelValue(text: string, name: string, value: unknown): string {
  const { members, open, close } = scanTopLevel(text);
  const nl = text.includes('\r\n') ? '\r\n' : '\n';
  const indent = /^([ \t]+)"/m.exec(text)?.[1] ?? '  ';
  const rendered = JSON.stringify(value, null, indent).replace(/\n/g, `${nl}${indent}`);
  const existing = members.filter((m) => m.key === name).pop();
  if (existing) return `${text.slice(0, existing.valueStart)}${rendered}${text.slice(existing.valueEnd)}`;
  const last = members[members.length - 1];
  if (last) return `${text.slice(0, last.valueEnd)},${nl}${indent}${JSON.stringify(name)}: ${rendered}${text.slice(last.valueEnd)}`;
  return `${text.slice(0, open + 1)}${nl}${indent}${JSON.stringify(name)}: ${rendered}${nl}${text.slice(close)}`;
}

interface Member {
  readonly key: string;
  readonly valueStart: number;
  readonly valueEnd: number;
}

/** The top-level members of a JSON object's text, with where each value starts and ends. */
function scanTopLevel(text: string): { members: Member[]; open: number; close: number } {
  let i = text.indexOf('{');
  const open = i;
  i++;
  const members: Member[] = [];
  const skipBlank = (): void => {
    while (i < text.length && /\s/.test(text[i] as string)) i++;
  };
  const skipString = (): void => {
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
  };
  const skipValue = (): void => {
    if (text[i] === '"') return skipString();
    if (text[i] === '{' || text[i] === '[') {
      let depth = 0;
      do {
        const c = text[i];
        if (c === '"') {
          skipString();
          continue;
        }
        if (c === '{' || c === '[') depth++;
        else if (c === '}' || c === ']') depth--;
        i++;
      } while (depth > 0 && i < text.length);
      return;
    }
    while (i < text.length && !/[\s,}\]]/.test(text[i] as string)) i++;
  };
  for (;;) {
    skipBlank();
    if (text[i] === ',') {
      i++;
      continue;
    }
    if (text[i] !== '"') break;
    const keyStart = i;
    skipString();
    const key = JSON.parse(text.slice(keyStart, i)) as string;
    skipBlank();
    i++; // the colon
    skipBlank();
    const valueStart = i;
    skipValue();
    members.push({ key, valueStart, valueEnd: i });
  }
  return { members, open, close: i };
}

/** JSON with object keys sorted, so key order alone never counts as a change. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}
