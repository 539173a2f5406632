import { isUtf8 } from 'node:buffer';
import type { DetectorRule } from './rules.js';
import { normalizeCompact, originalOffset } from './normalize.js';
import { hasControlCharacters } from './secret-rules.js';
import { KeywordScanner, characterRuns } from './keywords.js';
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

/**
 * A rule list's keyword automaton, each rule's keyword indexes, and each keyword's rules (so
 * the rules to run are found from the keywords that occur, not by asking every rule).
 */
interface ScannerEntry {
  scanner: KeywordScanner;
  ruleKeywords: number[][];
  rulesByKeyword: number[][];
  /** Per rule, the word index of its multi-character `anchored.anchor` (-1: none). */
  anchorWords: number[];
  /** Scratch: which rules have a keyword in the text being scanned. */
  active: Uint8Array;
  /**
   * Each rule's sticky pattern once needed (no map look-up per rule and text), with the pattern
   * it is for: rule lists with the same keywords share this entry.
   */
  stickies: ({ pattern: RegExp; sticky: RegExp } | undefined)[];
}

const scanners = new WeakMap<readonly DetectorRule[], ScannerEntry>();

/** The same automata by keyword lists, for callers that build a new rule array per call. */
const scannersByKeywords = new Map<string, ScannerEntry>();
const SCANNERS_BY_KEYWORDS_MAX = 64;

/** One keyword automaton per rule list (built once; rule lists with the same keywords share one). */
function scannerFor(rules: readonly DetectorRule[]) {
  let entry = scanners.get(rules);
  if (entry) return entry;
  const digitRuns = rules.some((r) => r.digitStarts || r.find);
  const signature =
    (digitRuns ? 'd' : '') +
    rules.map((r) => [...r.keywords, r.anchored?.anchor ?? ''].join('\u0001')).join('\u0000');
  entry = scannersByKeywords.get(signature);
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
    // Anchors are scanned for with the keywords but gate nothing (no rules by their index).
    const anchorWords = rules.map((r) => {
      const anchor = r.anchored?.anchor;
      if (anchor === undefined || anchor.length < 2) return -1;
      if (!words.includes(anchor)) words.push(anchor);
      return words.indexOf(anchor);
    });
    const rulesByKeyword = words.map(() => [] as number[]);
    ruleKeywords.forEach((keywords, rule) => {
      for (const k of keywords) rulesByKeyword[k]?.push(rule);
    });
    entry = {
      scanner: new KeywordScanner(words, { digitRuns }),
      ruleKeywords,
      rulesByKeyword,
      anchorWords,
      active: new Uint8Array(rules.length),
      stickies: [],
    };
    if (scannersByKeywords.size >= SCANNERS_BY_KEYWORDS_MAX) scannersByKeywords.clear();
    scannersByKeywords.set(signature, entry);
  }
  scanners.set(rules, entry);
  return entry;
}

/**
 * Finds secrets and personal data in text. A rule runs only when one of its keywords occurs in
 * the (lower-cased) text; overlapping findings keep the longest (then the earliest rule).
 * Pure; linear in the input for every rule (bounded, literal-prefixed patterns).
 */
export function detectFindings(text: string, options: DetectOptions = {}): Finding[] {
  return resolveOverlaps(collectFindings(text, options));
}

/** A finding with its rank when findings overlap (lower wins). */
export type RankedFinding = Finding & { priority: number };

/** Base64 runs decoded and scanned: at least this long (a short secret's encoding). */
const MIN_BASE64 = 16;
/** …and at most this long (a kubeconfig key is ~3 KB; larger blobs are files, not values). */
const MAX_BASE64 = 64 * 1024;
/** Base64 inside base64 is decoded once more, no further. */
const MAX_DECODE_DEPTH = 2;

/**
 * Every rule's findings, overlaps not yet resolved; `priority` is the rule's position. Runs on
 * the text as it is or, when it holds escapes or invisible characters, on its normalised form
 * (normalize.ts; findings mapped back to the original characters); base64 runs that decode to
 * text are scanned too, and one holding a finding is a finding of that kind as a whole.
 */
export function collectFindings(
  text: string,
  options: DetectOptions = {},
  depth = 0,
): RankedFinding[] {
  // Normalisation decodes only characters found inside values (normalize.ts), so the normalised
  // text keeps every match of the original: one pass over it, findings mapped back.
  const norm = normalizeCompact(text);
  const scanned = norm ? norm.text : text;
  const found = collectPlain(scanned, options);
  if (depth < MAX_DECODE_DEPTH) {
    const runs = characterRuns(scanned, BASE64_CHAR, MIN_BASE64);
    for (const f of base64Findings(scanned, runs, options, depth)) found.push(f);
  }
  if (norm) {
    for (const f of found) {
      f.start = originalOffset(norm, f.start);
      f.end = originalOffset(norm, f.end);
    }
  }
  return found;
}

/**
 * Base64 (standard or URL-safe) runs of a bounded size that decode to UTF-8 text holding a
 * finding: the whole run is reported with the kind of the best inner finding. Binary data and
 * words that merely look like base64 fail the UTF-8/control-character check at once.
 */
function base64Findings(
  text: string,
  runs: readonly number[],
  options: DetectOptions,
  depth: number,
): RankedFinding[] {
  const out: RankedFinding[] = [];
  const n = text.length;
  // `runs`: every maximal run of base64 characters of at least MIN_BASE64, as start/end pairs.
  for (let r = 0; r < runs.length; r += 2) {
    const start = runs[r] as number;
    const end = runs[r + 1] as number;
    if (end - start > MAX_BASE64 || !startsAsText(text, start)) continue;
    let padded = end;
    while (padded < n && padded - end < 2 && text.charCodeAt(padded) === 0x3d) padded += 1;
    const f = decodedFinding(text.slice(start, end), options, depth);
    if (f) out.push({ ...f, start, end: padded });
  }
  return out;
}

const BASE64_CHAR = new Uint8Array(128);
/** Each base64 character's 6-bit value (both alphabets). */
const BASE64_VALUE = new Uint8Array(128);
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.split('').forEach((ch, i) => {
  BASE64_CHAR[ch.charCodeAt(0)] = 1;
  BASE64_VALUE[ch.charCodeAt(0)] = i;
});
for (const [ch, v] of [
  ['-', 62],
  ['_', 63],
] as const) {
  BASE64_CHAR[ch.charCodeAt(0)] = 1;
  BASE64_VALUE[ch.charCodeAt(0)] = v;
}

/**
 * The first six bytes a base64 run decodes to are printable ASCII (or tab/newline): a cheap
 * test that rejects random data, identifiers and paths before anything is allocated.
 */
function startsAsText(text: string, start: number): boolean {
  for (let q = 0; q < 2; q += 1) {
    let bits = 0;
    for (let k = 0; k < 4; k += 1)
      bits = (bits << 6) | (BASE64_VALUE[text.charCodeAt(start + q * 4 + k)] ?? 0);
    for (let b = 16; b >= 0; b -= 8) {
      const byte = (bits >> b) & 0xff;
      if ((byte < 0x20 || byte > 0x7e) && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d)
        return false;
    }
  }
  return true;
}

/** The best finding inside a base64 body that decodes to text (spans not yet set), or null. */
function decodedFinding(body: string, options: DetectOptions, depth: number): RankedFinding | null {
  if (body.length % 4 === 1) return null;
  // Words, paths and identifiers: one case of letters only, or digits and separators only.
  if (/^[a-z_/-]+$|^[A-Z_/-]+$|^[0-9_/-]+$/.test(body)) return null;
  const bytes = Buffer.from(body, 'base64');
  if (bytes.length < 8 || !isUtf8(bytes)) return null;
  const decoded = bytes.toString('utf8');
  if (hasControlCharacters(decoded)) return null;
  let best: RankedFinding | null = null;
  for (const f of collectFindings(decoded, options, depth + 1)) {
    if (!best || f.priority < best.priority) best = f;
  }
  return best && { ...best, rule: `base64:${best.rule}` };
}

/** One pass of every rule over the text as it is. */
function collectPlain(text: string, options: DetectOptions): RankedFinding[] {
  const rules = options.rules ?? DEFAULT_RULES;
  const entry = scannerFor(rules);
  const { scanner, ruleKeywords, rulesByKeyword, anchorWords } = entry;
  // Maximal runs of ASCII digits, from the keyword scan (rules with `digitStarts` and `find`).
  const digitRuns: number[] = [];
  const hits = scanner.scan(text, digitRuns);
  const found: RankedFinding[] = [];
  // Reused, not allocated per call (a typed array costs more than a short text's whole scan);
  // nothing in this loop calls back into detection.
  const active = entry.active;
  active.fill(0);
  for (const k of hits.keys()) for (const r of rulesByKeyword[k] ?? []) active[r] = 1;
  for (let priority = 0; priority < rules.length; priority += 1) {
    if (active[priority] === 0) continue;
    const rule = rules[priority] as DetectorRule;
    if (options.exempt && (options.exempt.has(rule.id) || options.exempt.has(rule.kind))) continue;
    const keywords = ruleKeywords[priority] ?? [];
    if (rule.find) {
      for (const span of rule.find(text, digitRuns)) {
        const secret = text.slice(span.start, span.end);
        if (passesGates(rule, secret, secret, { text, index: span.start }))
          found.push({ kind: rule.kind, rule: rule.id, ...span, priority });
      }
      continue;
    }
    const starts = rule.anchored
      ? anchoredOffsets(rule.anchored, text, hits.get(anchorWords[priority] ?? -1))
      : rule.digitStarts
        ? rule.digitStarts(text, digitRuns)
        : rule.keywordStarts
          ? keywordOffsets(keywords, hits)
          : null;
    if (starts) {
      // Tried only where a match can start: a sticky match at each offset, no scan of the text.
      let cached = entry.stickies[priority];
      if (cached?.pattern !== rule.pattern)
        cached = entry.stickies[priority] = {
          pattern: rule.pattern,
          sticky: stickyOf(rule.pattern),
        };
      const sticky = cached.sticky;
      let next = 0;
      const precheck = rule.precheck;
      for (const at of starts) {
        if (at < next || (precheck && !precheck(text, at))) continue;
        sticky.lastIndex = at;
        const m = sticky.exec(text);
        // As the global scan would: a match taken, or one of a capture-group rule, is skipped
        // whole (so hostile repeats cost one match each, not one per offset).
        if (m && take(rule, m, text, priority, found))
          next = Math.max(at + m[0].length, found[found.length - 1]?.end ?? 0);
        else if (m && (rule.group !== undefined || rule.back)) next = at + m[0].length;
      }
      continue;
    }
    const re = rule.pattern;
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      // A whole-match rule that failed its validator may still match one character later
      // (`5 4111 1111 1111 1111` fails Luhn; `4111 1111 1111 1111` passes). Bounded patterns
      // keep this linear; rules with a capture group resume after the match.
      if (take(rule, m, text, priority, found)) {
        const end = found[found.length - 1]?.end ?? 0;
        if (end > re.lastIndex) re.lastIndex = end; // a value extended past the match
      } else if (rule.group === undefined && !rule.back) re.lastIndex = m.index + 1;
    }
  }
  return found;
}

/** Records a match that passes the rule's gates; false when it does not. */
function take(
  rule: DetectorRule,
  m: RegExpExecArray,
  text: string,
  priority: number,
  found: RankedFinding[],
): boolean {
  const back = rule.back;
  if (back) {
    let start = m.index;
    while (start > 0 && m.index - start < back.max && inClass(back.chars, text, start - 1))
      start -= 1;
    if (m.index - start < back.min || (start > 0 && inClass(back.boundary, text, start - 1)))
      return false;
    const secret = text.slice(start, m.index + m[0].length);
    if (!passesGates(rule, secret, secret)) return false;
    found.push({ kind: rule.kind, rule: rule.id, start, end: start + secret.length, priority });
    return true;
  }
  const full = m[0];
  let group = rule.group;
  if (group !== undefined && rule.anyGroup) {
    while (group < m.length && m[group] === undefined) group += 1;
  }
  let secret = group !== undefined ? m[group] : full;
  if (!secret) return false;
  let start = m.index;
  if (group !== undefined) {
    const at = rule.groupAtEnd ? m.index + full.length - secret.length : m.indices?.[group]?.[0];
    start = at ?? m.index + Math.max(0, full.indexOf(secret));
  }
  const trim =
    rule.trimClosers === true || (rule.trimClosers !== undefined && rule.trimClosers === group);
  if (trim) secret = trimUnopenedClosers(secret);
  let end = start + secret.length;
  if (rule.extend && end === m.index + full.length) {
    // The bounded repeat stopped at its limit: the rest of the value is part of the secret.
    const further = rule.extend(text, end, group);
    if (further > end) {
      end = further;
      secret = text.slice(start, end);
      if (trim) {
        secret = trimUnopenedClosers(secret);
        end = start + secret.length;
      }
    }
  }
  if (!secret || !passesGates(rule, secret, full, { text, index: m.index, groupIndex: group }))
    return false;
  found.push({ kind: rule.kind, rule: rule.id, start, end, priority });
  return true;
}

/** Per one-character class (a rule's `back` regexes), its answer for each ASCII code. */
const asciiAnswers = new WeakMap<RegExp, Uint8Array>();

/**
 * `cls.test(text[at])`, from a table for ASCII characters: an email's local part is walked back
 * one character at a time, and a regex call per character costs more than the rest of it.
 */
function inClass(cls: RegExp, text: string, at: number): boolean {
  const code = text.charCodeAt(at);
  if (code >= 128) return cls.test(text[at] ?? '');
  let answers = asciiAnswers.get(cls);
  if (!answers) {
    answers = new Uint8Array(128);
    for (let c = 0; c < 128; c += 1) answers[c] = cls.test(String.fromCharCode(c)) ? 1 : 0;
    asciiAnswers.set(cls, answers);
  }
  return answers[code] === 1;
}

/**
 * `123456789]}` → `123456789`: brackets at the end of a bare value that the value itself did
 * not open close the JSON or code around it; masking them would break that structure.
 */
function trimUnopenedClosers(value: string): string {
  let end = value.length;
  while (end > 0) {
    const c = value[end - 1];
    const open = c === '}' ? '{' : c === ']' ? '[' : c === ')' ? '(' : null;
    if (!open) break;
    const body = value.slice(0, end - 1);
    if (count(body, open) > count(body, c as string)) break;
    end -= 1;
  }
  return value.slice(0, end);
}

function count(s: string, ch: string): number {
  let n = 0;
  for (let i = s.indexOf(ch); i >= 0; i = s.indexOf(ch, i + 1)) n += 1;
  return n;
}

/**
 * Where an `anchored` rule can match, in increasing order: `starts` at each offset of its
 * anchor (`wordOffsets` from the keyword scan; a one-character anchor, which has no case, is
 * looked up here).
 */
function anchoredOffsets(
  anchored: NonNullable<DetectorRule['anchored']>,
  text: string,
  wordOffsets: readonly number[] | null | undefined,
): number[] {
  const out: number[] = [];
  const { anchor, starts } = anchored;
  if (anchor.length > 1) {
    for (const at of wordOffsets ?? []) starts(text, at, out);
  } else {
    for (let at = text.indexOf(anchor); at >= 0; at = text.indexOf(anchor, at + 1))
      starts(text, at, out);
  }
  return out;
}

/** The sorted offsets where a rule's keywords start, or null when one has no offsets. */
function keywordOffsets(
  keywords: readonly number[],
  hits: ReadonlyMap<number, number[] | null>,
): number[] | null {
  let out: number[] = [];
  let lists = 0;
  for (const k of keywords) {
    const at = hits.get(k);
    if (at === null) return null;
    if (!at) continue;
    // Each list is sorted: merged in linear time, never spread (a hostile text can hold
    // millions of offsets).
    out = lists === 0 ? at : mergeSorted(out, at);
    lists += 1;
  }
  return out;
}

function mergeSorted(a: readonly number[], b: readonly number[]): number[] {
  const out = new Array<number>(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as number;
    const y = b[j] as number;
    if (x <= y) {
      out[k++] = x;
      i += 1;
    } else {
      out[k++] = y;
      j += 1;
    }
  }
  while (i < a.length) out[k++] = a[i++] as number;
  while (j < b.length) out[k++] = b[j++] as number;
  return out;
}

const stickies = new WeakMap<RegExp, RegExp>();
function stickyOf(pattern: RegExp): RegExp {
  let sticky = stickies.get(pattern);
  if (!sticky) {
    sticky = new RegExp(pattern.source, pattern.flags.replace('g', '') + 'y');
    stickies.set(pattern, sticky);
  }
  return sticky;
}

/**
 * Overlapping findings: the earlier rule in the list wins (secrets come before personal data, so
 * the password in `postgres://user:pw@host` is a password, not an email), then the longer one.
 */
export function resolveOverlaps(found: readonly RankedFinding[]): Finding[] {
  const ranked = [...found].sort(
    (a, b) => a.priority - b.priority || b.end - b.start - (a.end - a.start) || a.start - b.start,
  );
  // Kept findings never overlap, so sorted by start they are sorted by end too: a binary search
  // finds the only neighbours that could overlap (n log n, not n² on a result full of emails).
  const kept: Finding[] = [];
  for (const { priority: _priority, ...f } of ranked) {
    let lo = 0;
    let hi = kept.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((kept[mid] as Finding).end <= f.start) lo = mid + 1;
      else hi = mid;
    }
    const next = kept[lo];
    if (next && next.start < f.end) continue;
    kept.splice(lo, 0, f);
  }
  return kept;
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
