/**
 * Sortable keys for the ordered sets (waiting, lifo, prioritized, delayed).
 *
 * A key is `<13-digit ms>-<8-char base36 counter>-<4-char process tag>`. Keys sort as strings:
 * by time, then by this process's counter (so FIFO is strict within one producer, even within one
 * millisecond or if the wall clock steps back), then by process tag. Between producers, order is
 * by millisecond; jobs two producers add in the same millisecond are ordered arbitrarily.
 *
 * LIFO keys invert both time and counter, so the newest LIFO job sorts first.
 */
import { randomBytes } from 'node:crypto';

const MAX_MS = 9_999_999_999_999;
const COUNTER_SPAN = 36 ** 8;

/** This process's tag in keys and temp names: 4 base36 characters. */
export const PROCESS_TAG = (randomBytes(4).readUInt32BE(0) % 36 ** 4).toString(36).padStart(4, '0');

let nameCounter = 0;

/**
 * A name no other call returns on this host: pid, process tag and a counter, in base36, with no
 * '.' (so it fits in dotted file names). Used for hold tags, lock and spare/trash file names; claim
 * tags carry their process's claim owner instead (claim.ts `newClaimTag`).
 */
export function uniqueName(): string {
  return `${process.pid.toString(36)}${PROCESS_TAG}${(++nameCounter).toString(36)}`;
}

/** Tag of a held file (`reclaiming/<id>.<tag>.json`) whose job is being discarded (never a claim tag: those have no '-'). */
export const DISCARD_TAG_PREFIX = 'rm-';

/** True when a `reclaiming/` name is a discard in progress rather than a job being moved. */
export function isDiscardName(name: string): boolean {
  return tagStartsWith(name, DISCARD_TAG_PREFIX);
}

/**
 * Where the tag of a held or claimed name (`<id>.<tag>.json`) begins: one past the dot before it,
 * so the id is `name.slice(0, at - 1)`; 0 when the name has no tag. The tag is the last dotted
 * part (ids may hold dots and dashes, tags hold no dot).
 */
export function tagStartOf(name: string): number {
  return name.lastIndexOf('.', name.length - 6) + 1;
}

/** True when the tag of a held name (`<id>.<tag>.json`) starts with `prefix`. */
function tagStartsWith(name: string, prefix: string): boolean {
  const tagAt = tagStartOf(name);
  return tagAt > 0 && name.startsWith(prefix, tagAt);
}

/** Tag prefix of a held file whose job an admin operation is moving between sets (it goes back to its set if that process dies). */
export const MOVE_TAG_PREFIX = 'mv-';

/** True when a `reclaiming/` name is a job being moved between sets by an admin operation. */
export function isMoveName(name: string): boolean {
  return tagStartsWith(name, MOVE_TAG_PREFIX);
}

/** Tag prefix of a held file whose delayed job a replacing add (deduplication `replace`) is taking out. */
export const REPLACE_TAG_PREFIX = 'rp-';

/** True when a `reclaiming/` name is a job held by a replacing add. */
export function isReplaceName(name: string): boolean {
  return tagStartsWith(name, REPLACE_TAG_PREFIX);
}

/**
 * True when a `reclaiming/` name holds a job between two sets (a move or a replacing add, for
 * microseconds): not an active job, whose holds carry a claim tag.
 */
export function isSetHoldName(name: string): boolean {
  return isMoveName(name) || isReplaceName(name);
}

let lastMs = 0;
let counter = 0;

function tick(ms: number): { ms: number; n: number } {
  if (ms > lastMs) lastMs = ms;
  counter = (counter + 1) % COUNTER_SPAN;
  return { ms: lastMs, n: counter };
}

function pad13(ms: number): string {
  // Inputs are checked at the API; a NaN here would file a job where no reader looks.
  if (Number.isNaN(ms)) throw new RangeError('A spool key time must be a number (got NaN).');
  return String(Math.max(0, Math.min(MAX_MS, Math.floor(ms)))).padStart(13, '0');
}

/** A FIFO key ordered at `ms` (a due time), or now (monotonic within this process) when omitted. */
export function fifoKey(ms?: number): string {
  const t = tick(Date.now());
  return `${pad13(ms ?? t.ms)}-${t.n.toString(36).padStart(8, '0')}-${PROCESS_TAG}`;
}

/** A LIFO key: sorts before every key made earlier. `ms` defaults to now. */
export function lifoKey(ms?: number): string {
  const t = tick(Date.now());
  const at = ms ?? t.ms;
  return `${pad13(MAX_MS - at)}-${(COUNTER_SPAN - 1 - t.n).toString(36).padStart(8, '0')}-${PROCESS_TAG}`;
}

/** The millisecond field of a key (inverted for LIFO keys). */
export function keyMs(key: string): number {
  return Number(key.slice(0, 13));
}

/** Real time of a LIFO key. */
export function lifoKeyTime(key: string): number {
  return MAX_MS - keyMs(key);
}

/** Leaf bucket size: 2^10 ms (about one second of keys per leaf directory). */
export const LEAF_SHIFT = 10;
/** Top bucket size: 2^20 ms (about 17.5 minutes; at most 1024 leaves each). */
export const TOP_SHIFT = 20;

/** The bucket directories of a key: `[top, leaf]`, zero-padded so they sort as strings. */
export function bucketOf(ms: number): [string, string] {
  const top = Math.floor(ms / 2 ** TOP_SHIFT);
  const leaf = Math.floor(ms / 2 ** LEAF_SHIFT);
  return [String(top).padStart(7, '0'), String(leaf).padStart(10, '0')];
}

/** Start and end (exclusive) ms of a leaf bucket name. */
export function leafRange(leaf: string): [number, number] {
  const n = Number(leaf);
  return [n * 2 ** LEAF_SHIFT, (n + 1) * 2 ** LEAF_SHIFT];
}

/** Start and end (exclusive) ms of a top bucket name. */
export function topRange(top: string): [number, number] {
  const n = Number(top);
  return [n * 2 ** TOP_SHIFT, (n + 1) * 2 ** TOP_SHIFT];
}
