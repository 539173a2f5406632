/**
 * A unified diff (`diff -u` shape, 3 lines of context) of two texts, so a person sees exactly
 * what `gatehouse connect` will change before anything is written. Pure.
 */
export function unifiedDiff(
  before: string,
  after: string,
  labels: { from: string; to: string },
  context = 3,
): string {
  if (before === after) return '';
  const a = splitLines(before);
  const b = splitLines(after);
  const ops = diffLines(a, b);
  const hunks: string[] = [];
  let i = 0;
  while (i < ops.length) {
    while (i < ops.length && ops[i]?.kind === 'same') i++;
    if (i >= ops.length) break;
    let start = Math.max(0, i - context);
    let end = i;
    // Extend the hunk while changes are closer than 2×context lines apart.
    for (;;) {
      while (end < ops.length && ops[end]?.kind !== 'same') end++;
      let next = end;
      while (next < ops.length && ops[next]?.kind === 'same') next++;
      if (next < ops.length && next - end <= 2 * context) end = next;
      else break;
    }
    const stop = Math.min(ops.length, end + context);
    const slice = ops.slice(start, stop);
    const aStart = (slice[0]?.aLine ?? 0) + 1;
    const bStart = (slice[0]?.bLine ?? 0) + 1;
    const aCount = slice.filter((o) => o.kind !== 'add').length;
    const bCount = slice.filter((o) => o.kind !== 'del').length;
    hunks.push(
      `@@ -${aCount === 0 ? aStart - 1 : aStart},${aCount} +${bCount === 0 ? bStart - 1 : bStart},${bCount} @@`,
      ...slice.map((o) => (o.kind === 'same' ? ' ' : o.kind === 'add' ? '+' : '-') + o.text),
    );
    i = stop;
    start = stop;
  }
  return [`--- ${labels.from}`, `+++ ${labels.to}`, ...hunks].join('\n') + '\n';
}

interface DiffOp {
  kind: 'same' | 'add' | 'del';
  text: string;
  /** Index of the line in `a` (for same/del) or the position in `a` before which it is added. */
  aLine: number;
  bLine: number;
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Longest-common-subsequence line diff; config files are small, O(n·m) after trimming is fine. */
function diffLines(a: readonly string[], b: readonly string[]): DiffOp[] {
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (
    suf < a.length - pre &&
    suf < b.length - pre &&
    a[a.length - 1 - suf] === b[b.length - 1 - suf]
  )
    suf++;
  const am = a.slice(pre, a.length - suf);
  const bm = b.slice(pre, b.length - suf);
  const n = am.length;
  const m = bm.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let x = n - 1; x >= 0; x--) {
    const row = lcs[x] as Uint32Array;
    const below = lcs[x + 1] as Uint32Array;
    for (let y = m - 1; y >= 0; y--)
      row[y] =
        am[x] === bm[y]
          ? (below[y + 1] as number) + 1
          : Math.max(below[y] as number, row[y + 1] as number);
  }
  const ops: DiffOp[] = [];
  for (let k = 0; k < pre; k++)
    ops.push({ kind: 'same', text: a[k] as string, aLine: k, bLine: k });
  let x = 0;
  let y = 0;
  while (x < n || y < m) {
    if (x < n && y < m && am[x] === bm[y]) {
      ops.push({ kind: 'same', text: am[x] as string, aLine: pre + x, bLine: pre + y });
      x++;
      y++;
    } else if (y < m && (x >= n || (lcs[x]?.[y + 1] ?? 0) >= (lcs[x + 1]?.[y] ?? 0))) {
      ops.push({ kind: 'add', text: bm[y] as string, aLine: pre + x, bLine: pre + y });
      y++;
    } else {
      ops.push({ kind: 'del', text: am[x] as string, aLine: pre + x, bLine: pre + y });
      x++;
    }
  }
  for (let k = 0; k < suf; k++)
    ops.push({
      kind: 'same',
      text: a[a.length - suf + k] as string,
      aLine: a.length - suf + k,
      bLine: b.length - suf + k,
    });
  return ops;
}
