import { shannonEntropy } from './validators.js';

/**
 * One detector. `keywords` (lower-case literals) gate it: the rule runs only on text that contains
 * one of them, so the common case — nothing secret in a result — costs one scan of the text.
 * Patterns are literal-prefixed with bounded repeats (no nested quantifiers): linear in practice,
 * and every rule is tested with adversarial input. `group` marks the secret inside the match.
 */
export interface DetectorRule {
  id: string;
  kind: string;
  keywords: readonly string[];
  pattern: RegExp;
  group?: number;
  /**
   * With `group`: the secret is the first capture group from `group` on that matched (one
   * pattern, several value shapes: double-quoted, single-quoted, bare). Needs the `d` flag or `groupAtEnd`.
   */
  anyGroup?: boolean;
  /**
   * With `group`: the group holding the secret always ends where the match ends, so its start
   * is known without the `d` flag (whose offsets make every match cost more).
   */
  groupAtEnd?: boolean;
  /**
   * Where a secret that ran to the end of the match really ends (`group` = the capture group
   * that held it): a value longer than the pattern's bounded repeat is masked whole instead of
   * leaving its tail beyond the bound in clear.
   */
  extend?(text: string, end: number, group?: number): number;
  /**
   * Closing brackets at the end of a bare value that it did not open belong to the structure
   * around it (`{"k": 12345678}`): trimmed from the secret. A number limits this to that group.
   */
  trimClosers?: boolean | number;
  /** Minimum Shannon entropy (bits/char) of the secret. */
  entropy?: number;
  /** `match` is the whole match (context such as the key name), `secret` the masked part. */
  validate?(secret: string, match: string, context?: MatchContext): boolean;
  /**
   * For a pattern that starts at a literal anchor (`@`, `-us`, `.atlasv1.`): the secret also
   * takes `min`–`max` characters of `chars` right before the match, and the character before
   * those must not be one of `boundary`. Starting the regex at the anchor lets V8 skip to it
   * instead of trying a character class at every position.
   */
  back?: { chars: RegExp; min: number; max: number; boundary: RegExp };
  /**
   * Candidate spans found by code instead of `pattern` (gates still apply); `digitRuns` are the
   * text's maximal runs of ASCII digits (start/end pairs, increasing), from the keyword scan.
   */
  find?(text: string, digitRuns: readonly number[]): { start: number; end: number }[];
  /**
   * Every match starts where one of the keywords occurs (a token's literal prefix such as
   * `ghp_`), so the pattern is tried only at those offsets instead of scanned over the text.
   */
  keywordStarts?: boolean;
  /**
   * Every match holds `anchor` (a lower-case literal, matched in either case, or one character
   * that has no case; it need not be a keyword: the keywords still decide whether the rule
   * runs) near its start: given each offset
   * where the anchor occurs, `starts` pushes where a match holding it there can start, in
   * increasing order (none when the characters around it cannot be part of a match). The
   * pattern is tried only at those offsets instead of scanned over the text, where a regex
   * costs about the same per character whatever it looks for.
   */
  anchored?: { anchor: string; starts(text: string, at: number, out: number[]): void };
  /**
   * Every match holds a run of ASCII digits at a place its start can be told from (a card
   * number starts a run, an IBAN's check digits follow two letters): given the text's maximal
   * digit runs (start/end pairs, increasing; the keyword scan collects them on its way), where
   * a match can start, in increasing order (digit-shapes.ts). The pattern is tried only there:
   * digits are a few percent of a text, and a regex scan for a digit shape costs ~1 ns per
   * character.
   */
  digitStarts?(text: string, runs: readonly number[]): readonly number[];
  /**
   * With `keywordStarts`: a cheap test of the characters after a keyword's offset that every
   * match starting there passes (the regex is not called where it fails). Words such as
   * `token` and `secret` are everywhere in tool output; an assignment after them is not.
   */
  precheck?(text: string, at: number): boolean;
}

/** Where a match sits, for validators that look at what comes before it (the full key name). */
export interface MatchContext {
  text: string;
  /** Offset of the match in `text`. */
  index: number;
  /** Which capture group held the secret (rules with `anyGroup`). */
  groupIndex?: number;
}

/** Whether a match's secret passes the rule's gates. */
export function passesGates(
  rule: DetectorRule,
  secret: string,
  match: string = secret,
  context?: MatchContext,
): boolean {
  if (rule.entropy !== undefined && shannonEntropy(secret) < rule.entropy) return false;
  return rule.validate ? rule.validate(secret, match, context) : true;
}

/** The rule sets, by what they find (secret-rules.ts, personal-data-rules.ts). */
export { SECRET_RULES } from './secret-rules.js';
export { IP_RULES, PII_RULES } from './personal-data-rules.js';
