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
  /** Minimum Shannon entropy (bits/char) of the secret. */
  entropy?: number;
  /** `match` is the whole match (context such as the key name), `secret` the masked part. */
  validate?(secret: string, match: string): boolean;
  /**
   * For a pattern that starts at a literal anchor (`@`, `-us`, `.atlasv1.`): the secret also
   * takes `min`–`max` characters of `chars` right before the match, and the character before
   * those must not be one of `boundary`. Starting the regex at the anchor lets V8 skip to it
   * instead of trying a character class at every position.
   */
  back?: { chars: RegExp; min: number; max: number; boundary: RegExp };
  /** Candidate spans found by code instead of `pattern` (gates still apply). */
  find?(text: string): { start: number; end: number }[];
  /**
   * Every match starts where one of the keywords occurs (a token's literal prefix such as
   * `ghp_`), so the pattern is tried only at those offsets instead of scanned over the text.
   */
  keywordStarts?: boolean;
}

/** Whether a match's secret passes the rule's gates. */
export function passesGates(rule: DetectorRule, secret: string, match: string = secret): boolean {
  if (rule.entropy !== undefined && shannonEntropy(secret) < rule.entropy) return false;
  return rule.validate ? rule.validate(secret, match) : true;
}

/** The rule sets, by what they find (secret-rules.ts, personal-data-rules.ts). */
export { SECRET_RULES } from './secret-rules.js';
export { IP_RULES, PII_RULES } from './personal-data-rules.js';
