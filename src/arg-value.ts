/**
 * Small readers of values callers pass in, shared by the checks at the API's boundary.
 */

/** A value as an error message shows it: a string quoted (so '' and ' 1 ' show), anything else as String() gives it. */
export function shown(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/**
 * A number, or a string holding one ('100', as an environment variable gives it), which BullMQ
 * hands Redis as that number; anything else (a blank string included) is NaN.
 */
export function numberLike(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  return Number.NaN;
}
