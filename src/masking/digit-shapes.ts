/**
 * Where each kind of number the personal-data rules look for can start, read off the keyword
 * scan's digit runs (maximal runs of ASCII digits, start/end pairs in increasing order) in one
 * pass: a card number, an IBAN, an SSN, a US phone number, a dotted quad, a global IPv6
 * address. Each list is in increasing order and leaves out no offset where its rule's pattern
 * matches (property-tested against the patterns); the rules' regexes then run only there,
 * instead of each scanning the whole text (~1 ns per character each, digits or not).
 */
export interface DigitShapes {
  /** Digit runs that start a chain of runs (single ` `, `.` or `-` between) of ≥ 13 digits. */
  card: number[];
  /** Two upper-case letters right before ≥ 2 digits, not after a letter or digit. */
  ibanUpper: number[];
  /** The same in lower case (`de89…`). */
  ibanLower: number[];
  /** Runs of exactly three digits followed by `-`. */
  ssn: number[];
  /** `ddd`, `)` or not, a separator, `ddd`, `.`/`-`, `dddd`: at the `(` if any, and the run. */
  usPhone: number[];
  /** The dot after a run that three more runs of 1–3 digits follow, joined by single dots. */
  ipv4: number[];
  /** Runs from `2` or `3` that begin a four-hex-digit group and a `:`, not inside a word. */
  ipv6: number[];
}

/** One digit-run list per text scanned: the rules that read it share one pass. */
const shapesByRuns = new WeakMap<readonly number[], DigitShapes>();

/** The shapes of `text` (whose digit runs are `runs`), computed once per run list. */
export function digitShapes(text: string, runs: readonly number[]): DigitShapes {
  let shapes = shapesByRuns.get(runs);
  if (shapes) return shapes;
  shapes = { card: [], ibanUpper: [], ibanLower: [], ssn: [], usPhone: [], ipv4: [], ipv6: [] };
  const n = runs.length;
  let chainLast = -1; // the last run of the card chain being read
  for (let r = 0; r < n; r += 2) {
    const start = runs[r] as number;
    const end = runs[r + 1] as number;
    const length = end - start;
    const after = text.charCodeAt(end);
    if (r > chainLast) chainLast = cardChain(text, runs, r, shapes.card);
    // An SSN and a dotted quad may follow a letter (`x123-45-6789`, `v1.2.3.4`).
    if (length === 3 && after === 0x2d) shapes.ssn.push(start);
    if (after === 0x2e && dottedQuadFrom(text, runs, r)) shapes.ipv4.push(end);
    const before = text.charCodeAt(start - 1);
    if (isLetter(before)) {
      if (length >= 2) ibanHead(text, start, before, shapes);
      continue; // no phone number or IPv6 address starts right after a letter
    }
    if (length === 3 && text.charCodeAt(start) >= 0x32 && usPhoneAt(text, runs, r)) {
      if (before === 0x28) shapes.usPhone.push(start - 1);
      shapes.usPhone.push(start);
    }
    if (globalIpv6Head(text, start, before)) shapes.ipv6.push(start);
  }
  shapesByRuns.set(runs, shapes);
  return shapes;
}

/**
 * Reads the chain of runs that starts at run `first` (each next run one separator after the
 * one before) and records its runs from which ≥ 13 digits remain; returns the chain's last
 * run. A card match takes digits with at most one separator between two: it lies in a chain.
 */
function cardChain(text: string, runs: readonly number[], first: number, out: number[]): number {
  const n = runs.length;
  let last = first;
  let digits = (runs[first + 1] as number) - (runs[first] as number);
  while (
    last + 2 < n &&
    (runs[last + 2] as number) === (runs[last + 1] as number) + 1 &&
    isCardSeparator(text.charCodeAt(runs[last + 1] as number))
  ) {
    last += 2;
    digits += (runs[last + 1] as number) - (runs[last] as number);
  }
  for (let r = first; r <= last && digits >= 13; r += 2) {
    out.push(runs[r] as number);
    digits -= (runs[r + 1] as number) - (runs[r] as number);
  }
  return last;
}

/** Two letters of one case before the run at `start` (`before` is the second), not in a word. */
function ibanHead(text: string, start: number, before: number, shapes: DigitShapes): void {
  const first = text.charCodeAt(start - 2);
  if (!isLetter(first) || isAlphanumeric(text.charCodeAt(start - 3))) return;
  const upper = first < 0x61;
  if (upper === before < 0x61) (upper ? shapes.ibanUpper : shapes.ibanLower).push(start - 2);
}

/** The runs from `r` have a US phone number's shape (`ddd`, `)`?, `[ .-]`, `ddd`, `[.-]`, `dddd`). */
function usPhoneAt(text: string, runs: readonly number[], r: number): boolean {
  if (r + 5 >= runs.length) return false;
  let at = runs[r + 1] as number;
  if (text.charCodeAt(at) === 0x29) at += 1;
  if (!isPhoneSeparator(text.charCodeAt(at), true) || runs[r + 2] !== at + 1) return false;
  const exchange = at + 1;
  if ((runs[r + 3] as number) - exchange !== 3 || text.charCodeAt(exchange) < 0x32) return false;
  const dash = exchange + 3;
  if (!isPhoneSeparator(text.charCodeAt(dash), false) || runs[r + 4] !== dash + 1) return false;
  return (runs[r + 5] as number) - (dash + 1) === 4;
}

/** Three runs of 1–3 digits follow run `r`'s dot, joined by single dots, no dot after the last. */
function dottedQuadFrom(text: string, runs: readonly number[], r: number): boolean {
  if (r + 7 >= runs.length) return false;
  let dot = runs[r + 1] as number;
  for (let k = r + 2; k <= r + 6; k += 2) {
    const start = runs[k] as number;
    const end = runs[k + 1] as number;
    const last = k === r + 6;
    if (start !== dot + 1 || end - start > 3 || (text.charCodeAt(end) === 0x2e) !== !last)
      return false;
    dot = end;
  }
  return true;
}

/**
 * Global unicast IPv6 (2000::/3) starts with a four-hex-digit group from `2` or `3` and a `:`,
 * not after a word character, `.` or `:`.
 */
function globalIpv6Head(text: string, start: number, before: number): boolean {
  const first = text.charCodeAt(start);
  if (first !== 0x32 && first !== 0x33) return false;
  if (text.charCodeAt(start + 4) !== 0x3a) return false;
  for (let k = 1; k < 4; k += 1) if (!isHexDigit(text.charCodeAt(start + k))) return false;
  return !isAlphanumeric(before) && before !== 0x5f && before !== 0x2e && before !== 0x3a;
}

function isCardSeparator(c: number): boolean {
  return c === 0x20 || c === 0x2e || c === 0x2d;
}

/** `[ .-]` (`[.-]` without `space`). */
function isPhoneSeparator(c: number, space: boolean): boolean {
  return c === 0x2e || c === 0x2d || (space && c === 0x20);
}

function isLetter(c: number): boolean {
  return (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a;
}

/** `[0-9A-Za-z]` (NaN, past either end of the text, is not). */
function isAlphanumeric(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || isLetter(c);
}

function isHexDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}
