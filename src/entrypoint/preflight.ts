/**
 * The spool check run before a role starts: the spool exists, this uid can write it, and every
 * state directory is on one filesystem. A failure stops the container at once with the fix
 * spelled out, instead of letting jobs fail one by one later.
 */

/** One problem found by the spool check (the shape `checkSpool` returns). */
export interface SpoolProblem {
  code: string;
  message: string;
  fix: string;
}

/** The result of `checkSpool`. */
export interface SpoolCheckResult {
  ok: boolean;
  problems: SpoolProblem[];
  uid: number;
  ownerUid: number | null;
  sameFilesystem: boolean;
}

/** Formats a failed check as lines for stderr, one per problem, each with its fix; `from` names where the path came from. */
export function formatSpoolProblems(root: string, check: SpoolCheckResult, from?: string): string {
  const lines = check.problems.map((p) => `spoolkit: spool ${root}${from === undefined ? '' : ` (from ${from})`}: ${p.message} Fix: ${p.fix} [${p.code}]`);
  return `${lines.join('\n')}\n`;
}
