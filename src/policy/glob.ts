/**
 * Matches a name against a glob with `*` (any run, possibly empty) and `?` (one character);
 * everything else is literal. Iterative with one backtrack point: linear-ish, never exponential
 * whatever the pattern (admins write these; tool names come from servers).
 */
export function matchGlob(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  let star = -1;
  let mark = 0;
  while (n < name.length) {
    if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      mark = n;
    } else if (p < pattern.length && (pattern[p] === '?' || pattern[p] === name[n])) {
      p++;
      n++;
    } else if (star >= 0) {
      p = star + 1;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

export function isGlob(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

/**
 * How specific a pattern is: an exact name beats any glob; among globs, more literal
 * characters beat fewer. Used to pick the rule that wins when several match.
 */
export function specificity(pattern: string): number {
  if (!isGlob(pattern)) return 10_000;
  return pattern.replace(/[*?]/g, '').length;
}
