/** A small unified diff of two texts, line by line, for `spoolkit init --dry-run`. */

const CONTEXT_LINES = 3;
// Above this many cells the longest-common-subsequence table is skipped and the file is shown
// as replaced whole; generated files are far smaller.
const MAX_TABLE_CELLS = 4_000_000;

type Op = { kind: ' ' | '-' | '+'; line: string; a: number; b: number };

/** A unified diff of `before` (null: the file does not exist) and `after`, or '' when equal. */
export function unifiedDiff(path: string, before: string | null, after: string): string {
  if (before === after) return '';
  const a = before === null ? [] : splitLines(before);
  const b = splitLines(after);
  const ops = diffLines(a, b);
  const hunks = toHunks(ops);
  const head = `--- ${before === null ? '/dev/null' : `a/${path}`}\n+++ b/${path}\n`;
  return head + hunks.join('');
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

function diffLines(a: readonly string[], b: readonly string[]): Op[] {
  const n = a.length;
  const m = b.length;
  if ((n + 1) * (m + 1) > MAX_TABLE_CELLS) {
    return [...a.map((line, i) => ({ kind: '-' as const, line, a: i, b: 0 })), ...b.map((line, j) => ({ kind: '+' as const, line, a: n, b: j }))];
  }
  // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
  const width = m + 1;
  const lcs = new Uint32Array((n + 1) * width);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * width + j] = a[i] === b[j] ? (lcs[(i + 1) * width + j + 1] as number) + 1 : Math.max(lcs[(i + 1) * width + j] as number, lcs[i * width + j + 1] as number);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ kind: ' ', line: a[i] as string, a: i, b: j });
      i++;
      j++;
    } else if (i < n && (j >= m || (lcs[(i + 1) * width + j] as number) >= (lcs[i * width + j + 1] as number))) {
      // Removals before additions, as diff(1) shows a changed line.
      ops.push({ kind: '-', line: a[i] as string, a: i, b: j });
      i++;
    } else {
      ops.push({ kind: '+', line: b[j] as string, a: i, b: j });
      j++;
    }
  }
  return ops;
}

function toHunks(ops: readonly Op[]): string[] {
  const hunks: string[] = [];
  let k = 0;
  while (k < ops.length) {
    while (k < ops.length && ops[k]?.kind === ' ') k++;
    if (k >= ops.length) break;
    const start = Math.max(0, k - CONTEXT_LINES);
    let end = k;
    // Extend while changes are closer than two context blocks apart.
    let lastChange = k;
    while (end < ops.length) {
      if (ops[end]?.kind !== ' ') lastChange = end;
      else if (end - lastChange > CONTEXT_LINES * 2) break;
      end++;
    }
    end = Math.min(ops.length, lastChange + CONTEXT_LINES + 1);
    const slice = ops.slice(start, end);
    const first = slice[0] as Op;
    const aCount = slice.filter((o) => o.kind !== '+').length;
    const bCount = slice.filter((o) => o.kind !== '-').length;
    const aStart = aCount === 0 ? first.a : first.a + 1;
    const bStart = bCount === 0 ? first.b : first.b + 1;
    hunks.push(`@@ -${aStart},${aCount} +${bStart},${bCount} @@\n${slice.map((o) => `${o.kind}${o.line}\n`).join('')}`);
    k = end;
  }
  return hunks;
}
