/**
 * Checks that turn a pattern match into a finding (Presidio's model: a validator passes → a
 * finding; fails → dropped). Pure functions over the matched text.
 */

/** Luhn mod-10 over the digits of `text` (separators ignored). */
export function luhnValid(text: string): boolean {
  const digits = text.replace(/[ .-]/g, '');
  if (!/^\d{12,19}$/.test(digits)) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** IBAN lengths by country (ISO 13616 registry, common ones); others need 15–34. */
const IBAN_LENGTHS: Record<string, number> = {
  AD: 24,
  AE: 23,
  AT: 20,
  BE: 16,
  BG: 22,
  BH: 22,
  BR: 29,
  CH: 21,
  CY: 28,
  CZ: 24,
  DE: 22,
  DK: 18,
  EE: 20,
  ES: 24,
  FI: 18,
  FR: 27,
  GB: 22,
  GI: 23,
  GR: 27,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IS: 26,
  IT: 27,
  KW: 30,
  KZ: 20,
  LB: 28,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  MC: 27,
  MT: 31,
  NL: 18,
  NO: 15,
  PL: 28,
  PT: 25,
  QA: 29,
  RO: 24,
  SA: 24,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  TR: 26,
  UA: 29,
};

/** The length of an IBAN of this country (its first two letters), when known. */
export function ibanLength(text: string): number | undefined {
  return IBAN_LENGTHS[text.slice(0, 2).toUpperCase()];
}

/** The IBAN's country is one whose length is known (required of lower-case candidates). */
export function ibanCountryKnown(text: string): boolean {
  return IBAN_LENGTHS[text.slice(0, 2).toUpperCase()] !== undefined;
}

/** ISO 13616 mod-97 check, with the country's length when known. */
export function ibanValid(text: string): boolean {
  const iban = text.replace(/[ ]/g, '').toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
  const check = Number(iban.slice(2, 4));
  if (check < 2 || check > 98) return false; // ISO 13616 check digits are 02–98
  const expected = IBAN_LENGTHS[iban.slice(0, 2)];
  if (expected !== undefined && iban.length !== expected) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (let i = 0; i < rearranged.length; i += 1) {
    const code = rearranged.charCodeAt(i);
    // A letter stands for its two digits (A = 10 … Z = 35): the same remainder as appending them
    // one at a time, without a string per letter.
    remainder = code >= 65 ? (remainder * 100 + code - 55) % 97 : (remainder * 10 + code - 48) % 97;
  }
  return remainder === 1;
}

/**
 * US SSN rules: area not 000, 666 or 900–999; group not 00; serial not 0000; no all-same digits.
 * Well-known sample numbers (123-45-6789, 078-05-1120 from the Woolworth wallet card) pass: to
 * a reader they are indistinguishable from a real number, so they are masked like one.
 */
export function ssnValid(text: string): boolean {
  const m = /^(\d{3})([- ]?)(\d{2})\2(\d{4})$/.exec(text);
  if (!m) return false;
  const [area, group, serial] = [m[1] ?? '', m[3] ?? '', m[4] ?? ''];
  if (area === '000' || area === '666' || area >= '900') return false;
  if (group === '00' || serial === '0000') return false;
  return !/^(\d)\1{8}$/.test(area + group + serial);
}

export function ipv4Valid(text: string): boolean {
  return ipv4Octets(text) !== null;
}

/**
 * The four numbers of a dotted quad (each 1–3 digits, at most 255, no leading zero but in `0`),
 * or null: one pass, no split or regex per part (an IPv4 match is checked per dotted quad found).
 */
function ipv4Octets(text: string): number[] | null {
  const octets: number[] = [];
  let value = 0;
  let digits = 0;
  let leadingZero = false;
  for (let i = 0; i <= text.length; i += 1) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e; // the end closes the last part
    if (c === 0x2e) {
      if (digits === 0 || value > 255 || (leadingZero && digits > 1) || octets.length === 4)
        return null;
      octets.push(value);
      value = 0;
      digits = 0;
      continue;
    }
    if (c < 0x30 || c > 0x39 || digits === 3) return null;
    if (digits === 0) leadingZero = c === 0x30;
    value = value * 10 + (c - 0x30);
    digits += 1;
  }
  return octets.length === 4 ? octets : null;
}

/**
 * A public IPv4 address: one that can point at a person. Loopback, private (RFC 1918),
 * link-local, carrier-grade NAT, documentation, multicast and reserved ranges are
 * infrastructure and stay visible.
 */
export function publicIpv4(text: string): boolean {
  const octets = ipv4Octets(text);
  if (!octets) return false;
  const [a = 0, b = 0, c = 0] = octets;
  if (a === 0 || a === 10 || a === 127 || a >= 224) return false;
  if (a === 169 && b === 254) return false;
  if (a === 172 && b >= 16 && b <= 31) return false;
  if (a === 192 && b === 168) return false;
  if (a === 100 && b >= 64 && b <= 127) return false;
  if ((a === 192 && b === 0 && c === 2) || (a === 198 && b === 51 && c === 100)) return false;
  if (a === 203 && b === 0 && c === 113) return false;
  return true;
}

const COUNTS = new Uint32Array(128);
/** Scratch: the distinct ASCII codes of the text being measured, in order of first occurrence. */
const DISTINCT = new Uint8Array(128);

/** Texts up to this long have their entropy terms remembered (most secrets and values are). */
const TERM_MAX = 128;
/** `p·log2(p)` for `p = k/n`, at `n·(TERM_MAX+1) + k`; NaN until first needed. */
const TERMS = new Float64Array((TERM_MAX + 1) * (TERM_MAX + 1)).fill(NaN);

/**
 * `p·log2(p)` for `p = k/n`. A logarithm costs more than counting a whole short string; each
 * term is computed once and then looked up: the same values summed in the same order, so the
 * entropy is the same to the last bit (gates compare it with thresholds).
 */
function entropyTerm(k: number, n: number): number {
  if (n > TERM_MAX) {
    const p = k / n;
    return p * Math.log2(p);
  }
  const at = n * (TERM_MAX + 1) + k;
  let t = TERMS[at] as number;
  if (Number.isNaN(t)) {
    const p = k / n;
    t = TERMS[at] = p * Math.log2(p);
  }
  return t;
}

/** Shannon entropy in bits per character (ASCII counted in a table; other text in a Map). */
export function shannonEntropy(text: string): number {
  const n = text.length;
  if (n === 0) return 0;
  let ascii = true;
  let distinct = 0;
  for (let i = 0; i < n; i += 1) {
    const c = text.charCodeAt(i);
    if (c >= 128) {
      ascii = false;
      break;
    }
    const k = COUNTS[c] as number;
    if (k === 0) DISTINCT[distinct++] = c;
    COUNTS[c] = k + 1;
  }
  let h = 0;
  if (ascii) {
    // Summed in order of first occurrence, as a second pass over the text would (same result
    // to the last bit), but visiting each distinct character once.
    for (let d = 0; d < distinct; d += 1) {
      const c = DISTINCT[d] as number;
      h -= entropyTerm(COUNTS[c] as number, n);
      COUNTS[c] = 0;
    }
    return h;
  }
  COUNTS.fill(0);
  const counts = new Map<string, number>();
  for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  for (const k of counts.values()) {
    const p = k / n;
    h -= p * Math.log2(p);
  }
  return h;
}

/** Placeholders and examples a generic rule must not report (`${VAR}`, `<token>`, `xxxx`, `changeme`…). */
export function looksLikePlaceholder(value: string): boolean {
  const v = value.toLowerCase();
  return (
    /^⟦[^⟧]*⟧$|^\$\{[^}]*\}$|^\{\{.*\}\}$|^%[a-z_]+%$|^<[^>]+>$|^\$[a-z_][a-z0-9_]*$/i.test(
      value,
    ) ||
    /^(.)\1+$/.test(value) ||
    /example|placeholder|changeme|your[_-]?(api[_-]?)?(key|token|secret|password)|redacted|dummy|xxxx|\*\*\*/.test(
      v,
    ) ||
    ['true', 'false', 'null', 'none', 'undefined', 'password', 'secret', 'token'].includes(v)
  );
}
