import type { DetectorRule } from './rules.js';
import { PII_RULES } from './rules.js';
import type { Finding, RankedFinding } from './detect.js';
import { builtInRules, collectFindings, resolveOverlaps } from './detect.js';
import { fieldRuleFor } from './field-paths.js';
import type { JsonLeafSpan } from './json-spans.js';
import { findFieldValues } from './json-spans.js';
import { MIN_CUSTOM_MATCH } from './custom-patterns.js';
import type { MaskingPolicy } from './policy.js';
import type { TokenVault } from './tokens.js';

/** Masking could not be done safely: the content is withheld, never passed through unmasked. */
export class MaskingError extends Error {}

/** JSON nested deeper than this is withheld rather than masked partially. */
export const MAX_JSON_DEPTH = 128;

/** Redaction counts per kind, for the audit record and the result's `_meta`. */
export type MaskCounts = Record<string, number>;

/** Texts up to this long are remembered when clean (see Masker.maskText). */
const CLEAN_CACHE_MAX_CHARS = 64;
const CLEAN_CACHE_ENTRIES = 20_000;

/** Where a finding came from when it is not a built-in detector. */
const FIELD_PRIORITY = -1;

/** A finding plus how its replacement is written (a JSON number masked by a field rule is quoted). */
export interface PlacedFinding extends Finding {
  quote?: boolean;
  /** Set when the span is the inside of a JSON string (its value may hold escapes). */
  jsonString?: boolean;
}

/**
 * The masking engine for one policy: finds secrets, personal data, admin patterns and admin
 * fields in text, and writes the replacements (`[REDACTED:kind]`, a partial form, or a
 * reversible token). Pure apart from the session's token vault.
 */
export class Masker {
  private readonly rules: readonly DetectorRule[];
  private readonly exempt: ReadonlySet<string>;
  private readonly piiStart: number;
  /** The server whose output this masker masks: reversible tokens are minted per server. */
  private scope = '';

  constructor(
    readonly policy: MaskingPolicy,
    private readonly vault: TokenVault | null = null,
  ) {
    this.rules = builtInRules({ ipAddresses: policy.ipAddresses });
    this.exempt = new Set(policy.exemptDetectors);
    const firstPii = PII_RULES[0];
    this.piiStart = firstPii ? this.rules.indexOf(firstPii) : this.rules.length;
  }

  /**
   * The same masker for one server's output: its reversible tokens are that server's own (the
   * same value from another server gets another token). Shares the rules and the vault.
   */
  scoped(scope: string): Masker {
    const view = Object.create(this) as Masker;
    view.scope = scope;
    return view;
  }

  /** Every finding in `text`, overlaps resolved (for `gatehouse mask --json`). Never the values. */
  findings(text: string, options: { json?: boolean } = {}): PlacedFinding[] {
    const found: (RankedFinding & PlacedFinding)[] = collectFindings(text, {
      rules: this.rules,
      exempt: this.exempt,
    });
    for (const pattern of this.policy.patterns) {
      if (this.exempt.has(pattern.kind)) continue;
      pattern.regex.lastIndex = 0;
      for (const m of text.matchAll(pattern.regex)) {
        if (m[0].length < MIN_CUSTOM_MATCH) continue;
        const start = m.index ?? 0;
        // Between the secrets and personal data: a token is a token before it is an order id.
        found.push({
          kind: pattern.kind,
          rule: `pattern:${pattern.kind}`,
          start,
          end: start + m[0].length,
          priority: this.piiStart - 0.5,
        });
      }
    }
    if (options.json !== false && this.policy.fields.length > 0) {
      for (const f of this.fieldFindings(text)) found.push(f); // not spread: may be millions
    }
    for (const f of found) keepEscapesWhole(text, f);
    const kept = resolveOverlaps(found) as PlacedFinding[];
    for (const f of kept) if (!f.quote && !f.jsonString) quoteBareJsonScalar(text, f);
    return kept;
  }

  /**
   * Short texts found clean, per session: structured data repeats the same keys and values
   * (`description`, `created_at`, `true`) thousands of times, and detection is a pure function
   * of the text under one policy. Bounded; cleared when full.
   */
  private readonly clean = new Set<string>();

  /** Masks text; counts go into `counts`. JSON text also gets the admin's field rules. */
  maskText(text: string, counts: MaskCounts, options: { json?: boolean } = {}): string {
    if (text.length === 0) return text;
    const cacheable =
      text.length <= CLEAN_CACHE_MAX_CHARS &&
      (options.json === false || this.policy.fields.length === 0);
    if (cacheable && this.clean.has(text)) return text;
    const findings = this.findings(text, options);
    if (findings.length === 0) {
      if (cacheable) {
        if (this.clean.size >= CLEAN_CACHE_ENTRIES) this.clean.clear();
        this.clean.add(text);
      }
      return text;
    }
    let out = '';
    let at = 0;
    for (const f of findings) {
      const original = text.slice(f.start, f.end);
      out += text.slice(at, f.start);
      const value = f.jsonString ? decodeJsonStringBody(original) : original;
      const replacement = this.replacement(f.kind, value);
      out += f.quote ? `"${replacement}"` : replacement;
      at = f.end;
      counts[f.kind] = (counts[f.kind] ?? 0) + 1;
    }
    return out + text.slice(at);
  }

  /**
   * Masks adjacent pieces of one message (the text items of one result, the progress messages
   * of one call) as if they were one text, so a token split across two pieces is still found.
   * A finding that crosses a boundary is replaced in the piece where it starts (its whole
   * value decides the replacement) and its remainder is removed from the pieces after it;
   * then each piece goes through `maskPiece` (default: `maskText`), which finds everything
   * inside one piece. Returns the pieces in order, same count; counts each finding once.
   */
  maskAdjacent(
    pieces: readonly string[],
    counts: MaskCounts,
    maskPiece: (text: string, counts: MaskCounts) => string = (t, c) => this.maskText(t, c),
  ): string[] {
    if (pieces.length < 2) return pieces.map((p) => maskPiece(p, counts));
    const joined = pieces.join('');
    const bounds: number[] = [];
    let at = 0;
    for (const p of pieces) {
      bounds.push(at);
      at += p.length;
    }
    bounds.push(at);
    const pieceOf = (offset: number) => {
      let lo = 0;
      let hi = pieces.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >>> 1;
        if ((bounds[mid] as number) <= offset) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    };
    const edits: { piece: number; start: number; end: number; text: string }[] = [];
    for (const f of this.findings(joined, { json: false })) {
      const first = pieceOf(f.start);
      const last = pieceOf(f.end - 1);
      if (first === last) continue; // inside one piece: maskPiece finds it
      const value = joined.slice(f.start, f.end);
      for (let k = first; k <= last; k += 1) {
        const base = bounds[k] as number;
        edits.push({
          piece: k,
          start: Math.max(f.start, base) - base,
          end: Math.min(f.end, bounds[k + 1] as number) - base,
          text: k === first ? this.replacement(f.kind, value) : '',
        });
      }
      counts[f.kind] = (counts[f.kind] ?? 0) + 1;
    }
    return pieces.map((piece, k) => {
      let out = '';
      let from = 0;
      for (const e of edits) {
        if (e.piece !== k) continue;
        out += piece.slice(from, e.start) + e.text;
        from = e.end;
      }
      return maskPiece(out + piece.slice(from), counts);
    });
  }

  /**
   * What a value of `kind` becomes: a reversible token when the admin asked for one (and the
   * session's vault has room), else the kind's form. Never contains quotes or backslashes, so
   * it is safe inside JSON strings.
   */
  replacement(kind: string, value: string): string {
    if (this.vault && this.policy.tokens.some((t) => t.kind === kind)) {
      const token = this.vault.tokenFor(kind, value, this.scope);
      if (token) return token;
    }
    const form = this.policy.forms[kind] ?? 'full';
    if (form === 'last4') {
      const tail = value.replace(/[^A-Za-z0-9]/g, '');
      if (tail.length >= 8) return `****${tail.slice(-4)}`;
    }
    if (form === 'domain') {
      const at = value.lastIndexOf('@');
      if (at > 0 && /^@[A-Za-z0-9.-]+$/.test(value.slice(at))) return `****${value.slice(at)}`;
    }
    return `[REDACTED:${kind}]`;
  }

  /** Whether a key path in structured data is an admin-named customer field (its kind). */
  fieldKind(path: readonly string[]): string | null {
    if (path.length === 0) return null;
    for (const rule of this.policy.fields) {
      if (fieldRuleFor(path, [rule.pattern])) return rule.kind;
    }
    return null;
  }

  private fieldFindings(text: string): (RankedFinding & PlacedFinding)[] {
    const leaves = jsonLeaves(text, (path) => this.fieldKind(path));
    const out: (RankedFinding & PlacedFinding)[] = [];
    for (const leaf of leaves) {
      if (leaf.type === 'literal' && text.startsWith('null', leaf.start)) continue;
      if (leaf.type === 'string') {
        if (leaf.end - leaf.start <= 2) continue; // "" holds nothing
        out.push({
          kind: leaf.rule,
          rule: 'field',
          start: leaf.start + 1,
          end: leaf.end - 1,
          priority: FIELD_PRIORITY,
          jsonString: true,
        });
      } else {
        out.push({
          kind: leaf.rule,
          rule: 'field',
          start: leaf.start,
          end: leaf.end,
          priority: FIELD_PRIORITY,
          quote: true,
        });
      }
    }
    return out;
  }
}

type RuleFor = (path: readonly string[]) => string | null;

function scanJson(text: string, ruleFor: RuleFor, offset: number): JsonLeafSpan[] | null {
  const scan = findFieldValues(text, ruleFor, MAX_JSON_DEPTH);
  if (scan.kind === 'too_deep') {
    throw new MaskingError(
      `JSON nested deeper than ${MAX_JSON_DEPTH} levels: customer-field rules cannot be applied`,
    );
  }
  if (scan.kind === 'not_json') return null;
  if (offset === 0) return scan.leaves;
  return scan.leaves.map((l) => ({ ...l, start: l.start + offset, end: l.end + offset }));
}

/**
 * The values under admin field paths in a text that is JSON, or that carries JSON: after a
 * text prefix (`result: {…}`, an HTTP head), or one value per line (JSON Lines, log lines that
 * end in JSON). Linear: the text once, then each line once from its first `{` and first `[`.
 */
function jsonLeaves(text: string, ruleFor: RuleFor): JsonLeafSpan[] {
  const whole = scanJson(text, ruleFor, 0);
  if (whole) return whole;
  const brace = text.search(/[{[]/);
  if (brace < 0) return [];
  if (brace > 0) {
    const rest = scanJson(text.slice(brace), ruleFor, brace);
    if (rest) return rest;
  }
  const out: JsonLeafSpan[] = [];
  for (let at = 0; at < text.length;) {
    let nl = text.indexOf('\n', at);
    if (nl < 0) nl = text.length;
    const line = text.slice(at, nl);
    const starts = [line.indexOf('{'), line.indexOf('[')]
      .filter((i) => i >= 0)
      .sort((a, b) => a - b);
    for (const start of starts) {
      const found = scanJson(line.slice(start), ruleFor, at + start);
      if (found) {
        for (const leaf of found) out.push(leaf);
        break;
      }
    }
    at = nl + 1;
  }
  return out;
}

/**
 * Widens a finding so it never cuts a backslash escape in two: masking `abc\` out of `abc\"`
 * would leave a bare quote and break the JSON string around it.
 */
function keepEscapesWhole(text: string, f: Finding): void {
  let run = 0;
  for (let i = f.end - 1; i >= f.start && text.charCodeAt(i) === 0x5c; i -= 1) run += 1;
  if (run % 2 === 1 && f.end < text.length) {
    f.end += text[f.end] === 'u' ? Math.min(5, text.length - f.end) : 1;
  }
  let before = 0;
  for (let i = f.start - 1; i >= 0 && text.charCodeAt(i) === 0x5c; i -= 1) before += 1;
  if (before % 2 === 1) f.start -= 1;
}

const JSON_SCALAR = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$|^(?:true|false)$/;

/**
 * A finding that is a whole JSON number in a JSON structure (`"pin": 12345678`, `[4111…]`) is
 * replaced by a quoted string: an unquoted `[REDACTED:kind]` would leave invalid JSON.
 */
function quoteBareJsonScalar(text: string, f: PlacedFinding): void {
  // Most findings start with a character no JSON number or boolean starts with: no slice needed.
  const first = text.charCodeAt(f.start);
  const scalarStart =
    first === 0x2d || (first >= 0x30 && first <= 0x39) || first === 0x74 || first === 0x66;
  if (!scalarStart || !JSON_SCALAR.test(text.slice(f.start, f.end))) return;
  let before = f.start - 1;
  while (before >= 0 && WHITESPACE.has(text.charCodeAt(before))) before -= 1;
  let after = f.end;
  while (after < text.length && WHITESPACE.has(text.charCodeAt(after))) after += 1;
  const prev = text[before];
  const next = text[after];
  if (next !== ',' && next !== '}' && next !== ']') return;
  if (prev === ':') {
    let key = before - 1;
    while (key >= 0 && WHITESPACE.has(text.charCodeAt(key))) key -= 1;
    if (text[key] === '"') f.quote = true;
  } else if (prev === '[' || (prev === ',' && next !== '}')) f.quote = true;
}

const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

function decodeJsonStringBody(raw: string): string {
  if (!raw.includes('\\')) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return raw;
  }
}
