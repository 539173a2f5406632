/**
 * Cheap evasions undone before detection: a zero-width or other invisible format character
 * inside a token, `\uXXXX` / `\xXX` escapes, `\/` (JSON's escaped slash), percent-encoding and
 * numeric HTML character references. Detection then runs on the normalised text and every
 * finding is mapped back to the original characters, so the replacement covers the whole
 * encoded form. Pure and linear; nothing is allocated when a text holds none of these.
 */

/**
 * Whether the text holds anything `normalizeForDetection` would change. Each test starts at a
 * literal or is a single character class, so V8 scans for it natively; one alternation of them
 * all would be tried at every position (ten times slower).
 */
function needsNormalizing(text: string): boolean {
  return hasInvisible(text) || hasEscapes(text);
}

/** Invisible characters are all non-ASCII: a native UTF-8 length says whether there are any. */
function hasInvisible(text: string): boolean {
  return Buffer.byteLength(text, 'utf8') !== text.length && INVISIBLE.test(text);
}

function hasEscapes(text: string): boolean {
  return (
    (text.includes('\\') && BACKSLASH_ESCAPE.test(text)) ||
    (text.includes('%') && PERCENT_ESCAPE.test(text)) ||
    (text.includes('&#') && CHARACTER_REFERENCE.test(text))
  );
}
// The class holds combining characters (variation selectors) on purpose: each alone is invisible.
const INVISIBLE = new RegExp(
  // eslint-disable-next-line no-misleading-character-class
  '[\\u00AD\\u034F\\u061C\\u115F\\u1160\\u17B4\\u17B5\\u180B-\\u180F\\u200B-\\u200F\\u202A-\\u202E\\u2060-\\u2064\\u2066-\\u206F\\u3164\\uFE00-\\uFE0F\\uFEFF\\uFFA0]',
);
const BACKSLASH_ESCAPE = /\\(?:u[0-9A-Fa-f]{4}|x[0-9A-Fa-f]{2}|\/)/;
const PERCENT_ESCAPE = /%[2-7][0-9A-Fa-f]/;
const CHARACTER_REFERENCE = /&#(?:[0-9]{2,7}|[xX][0-9A-Fa-f]{2,6});/;

/** Invisible characters that render as nothing: stripped, they cannot hide a token's shape. */
export function isInvisible(code: number): boolean {
  return (
    code === 0xad ||
    code === 0x34f ||
    code === 0x61c ||
    code === 0x115f ||
    code === 0x1160 ||
    code === 0x17b4 ||
    code === 0x17b5 ||
    (code >= 0x180b && code <= 0x180f) ||
    (code >= 0x200b && code <= 0x200f) ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2060 && code <= 0x2064) ||
    (code >= 0x2066 && code <= 0x206f) ||
    code === 0x3164 ||
    (code >= 0xfe00 && code <= 0xfe0f) ||
    code === 0xfeff ||
    code === 0xffa0
  );
}

function hexValue(text: string, at: number, digits: number): number {
  let v = 0;
  for (let i = 0; i < digits; i += 1) {
    const c = text.charCodeAt(at + i);
    const d =
      c >= 0x30 && c <= 0x39
        ? c - 0x30
        : c >= 0x41 && c <= 0x46
          ? c - 0x37
          : c >= 0x61 && c <= 0x66
            ? c - 0x57
            : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/**
 * A decoded code unit that may stand in the normalised text: a letter or digit (any script) or
 * punctuation found inside tokens, e-mails and URLs. Never whitespace, quotes, a backslash,
 * brackets or `,;&<>`: those end values, so decoding them could split a match the text as sent
 * has — with only token characters decoded, detection on the normalised text finds everything
 * detection on the original would, and one pass is enough.
 */
function decodable(code: number): boolean {
  if (code >= 0x30 && code <= 0x39) return true;
  if ((code | 0x20) >= 0x61 && (code | 0x20) <= 0x7a) return true;
  if (code < 0x80) return TOKEN_PUNCTUATION[code] === 1;
  return code >= 0xc0 && !isInvisible(code) && (code < 0x2000 || code > 0x206f);
}
/** `!#$%*+-./:=?@^_|~` as a table. */
const TOKEN_PUNCTUATION = new Uint8Array(128);
for (const ch of '!#$%*+-./:=?@^_|~') TOKEN_PUNCTUATION[ch.charCodeAt(0)] = 1;

/**
 * What one encoded unit at `i` stands for: `[code, length]` (code -1: an invisible character,
 * dropped), or null when the character at `i` is itself.
 */
function decodeAt(text: string, i: number): [number, number] | null {
  const c = text.charCodeAt(i);
  if (isInvisible(c)) return [-1, 1];
  if (c === 0x5c) {
    const n = text.charCodeAt(i + 1);
    if (n === 0x2f) return [0x2f, 2]; // \/
    if (n === 0x75) {
      const v = hexValue(text, i + 2, 4);
      if (v >= 0 && isInvisible(v)) return [-1, 6];
      if (v >= 0 && decodable(v)) return [v, 6];
    } else if (n === 0x78) {
      const v = hexValue(text, i + 2, 2);
      if (v >= 0 && decodable(v)) return [v, 4];
    }
    return null;
  }
  if (c === 0x25) {
    const v = hexValue(text, i + 1, 2);
    if (v < 0x80 && decodable(v)) return [v, 3];
    return null;
  }
  if (c === 0x26 && text.charCodeAt(i + 1) === 0x23) {
    const hex = (text.charCodeAt(i + 2) | 0x20) === 0x78;
    const m = (hex ? /[0-9A-Fa-f]{2,6};/y : /[0-9]{2,7};/y) as RegExp;
    m.lastIndex = i + (hex ? 3 : 2);
    const r = m.exec(text);
    if (!r) return null;
    const v = parseInt(r[0].slice(0, -1), hex ? 16 : 10);
    const length = m.lastIndex - i;
    if (isInvisible(v)) return [-1, length];
    if (decodable(v)) return [v, length];
  }
  return null;
}

/**
 * A normalised text and where its characters come from, as breakpoints: from `norm[k]` on (up to
 * the next breakpoint) the characters are the original's from `orig[k]` on, one for one. An
 * encoded unit is a breakpoint of its own (one character for several), and a dropped invisible
 * character moves the next breakpoint. A few entries per escape, not one per character.
 */
export interface CompactNormalizedText {
  text: string;
  norm: number[];
  orig: number[];
}

/** The invisible class as a search (global: `lastIndex` says where it starts). */
// eslint-disable-next-line no-misleading-character-class
const INVISIBLE_SEARCH = new RegExp(INVISIBLE.source, 'g');

/**
 * Where the next character `decodeAt` may decode is, at or after `from` (-1: none): a `\\`,
 * `%`, `&` or, when the text has any, an invisible character. Each kind has a search of its
 * own, kept ahead of `from`: `indexOf` skips natively, while one class holding them all would be
 * tried at every character.
 */
function candidates(text: string, invisible: boolean): (from: number) => number {
  let backslash = -2; // -2: not searched yet; -1: none left
  let percent = -2;
  let ampersand = -2;
  let hidden = invisible ? -2 : -1;
  return (from) => {
    if (backslash !== -1 && backslash < from) backslash = text.indexOf('\\', from);
    if (percent !== -1 && percent < from) percent = text.indexOf('%', from);
    if (ampersand !== -1 && ampersand < from) ampersand = text.indexOf('&', from);
    if (hidden !== -1 && hidden < from) {
      INVISIBLE_SEARCH.lastIndex = from;
      hidden = INVISIBLE_SEARCH.exec(text)?.index ?? -1;
    }
    let at = backslash;
    if (percent >= 0 && (at < 0 || percent < at)) at = percent;
    if (ampersand >= 0 && (at < 0 || ampersand < at)) at = ampersand;
    if (hidden >= 0 && (at < 0 || hidden < at)) at = hidden;
    return at;
  };
}

/** Escapes denser than one in this many characters are undone by the per-character loop. */
const DENSE_ESCAPES = 32;

/**
 * The text with invisible characters removed and escapes decoded, or null when there is
 * nothing to undo. An escaped backslash (`\\`) stays two characters, so `\\u0041` is not an
 * escape; a decoded quote or backslash is left encoded. Only the escapes are visited (a native
 * search finds them) and the text between them is copied as slices; where escapes turn out to be
 * dense (hostile input), `normalizeForDetection`'s per-character loop is cheaper and is used.
 */
export function normalizeCompact(text: string): CompactNormalizedText | NormalizedText | null {
  const invisible = hasInvisible(text);
  if (!invisible && !hasEscapes(text)) return null;
  const next = candidates(text, invisible);
  const parts: string[] = [];
  const norm: number[] = [0];
  const orig: number[] = [0];
  let copied = 0; // original offset up to which `parts` holds the text
  let length = 0; // normalised length so far
  let units = 0;
  for (let i = next(0); i >= 0; i = next(i + 1)) {
    if (text.charCodeAt(i) === 0x5c && text.charCodeAt(i + 1) === 0x5c) {
      i += 1; // an escaped backslash: both stay
      continue;
    }
    const decoded = decodeAt(text, i);
    if (!decoded) continue;
    units += 1;
    if (units > 64 && units * DENSE_ESCAPES > i) return normalizeForDetection(text);
    const [code, size] = decoded;
    parts.push(text.slice(copied, i));
    length += i - copied;
    if (code >= 0) {
      // The decoded character is a segment of its own: it starts where its escape starts.
      norm.push(length);
      orig.push(i);
      parts.push(String.fromCharCode(code));
      length += 1;
    }
    copied = i + size;
    norm.push(length);
    orig.push(copied);
    i = copied - 1;
  }
  if (norm.length === 1) return null;
  parts.push(text.slice(copied));
  return { text: parts.join(''), norm, orig };
}

/** The original offset of a normalised one (an end offset maps past what its character covers). */
export function originalOffset(
  map: CompactNormalizedText | NormalizedText,
  offset: number,
): number {
  if ('starts' in map) return map.starts[offset] ?? 0;
  const { norm, orig } = map;
  let lo = 0;
  let hi = norm.length - 1;
  // The last breakpoint at or before `offset` (of equal ones, the last: after a dropped character).
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if ((norm[mid] as number) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return (orig[lo] as number) + offset - (norm[lo] as number);
}

/** A normalised text and, for each of its characters, where it starts in the original. */
export interface NormalizedText {
  text: string;
  /** `starts[i]` is the original offset of character `i`; `starts[text.length]` the original length. */
  starts: Int32Array;
}

/**
 * `normalizeCompact`'s result with one original offset per character, by one loop over every
 * character: linear with a small constant even when every character is an escape.
 */
export function normalizeForDetection(text: string): NormalizedText | null {
  if (!needsNormalizing(text)) return null;
  // Code units into a typed array and one native decode: linear with a small constant even
  // when every character is an escape.
  const out = new Uint16Array(text.length);
  const starts = new Int32Array(text.length + 1);
  let n = 0;
  for (let i = 0; i < text.length;) {
    const c = text.charCodeAt(i);
    if (c === 0x5c && text.charCodeAt(i + 1) === 0x5c) {
      // An escaped backslash: both stay.
      out[n] = c;
      starts[n++] = i;
      out[n] = c;
      starts[n++] = i + 1;
      i += 2;
      continue;
    }
    const decoded = c === 0x5c || c === 0x25 || c === 0x26 || c >= 0xad ? decodeAt(text, i) : null;
    if (!decoded) {
      out[n] = c;
      starts[n++] = i;
      i += 1;
      continue;
    }
    const [code, length] = decoded;
    if (code >= 0) {
      out[n] = code;
      starts[n++] = i;
    }
    i += length;
  }
  starts[n] = text.length;
  const normalized = Buffer.from(out.buffer, out.byteOffset, n * 2).toString('utf16le');
  return { text: normalized, starts: starts.subarray(0, n + 1) };
}

/** A span of the normalised text as a span of the original (covering every encoded character). */
export function originalSpan(
  norm: NormalizedText,
  start: number,
  end: number,
): { start: number; end: number } {
  return { start: norm.starts[start] ?? 0, end: norm.starts[end] ?? 0 };
}
