import { isIPv6 } from 'node:net';
import type { DetectorRule } from './rules.js';
import {
  ibanCountryKnown,
  ibanLength,
  ibanValid,
  luhnValid,
  publicIpv4,
  ssnValid,
} from './validators.js';

/** Personal data. IPs are configurable (off by default: addresses are rarely customer data in tool output). */
export const PII_RULES: readonly DetectorRule[] = [
  {
    id: 'email',
    kind: 'email',
    keywords: ['@'],
    // Local parts and domains may be non-ASCII (RFC 6531, IDNs): `josé.garcía@correo.es`.
    // Letters beyond ASCII are the Latin-1 to CJK ranges without the punctuation blocks (no
    // `u` flag: V8 scans a plain class faster).
    pattern:
      /@(?:[A-Za-z0-9\u00C0-\u1FFF\u2070-\u2FFF\u3040-\uD7FF\uF900-\uFDFF\uFE70-\uFFEF-]{1,63}\.){1,8}(?:[A-Za-z]{2,24}|[\u00C0-\u1FFF\u2070-\u2FFF\u3040-\uD7FF\uF900-\uFDFF\uFE70-\uFFEF]{2,24})(?![A-Za-z0-9\u00C0-\u1FFF\u2070-\u2FFF\u3040-\uD7FF\uF900-\uFDFF\uFE70-\uFFEF-])/g,
    // V8 tries the pattern at every position even though it starts with `@`: tried at each `@`.
    anchored: {
      anchor: '@',
      starts: (_text, at, out) => {
        out.push(at);
      },
    },
    back: {
      chars: /[A-Za-z0-9._%+\u00C0-\u1FFF\u2070-\u2FFF\u3040-\uD7FF\uF900-\uFDFF\uFE70-\uFFEF-]/,
      min: 1,
      max: 64,
      boundary: /[A-Za-z0-9._%+\u00C0-\u1FFF\u2070-\u2FFF\u3040-\uD7FF\uF900-\uFDFF\uFE70-\uFFEF-]/,
    },
  },
  {
    id: 'payment-card',
    kind: 'card',
    keywords: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    // Not inside a word: digit runs in hex hashes, ids and base64 are not card numbers.
    // Separators: spaces, dashes, or dots in groups of four (`4111.1111.1111.1111`).
    pattern: /(?<![0-9A-Za-z_-])(?:[0-9][ .-]?){12,18}[0-9](?![0-9A-Za-z_])/g,
    digitStarts: cardStarts,
    validate: (s) =>
      (!s.includes('.') ||
        /^[0-9]{4}(?:\.[0-9]{4}){2,3}(?:\.[0-9]{1,3})?$|^[0-9]{4}\.[0-9]{6}\.[0-9]{5}$/.test(s)) &&
      luhnValid(s) &&
      cardBrandLength(s.replace(/[ .-]/g, '')),
  },
  {
    id: 'iban',
    kind: 'iban',
    keywords: [
      'a',
      'b',
      'c',
      'd',
      'e',
      'f',
      'g',
      'h',
      'i',
      'l',
      'm',
      'n',
      'p',
      'q',
      'r',
      's',
      't',
      'u',
    ],
    pattern:
      /(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?(?![A-Za-z0-9])/g,
    digitStarts: (text, runs, out) => {
      for (const at of ibanHeads(text, runs).upper) out.push(at);
    },
    validate: ibanValid,
  },
  {
    // Lower case (`de89 3704 …` as typed into a form): lower-case letters and digits are
    // everywhere, so only where the text says IBAN, and only for countries of known length.
    id: 'iban-lowercase',
    kind: 'iban',
    keywords: ['iban'],
    pattern: /(?!)/g,
    find: findLowercaseIbans,
    validate: (s) => ibanCountryKnown(s) && ibanValid(s),
  },
  {
    id: 'us-ssn',
    kind: 'ssn',
    keywords: ['0', '1', '2', '3', '4', '5', '6', '7', '8'],
    pattern: /(?<![0-9-])[0-9]{3}-[0-9]{2}-[0-9]{4}(?![0-9-])/g,
    // A run of exactly three digits, then `-`.
    digitStarts: (text, runs, out) => {
      for (let r = 0; r < runs.length; r += 2) {
        const start = runs[r] as number;
        const end = runs[r + 1] as number;
        if (end - start === 3 && text.charCodeAt(end) === 0x2d) out.push(start);
      }
    },
    validate: ssnValid,
  },
  {
    // Spaces or no separators are everywhere in numbers; with an SSN word before them they are one.
    id: 'us-ssn-context',
    kind: 'ssn',
    keywords: ['ssn', 'social security', 'social_security', 'social-security', 'socialsecurity'],
    keywordStarts: true,
    pattern:
      /(?:ssn|social[ _-]?security)[^0-9\n]{0,24}?(?<![0-9])([0-9]{3}([ ]?)[0-9]{2}\2[0-9]{4})(?![0-9])/gi,
    group: 1,
    validate: ssnValid,
  },
  {
    id: 'phone-e164',
    kind: 'phone',
    keywords: ['+'],
    pattern:
      /(?<![0-9A-Za-z+])\+[1-9][0-9]{0,2}[ .-]?(?:\(?[0-9]{1,4}\)?[ .-]?){2,5}[0-9]{2,4}(?![0-9])/g,
    // `+` is rare in text and digits are not: tried at each `+` instead of at every position.
    anchored: { anchor: '+', starts: e164Start },
    validate: (s) => {
      const d = s.replace(/[^0-9]/g, '');
      return d.length >= 8 && d.length <= 15;
    },
  },
  {
    id: 'phone-us',
    kind: 'phone',
    keywords: ['(', '-', '.'],
    pattern: /(?<![0-9A-Za-z])\(?[2-9][0-9]{2}\)?[ .-][2-9][0-9]{2}[.-][0-9]{4}(?![0-9])/g,
    digitStarts: usPhoneStarts,
  },
  {
    // National formats with a trunk 0 (`020 7946 0958`, `030 12345678`, `06 12 34 56 78`):
    // digit groups are everywhere, so only after a phone word.
    id: 'phone-national',
    kind: 'phone',
    keywords: ['tel', 'phone', 'mobil', 'fax', 'call', 'whatsapp'],
    keywordStarts: true,
    pattern:
      /\b(?:tel(?:ephone|efon)?|phone|mobile?|fax|call(?:ed)?|whatsapp)(?![a-z])[^0-9\n]{0,20}?(?<![0-9])(\(?0[0-9]{1,4}\)?(?:[ ./-]?[0-9]{2,4}){2,5})(?![0-9])/gi,
    group: 1,
    precheck: trunkZeroAhead,
    validate: (s) => {
      const digits = s.replace(/[^0-9]/g, '').length;
      return digits >= 9 && digits <= 12 && !/^0[0-9]{3}-[0-9]{2}-[0-9]{2}$/.test(s);
    },
  },
];

export const IP_RULES: readonly DetectorRule[] = [
  {
    id: 'ipv4',
    kind: 'ip_address',
    keywords: ['.'],
    // Anchored on the first dot (digits are everywhere; dotted quads are not).
    pattern: /\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?![0-9.])/g,
    digitStarts: ipv4Starts,
    back: { chars: /[0-9]/, min: 1, max: 3, boundary: /[0-9.]/ },
    validate: publicIpv4,
  },
  {
    id: 'ipv6',
    kind: 'ip_address',
    keywords: [':'],
    pattern: /(?!)/g,
    find: findPublicIpv6,
  },
];

/**
 * Where a card number can start: at a digit run that starts a chain of runs joined by single
 * separators (` `, `.`, `-`) holding at least 13 digits from there on (a match takes digits
 * with at most one separator between two, so it lies inside one chain).
 */
function cardStarts(text: string, runs: readonly number[], out: number[]): void {
  const n = runs.length;
  for (let first = 0; first < n;) {
    const firstEnd = runs[first + 1] as number;
    // Most runs are short and stand alone (`v2`, `2026`, `:8080`): no chain, too few digits.
    if (
      firstEnd - (runs[first] as number) < 13 &&
      (runs[first + 2] !== firstEnd + 1 || !isCardSeparator(text.charCodeAt(firstEnd)))
    ) {
      first += 2;
      continue;
    }
    // The chain [first, last]: each next run one separator after the one before.
    let last = first;
    while (
      last + 2 < n &&
      (runs[last + 2] as number) === (runs[last + 1] as number) + 1 &&
      isCardSeparator(text.charCodeAt(runs[last + 1] as number))
    )
      last += 2;
    let digits = 0;
    for (let r = first; r <= last; r += 2) digits += (runs[r + 1] as number) - (runs[r] as number);
    for (let r = first; r <= last && digits >= 13; r += 2) {
      out.push(runs[r] as number);
      digits -= (runs[r + 1] as number) - (runs[r] as number);
    }
    first = last + 2;
  }
}

function isCardSeparator(c: number): boolean {
  return c === 0x20 || c === 0x2e || c === 0x2d;
}

/** Per digit-run list (one per text scanned), where IBANs can start: both rules read one pass. */
const ibanHeadsByRuns = new WeakMap<readonly number[], { upper: number[]; lower: number[] }>();

/**
 * Where an IBAN can start: two letters of one case right before a run of at least two digits,
 * not after a letter or digit (`upper`: `DE89…`; `lower`: `de89…`).
 */
function ibanHeads(text: string, runs: readonly number[]): { upper: number[]; lower: number[] } {
  let heads = ibanHeadsByRuns.get(runs);
  if (heads) return heads;
  heads = { upper: [], lower: [] };
  for (let r = 0; r < runs.length; r += 2) {
    const start = runs[r] as number;
    // The letter right before the digits first: most runs have none (`: 42`, ` 2026`).
    const b = text.charCodeAt(start - 1);
    if (!isLetter(b) || (runs[r + 1] as number) - start < 2) continue;
    const a = text.charCodeAt(start - 2);
    if (!isLetter(a) || isAlphanumeric(text.charCodeAt(start - 3))) continue;
    const upper = a < 0x61;
    if (upper === b < 0x61) (upper ? heads.upper : heads.lower).push(start - 2);
  }
  ibanHeadsByRuns.set(runs, heads);
  return heads;
}

function isLetter(c: number): boolean {
  return (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a;
}

/**
 * Where a US phone number can start: a run of three digits from `2`, `)` or not, a separator,
 * a run of three digits from `2`, `.` or `-`, and a run of four (the pattern's shape, read off
 * the runs); at its `(` when there is one, and at the run itself (the `(` is optional).
 */
function usPhoneStarts(text: string, runs: readonly number[], out: number[]): void {
  for (let r = 0; r + 5 < runs.length; r += 2) {
    const start = runs[r] as number;
    const end = runs[r + 1] as number;
    if (end - start !== 3 || text.charCodeAt(start) < 0x32) continue;
    let at = end;
    if (text.charCodeAt(at) === 0x29) at += 1;
    if (!isPhoneSeparator(text.charCodeAt(at), true) || runs[r + 2] !== at + 1) continue;
    const exchange = at + 1;
    if ((runs[r + 3] as number) - exchange !== 3 || text.charCodeAt(exchange) < 0x32) continue;
    const dash = exchange + 3;
    if (!isPhoneSeparator(text.charCodeAt(dash), false) || runs[r + 4] !== dash + 1) continue;
    if ((runs[r + 5] as number) - (dash + 1) !== 4) continue;
    if (text.charCodeAt(start - 1) === 0x28) out.push(start - 1);
    out.push(start);
  }
}

/** `[ .-]` (`[.-]` without `space`). */
function isPhoneSeparator(c: number, space: boolean): boolean {
  return c === 0x2e || c === 0x2d || (space && c === 0x20);
}

/**
 * Where a dotted quad can match: at the dot after a digit run, when three more runs of one to
 * three digits follow, joined by single dots, and no dot follows the last (exactly where the
 * pattern matches; its `back` then takes the first run).
 */
function ipv4Starts(text: string, runs: readonly number[], out: number[]): void {
  for (let r = 0; r + 7 < runs.length; r += 2) {
    let dot = runs[r + 1] as number;
    if (text.charCodeAt(dot) !== 0x2e) continue;
    let quad = true;
    for (let k = r + 2; k <= r + 6; k += 2) {
      const start = runs[k] as number;
      const end = runs[k + 1] as number;
      const last = k === r + 6;
      if (start !== dot + 1 || end - start > 3 || (text.charCodeAt(end) === 0x2e) !== !last) {
        quad = false;
        break;
      }
      dot = end;
    }
    if (quad) out.push(runs[r + 1] as number);
  }
}

/** `[0-9A-Za-z]` (NaN, past either end of the text, is not). */
function isAlphanumeric(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a);
}

/** A `+` not after a letter, digit or `+`, before a digit 1–9: where `phone-e164` can start. */
function e164Start(text: string, at: number, out: number[]): void {
  const next = text.charCodeAt(at + 1);
  const before = text.charCodeAt(at - 1);
  const alphanumeric = isWordChar(before) && before !== 0x5f;
  if (next >= 0x31 && next <= 0x39 && !alphanumeric && before !== 0x2b) out.push(at);
}

/**
 * What every `phone-national` match at `at` holds: the first digit after the phone word (at
 * most 9 letters, then at most 20 other characters and a `(`) is the trunk `0`, on the same
 * line. Most `tel`/`call` words in a text (`hotel`, `called by`) have no number after them.
 */
function trunkZeroAhead(text: string, at: number): boolean {
  const last = Math.min(text.length, at + 32);
  for (let i = at; i < last; i += 1) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) return false;
    if (c >= 0x30 && c <= 0x39) return c === 0x30;
  }
  return false;
}

/**
 * IPv6 addresses (full and `::`-compressed) that can point at a person: found from the digit
 * runs that can start one, parsed by Node's own parser; loopback, unspecified, link-local, unique-local,
 * documentation and IPv4-mapped private addresses stay visible. Linear: each character is
 * looked at a bounded number of times.
 */
function findPublicIpv6(
  text: string,
  digitRuns: readonly number[],
): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  const run = /[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,8}(?:\.[0-9]{1,3}){0,3}/y;
  let next = 0;
  for (let r = 0; r < digitRuns.length; r += 2) {
    // Only global unicast (2000::/3) is reported: the address starts with a four-digit group
    // `2xxx` or `3xxx` and a `:`, so only digit runs from `2` or `3` are looked at, not every
    // colon of a text full of `"key": value`.
    const start = digitRuns[r] as number;
    const first = text.charCodeAt(start);
    if ((first !== 0x32 && first !== 0x33) || start < next) continue;
    if (text.charCodeAt(start + 4) !== 0x3a) continue;
    if (!isHexDigit(text.charCodeAt(start + 1)) || !isHexDigit(text.charCodeAt(start + 2)))
      continue;
    if (!isHexDigit(text.charCodeAt(start + 3))) continue;
    const before = text.charCodeAt(start - 1);
    if (isWordChar(before) || before === 0x2e || before === 0x3a) continue;
    run.lastIndex = start;
    const m = run.exec(text);
    if (!m) continue;
    const end = start + m[0].length;
    next = end;
    if (isWordChar(text.charCodeAt(end))) continue;
    if (publicIpv6(m[0])) out.push({ start, end });
  }
  return out;
}

function isHexDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}

/** `[0-9A-Za-z_]` (NaN, past either end of the text, is not). */
function isWordChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) || c === 0x5f;
}

function publicIpv6(candidate: string): boolean {
  if (!isIPv6(candidate)) return false;
  const groups = candidate.split(':').filter((g) => g !== '');
  if (groups.length < 3 || !/[0-9]/.test(candidate)) return false;
  const first = parseInt(groups[0] ?? '0', 16);
  if (candidate.startsWith('::')) return false; // unspecified, loopback, IPv4-compatible
  if ((first & 0xffc0) === 0xfe80 || (first & 0xfe00) === 0xfc00) return false;
  if (first === 0x2001 && parseInt(groups[1] ?? '0', 16) === 0xdb8) return false;
  return first >= 0x2000 && first <= 0x3fff; // global unicast
}

/**
 * Lower-case IBANs: from each `cc00` start, exactly the country's length of letters and digits
 * (single spaces allowed between them), so the words after it are never taken along.
 */
function findLowercaseIbans(
  text: string,
  digitRuns: readonly number[],
): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  let next = 0;
  for (const start of ibanHeads(text, digitRuns).lower) {
    if (start < next) continue;
    const length = ibanLength(text.slice(start, start + 2));
    if (length === undefined) continue;
    let end = start + 4;
    let n = 4;
    while (n < length && end < text.length) {
      const c = text.charCodeAt(end);
      const alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a);
      if (alnum) n += 1;
      else if (c !== 0x20 || text.charCodeAt(end - 1) === 0x20) break;
      end += 1;
    }
    if (n !== length || isAlphanumeric(text.charCodeAt(end))) continue;
    out.push({ start, end });
    next = end;
  }
  return out;
}

/** The number has a card network's prefix and one of that network's lengths. */
function cardBrandLength(digits: string): boolean {
  const n = digits.length;
  if (digits.startsWith('4')) return n === 13 || n === 16 || n === 19;
  if (/^(?:5[1-5]|2[2-7])/.test(digits)) return n === 16;
  if (/^3[47]/.test(digits)) return n === 15;
  if (/^(?:6011|65|35)/.test(digits)) return n >= 16 && n <= 19;
  if (/^(?:30[0-5]|36|38)/.test(digits)) return n >= 14 && n <= 19;
  return false;
}
