/**
 * Option parsers shared by the spoolkit commands: strict whole numbers whose errors name the
 * flag, and comma-separated lists.
 */
import { parseInteger } from '../config.js';
import { MAX_TIMER_MS } from '../spool/defaults.js';

export { MAX_TIMER_MS };

/** A commander argument parser for a whole number from `min` to `max` (errors name `flag`). */
export function integerOption(flag: string, min = 0, max?: number): (value: string) => number {
  return (value) => parseInteger(value, flag, max === undefined ? { min } : { min, max });
}

/** A commander argument parser for a comma-separated list of non-empty names. */
export function listOption(value: string, previous: string[] | undefined): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return [...(previous ?? []), ...items];
}
