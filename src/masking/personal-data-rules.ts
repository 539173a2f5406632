import { isIPv6 } from 'node:net';
import { digitShapes } from './digit-shapes.js';
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
    digitStarts: (text, runs) => digitShapes(text, runs).card,
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
    digitStarts: (text, runs) => digitShapes(text, runs).ibanUpper,
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
    digitStarts: (text, runs) => digitShapes(text, runs).ssn,
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
    digitStarts: (text, runs) => digitShapes(text, runs).usPhone,
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
    digitStarts: (text, runs) => digitShapes(text, runs).ipv4,
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
  // Only global unicast (2000::/3) is reported: it starts with a four-digit group `2xxx` or
  // `3xxx` and a `:`, so only digit runs of that shape are looked at, not every colon of a
  // text full of `"key": value`.
  for (const start of digitShapes(text, digitRuns).ipv6) {
    if (start < next) continue;
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
  for (const start of digitShapes(text, digitRuns).ibanLower) {
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
