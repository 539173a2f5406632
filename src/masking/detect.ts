import type { DetectorRule } from './rules.js';
import { KeywordScanner } from './keywords.js';
import { IP_RULES, PII_RULES, SECRET_RULES, passesGates } from './rules.js';

/** Where a value was found; never the value itself. */
export interface Finding {
  kind: string;
  rule: string;
  /** Character offsets in the input. */
  start: number;
  end: number;
}

export interface DetectOptions {
  rules?: readonly DetectorRule[];
  /** Detector ids or kinds to leave out (an admin's exemptions). */
  exempt?: ReadonlySet<string>;
}

/** Every built-in rule; IP addresses only when asked for. */
export function builtInRules(options: { ipAddresses?: boolean } = {}): DetectorRule[] {
  return [...SECRET_RULES, ...PII_RULES, ...(options.ipAddresses ? IP_RULES : [])];
}

const DEFAULT_RULES = builtInRules();

const scanners = new WeakMap<
  readonly DetectorRule[],
  { scanner: KeywordScanner; ruleKeywords: number[][] }
>();

/** One keyword automaton per rule list (built once). */
function scannerFor(rules: readonly DetectorRule[]) {
  let entry = scanners.get(rules);
  if (!entry) {
    const words: string[] = [];
    const ruleKeywords = rules.map((r) =>
      r.keywords.map((k) => {
        const at = words.indexOf(k);
        if (at >= 0) return at;
        words.push(k);
        return words.length - 1;
      }),
    );
    entry = { scanner: new KeywordScanner(words), ruleKeywords };
    scanners.set(rules, entry);
  }
  return entry;
}

/**
 * Finds secrets and personal data in text. A rule runs only when one of its keywords occurs in
 * the (lower-cased) text; overlapping findings keep the longest (then the earliest rule).
 * Pure; linear in the input for every rule (bounded, literal-prefixed patterns).
 */
export function detectFindings(text: string, options: DetectOptions = {}): Finding[] {
  const rules = options.rules ?? DEFAULT_RULES;
  const { scanner, ruleKeywords } = scannerFor(rules);
  const present = scanner.present(text);
  const found: (Finding & { priority: number })[] = [];
  for (const [priority, rule] of rules.entries()) {
    if (options.exempt && (options.exempt.has(rule.id) || options.exempt.has(rule.kind))) continue;
    if (!(ruleKeywords[priority] ?? []).some((k) => present.has(k))) continue;
    rule.pattern.lastIndex = 0;
    for (const m of text.matchAll(rule.pattern)) {
      const full = m[0];
      const secret = rule.group !== undefined ? m[rule.group] : full;
      if (!secret || !passesGates(rule, secret)) continue;
      const offset = rule.group !== undefined ? full.indexOf(secret) : 0;
      const start = (m.index ?? 0) + Math.max(0, offset);
      found.push({ kind: rule.kind, rule: rule.id, start, end: start + secret.length, priority });
    }
  }
  return resolveOverlaps(found);
}

/**
 * Overlapping findings: the earlier rule in the list wins (secrets come before personal data, so
 * the password in `postgres://user:pw@host` is a password, not an email), then the longer one.
 */
function resolveOverlaps(found: (Finding & { priority: number })[]): Finding[] {
  const ranked = [...found].sort(
    (a, b) => a.priority - b.priority || b.end - b.start - (a.end - a.start) || a.start - b.start,
  );
  const kept: Finding[] = [];
  for (const { priority: _priority, ...f } of ranked) {
    if (kept.some((k) => f.start < k.end && k.start < f.end)) continue;
    kept.push(f);
  }
  return kept.sort((a, b) => a.start - b.start);
}

/** Replaces each finding with `[REDACTED:<kind>]`. */
export function applyMask(text: string, findings: readonly Finding[]): string {
  let out = '';
  let at = 0;
  for (const f of findings) {
    out += `${text.slice(at, f.start)}[REDACTED:${f.kind}]`;
    at = f.end;
  }
  return out + text.slice(at);
}

/** Detect and mask in one step; the counts per kind go to the audit record and `_meta`. */
export function maskSecrets(
  text: string,
  options: DetectOptions = {},
): { text: string; counts: Record<string, number> } {
  const findings = detectFindings(text, options);
  const counts: Record<string, number> = {};
  for (const f of findings) counts[f.kind] = (counts[f.kind] ?? 0) + 1;
  return { text: applyMask(text, findings), counts };
}
