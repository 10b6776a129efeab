/**
 * Text from tools that write for a terminal (compose prints line erasers even with --no-color,
 * npm colours its errors inside a build), made plain for error messages and logs.
 */

/** `text` without terminal control sequences. */
export function withoutTerminalCodes(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
}
