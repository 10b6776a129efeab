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
 * The major an engines range asks for. Each `||` alternative is read as a span of majors (its
 * floor up to its ceiling); an alternative whose floor is at least 20 gives its floor, one that
 * starts lower but reaches 20 or later (">=18", ">16", ">=18 <25") gives the default major (or 20
 * when its ceiling is below the default), and one that ends below 20 ("^18") gives its ceiling, the
 * newest major it allows, which is then refused. Over alternatives the newest wins ("^18 || ^20" gives 20). Undefined when no
 * alternative can be read.
 */
export function majorFromRange(range: string): number | undefined {
  let best: number | undefined;
  for (const clause of range.split('||')) {
    const span = spanOf(clause);
    if (span === undefined) continue;
    const major = span.floor >= MIN_NODE_MAJOR ? span.floor : span.ceiling >= MIN_NODE_MAJOR ? (span.ceiling >= DEFAULT_NODE_MAJOR ? DEFAULT_NODE_MAJOR : MIN_NODE_MAJOR) : span.ceiling;
    if (best === undefined || major > best) best = major;
  }
  return best;
}

/** The majors one alternative of a range allows, both ends inclusive; undefined when unreadable or empty. */
function spanOf(clause: string): { floor: number; ceiling: number } | undefined {
  const text = clause.trim().replace(/([<>]=?|=|\^|~)\s+/g, '$1');
  const hyphen = /^v?(\d+)\S*\s+-\s+v?(\d+)\S*$/.exec(text);
  if (hyphen) return bounded(Number(hyphen[1]), Number(hyphen[2]));
  let floor = 0;
  let ceiling = Number.POSITIVE_INFINITY;
  let read = false;
  for (const token of text.split(/\s+/)) {
    if (token === '' || token === '*' || /^[xX]$/.test(token)) continue;
    const m = /^(>=|<=|>|<|=|\^|~)?v?(\d+)(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?/.exec(token);
    if (!m) return undefined;
    read = true;
    const major = Number(m[2]);
    // ">18.2" still allows 18; "<21.1" still allows 21.
    const finer = [m[3], m[4]].some((part) => part !== undefined && /^\d+$/.test(part) && Number(part) > 0);
    switch (m[1]) {
      case '>=':
        floor = Math.max(floor, major);
        break;
      case '>':
        floor = Math.max(floor, finer ? major : major + 1);
        break;
      case '<=':
        ceiling = Math.min(ceiling, major);
        break;
      case '<':
        ceiling = Math.min(ceiling, finer ? major : major - 1);
        break;
      default:
        floor = Math.max(floor, major);
        ceiling = Math.min(ceiling, major);
    }
  }
  return read ? bounded(floor, ceiling) : undefined;
}

function bounded(floor: number, ceiling: number): { floor: number; ceiling: number } | undefined {
  return floor <= ceiling ? { floor, ceiling } : undefined;
}
