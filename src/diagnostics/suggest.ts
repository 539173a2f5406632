/** Edit distance, bounded: the suggestion only matters for near misses. */
function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] ?? 0;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      prev[j] = Math.min(up + 1, (prev[j - 1] ?? 0) + 1, diag + cost);
      diag = up;
    }
  }
  return prev[b.length] ?? 0;
}

/**
 * The known key an unknown one was probably meant to be, so a typo like `mcp_server` gets
 * "did you mean `mcp_servers`?" instead of being silently ignored.
 */
export function suggestKey(unknown: string, known: readonly string[]): string | undefined {
  const lower = unknown.toLowerCase();
  let best: string | undefined;
  let bestScore = Infinity;
  for (const candidate of known) {
    const c = candidate.toLowerCase();
    // Edit distance decides; a prefix relation (`mcp_server` / `mcp_servers`) only breaks ties.
    const score = levenshtein(lower, c) - (c.startsWith(lower) || lower.startsWith(c) ? 0.5 : 0);
    if (score < bestScore) {
      bestScore = score;
      best = candidate;
    }
  }
  const limit = Math.max(2, Math.floor(unknown.length / 3));
  return bestScore <= limit ? best : undefined;
}
