/**
 * Admin-named customer fields (`customer.email`, `*.ssn`, `billing.*`, `ssn`): which JSON
 * values are customer data by where they sit, whatever they look like.
 *
 * Syntax: dot-separated segments. A segment is a key name, `*` (exactly one key) or `**` (any
 * number of keys, including none). A pattern without a dot (`ssn`) matches that key at any
 * depth (the same as `**.ssn`). Array indices are transparent: `customers.email` matches
 * `customers[3].email`. Keys compare exactly (case-sensitive), as JSON does. A match covers the
 * whole value there: a matched object or array is masked leaf by leaf.
 */

export type PathSegment = { kind: 'key'; name: string } | { kind: 'one' } | { kind: 'any' };

export interface FieldPattern {
  /** As the admin wrote it (for messages and `mask --json`). */
  source: string;
  segments: PathSegment[];
}

/** Parses one field pattern, or returns why it is not one. */
export function parseFieldPattern(source: string): FieldPattern | { error: string } {
  const text = source.trim();
  if (text === '') return { error: 'is empty: write a field name or a dotted path' };
  if (text.length > 512) return { error: 'is longer than 512 characters' };
  const parts = text.split('.');
  if (parts.some((p) => p === ''))
    return { error: `has an empty segment ('${text}'): write e.g. customer.email` };
  const segments: PathSegment[] = parts.map((p) =>
    p === '**' ? { kind: 'any' } : p === '*' ? { kind: 'one' } : { kind: 'key', name: p },
  );
  for (const p of parts) {
    if (p !== '*' && p !== '**' && p.includes('*'))
      return { error: `segment '${p}' mixes '*' with a name: use '*' or '**' as a whole segment` };
  }
  if (segments.length === 1 && segments[0]?.kind === 'key') segments.unshift({ kind: 'any' });
  if (segments.every((s) => s.kind !== 'key'))
    return { error: `'${text}' would mask every value: name at least one key` };
  return { source: text, segments };
}

/** Whether a key path (array indices left out) matches a pattern. Linear in both lengths. */
export function matchesFieldPath(path: readonly string[], pattern: FieldPattern): boolean {
  const segs = pattern.segments;
  // Glob matching with a single `**` backtrack point per position: O(path × segments) at worst.
  let p = 0;
  let s = 0;
  let starS = -1;
  let starP = 0;
  while (p < path.length) {
    const seg = segs[s];
    if (seg && seg.kind === 'any') {
      starS = s;
      starP = p;
      s += 1;
      continue;
    }
    if (seg && (seg.kind === 'one' || seg.name === path[p])) {
      s += 1;
      p += 1;
      continue;
    }
    if (starS >= 0) {
      s = starS + 1;
      starP += 1;
      p = starP;
      continue;
    }
    return false;
  }
  while (segs[s]?.kind === 'any') s += 1;
  return s === segs.length;
}

/** The first pattern the path matches, or null. */
export function fieldRuleFor(
  path: readonly string[],
  patterns: readonly FieldPattern[],
): FieldPattern | null {
  for (const pattern of patterns) if (matchesFieldPath(path, pattern)) return pattern;
  return null;
}
