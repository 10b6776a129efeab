/**
 * Picks the Node.js major version for the base image from what the app declares: an explicit
 * option, `.nvmrc`, `.node-version`, then package.json `engines.node`. Never from the host.
 */
import { ConfigError } from '../../errors.js';
import type { ProjectSnapshot } from '../project.js';

/** Used when the app declares no version. */
export const DEFAULT_NODE_MAJOR = 22;
/** The oldest Node.js major spoolkit runs on. */
export const MIN_NODE_MAJOR = 20;

/** nvm's LTS code names. */
const LTS_CODENAMES: Readonly<Record<string, number>> = {
  argon: 4,
  boron: 6,
  carbon: 8,
  dubnium: 10,
  erbium: 12,
  fermium: 14,
  gallium: 16,
  hydrogen: 18,
  iron: 20,
  jod: 22,
  krypton: 24,
};

/** A Node.js major version and where it was declared. */
export interface NodeVersionModel {
  readonly major: number;
  readonly source: string;
}

/** Detects the Node.js major version. */
export function detectNodeVersion(snapshot: ProjectSnapshot, explicit: number | undefined): NodeVersionModel {
  const found = explicit !== undefined ? { major: explicit, source: 'the nodeVersion option' } : fromFiles(snapshot);
  if (found.major < MIN_NODE_MAJOR) {
    throw new ConfigError(
      `${found.source} asks for Node.js ${found.major}, but spoolkit needs Node.js ${MIN_NODE_MAJOR} or newer. ` +
        `Raise it (or pass --node ${MIN_NODE_MAJOR}).`,
    );
  }
  return found;
}

function fromFiles(snapshot: ProjectSnapshot): NodeVersionModel {
  for (const file of ['.nvmrc', '.node-version']) {
    const text = snapshot.texts[file];
    if (text === undefined) continue;
    const major = parseVersionFile(text);
    if (major !== undefined) return { major, source: file };
  }
  const engines = snapshot.packageJson.engines;
  const range = typeof engines === 'object' && engines !== null ? (engines as Record<string, unknown>).node : undefined;
  if (typeof range === 'string') {
    const major = majorFromRange(range);
    if (major !== undefined) return { major, source: `package.json engines.node ("${range}")` };
  }
  return { major: DEFAULT_NODE_MAJOR, source: 'the default (no .nvmrc, .node-version or engines.node)' };
}

/** Reads `.nvmrc` / `.node-version` text: "20", "v20.11.1", "lts/iron". Undefined when it names no fixed major. */
export function parseVersionFile(text: string): number | undefined {
  const line = text.split(/\r?\n/).map((l) => l.replace(/#.*/, '').trim()).find((l) => l.length > 0);
  if (line === undefined) return undefined;
  const lts = /^lts\/([a-z]+)$/i.exec(line);
  if (lts) return LTS_CODENAMES[(lts[1] as string).toLowerCase()];
  const m = /^v?(\d+)(?:\.|$)/.exec(line);
  return m ? Number(m[1]) : undefined;
}

/**
 * The major an engines range starts at. Over `||` alternatives, the newest starting major wins
 * ("^18 || ^20" gives 20), so the image runs the newest line the app says it supports at its floor.
 */
export function majorFromRange(range: string): number | undefined {
  let best: number | undefined;
  for (const clause of range.split('||')) {
    const m = /(?:^|\s)(?:>=|\^|~|=|v)?\s*v?(\d+)(?:[.\s]|x|$)/.exec(clause.trim().replace(/^>(?!=)\s*(\d+)/, (_s, d: string) => `>=${Number(d) + 1}`));
    if (!m) continue;
    const major = Number(m[1]);
    if (best === undefined || major > best) best = major;
  }
  return best;
}
