import { RE2JS } from 're2js';
import {
  caseFold,
  complement,
  hex,
  isAsciiLetter,
  PERL_RANGES,
  POSIX_CLASSES,
  rangesToClass,
} from './regex-charsets.js';
import type { Range } from './regex-charsets.js';

/**
 * Codex compiles requirement regexes with Rust's `regex-lite` crate (observed with codex-cli
 * 0.169: it rejects `\p{L}` and `[a&&b]` but accepts `(?x)` and `\<`). JavaScript's RegExp
 * accepts a different language and backtracks exponentially, so an admin's typo could hang
 * the gateway. This module parses the regex-lite language itself, rejects what regex-lite
 * rejects (with regex-lite's wording), and emits an equivalent pattern for RE2 (re2js), which
 * matches in linear time.
 *
 * Because matching is a yes/no whole-value test, capture groups, greediness (`U`) and the
 * `u` flag do not change the answer and are dropped. Case-insensitivity is ASCII-only in
 * regex-lite, so it is expanded here into explicit classes rather than left to RE2's Unicode
 * folding. A few constructs RE2 cannot express are refused (fail closed) with a message that
 * says so: `\<`, `\>`, `\b{…}`, counted repetition above 1000, and `(?R)` with `^`/`$` in
 * multi-line mode.
 */
export interface CompiledRustRegex {
  /** The expression as the admin wrote it. */
  source: string;
  /** True when the whole value matches (Codex anchors as `\A(?:…)\z`). */
  matchesWhole(value: string): boolean;
}

export class RustRegexError extends Error {
  /** `invalid` = the expression itself; `anchored` = it breaks once wrapped for full-value matching. */
  constructor(
    message: string,
    readonly phase: 'invalid' | 'anchored' | 'unsupported',
  ) {
    super(message);
  }
}

/**
 * Compiles a Codex requirement regex. Throws `RustRegexError` with the message Codex would
 * give (`invalid regex …` / `… cannot be used for full-value matching: …`).
 */
export function compileRustRegex(expression: string): CompiledRustRegex {
  const cached = compiled.get(expression);
  if (cached) return cached;
  const result = compileUncached(expression);
  if (compiled.size >= MAX_CACHED) compiled.clear();
  compiled.set(expression, result);
  return result;
}

/** Admins repeat expressions across rules; compiling RE2 programs is the costly part. */
const compiled = new Map<string, CompiledRustRegex>();
const MAX_CACHED = 1024;

function compileUncached(expression: string): CompiledRustRegex {
  try {
    translateRegexLite(expression);
  } catch (err) {
    if (err instanceof TranslateError) {
      throw new RustRegexError(err.message, err.unsupported ? 'unsupported' : 'invalid');
    }
    throw err;
  }
  let translated: string;
  try {
    translated = translateRegexLite(`\\A(?:${expression})\\z`);
  } catch (err) {
    if (err instanceof TranslateError) {
      throw new RustRegexError(err.message, err.unsupported ? 'unsupported' : 'anchored');
    }
    throw err;
  }
  const re = RE2JS.compile(translated);
  return { source: expression, matchesWhole: (value) => re.matches(value) };
}

class TranslateError extends Error {
  constructor(
    message: string,
    readonly unsupported = false,
  ) {
    super(message);
  }
}

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  x: boolean;
  R: boolean;
}

const MAX_REPEAT = 1000;

/** A translated atom; `repeated` marks one that already carries a repetition operator. */
interface Piece {
  text: string;
  repeated: boolean;
  canRepeat: boolean;
}

function translateRegexLite(pattern: string): string {
  const p = new Parser(Array.from(pattern));
  const out = p.parseAlternation({ i: false, m: false, s: false, x: false, R: false }, 0);
  if (!p.eof()) throw new TranslateError("found closing ')' without matching '('");
  return out;
}

function isWhitespace(ch: string): boolean {
  return /\s/u.test(ch);
}

function literal(cp: number, flags: Flags): string {
  if (flags.i && isAsciiLetter(cp)) {
    const lower = cp | 0x20;
    return `[${String.fromCodePoint(lower - 0x20)}${String.fromCodePoint(lower)}]`;
  }
  if ((cp >= 0x30 && cp <= 0x39) || isAsciiLetter(cp)) return String.fromCodePoint(cp);
  return hex(cp);
}

class Parser {
  private pos = 0;
  private readonly names = new Set<string>();

  constructor(private readonly chars: string[]) {}

  eof(): boolean {
    return this.pos >= this.chars.length;
  }

  private peek(offset = 0): string | undefined {
    return this.chars[this.pos + offset];
  }

  private next(): string {
    const ch = this.chars[this.pos++];
    if (ch === undefined) throw new TranslateError('unexpected end of pattern');
    return ch;
  }

  /** In `(?x)` mode, skips whitespace and `#` comments. */
  private skipIgnored(flags: Flags): void {
    if (!flags.x) return;
    while (!this.eof()) {
      const ch = this.peek() ?? '';
      if (isWhitespace(ch)) this.pos++;
      else if (ch === '#') {
        while (!this.eof() && this.peek() !== '\n') this.pos++;
      } else break;
    }
  }

  parseAlternation(outer: Flags, depth: number): string {
    const flags = { ...outer };
    const branches: string[] = [];
    let pieces: Piece[] = [];
    for (;;) {
      this.skipIgnored(flags);
      const ch = this.peek();
      if (ch === undefined || ch === ')') break;
      if (ch === '|') {
        this.pos++;
        branches.push(pieces.map((x) => x.text).join(''));
        pieces = [];
        continue;
      }
      if (ch === '*' || ch === '+' || ch === '?') {
        this.pos++;
        const last = pieces[pieces.length - 1];
        if (!last || !last.canRepeat) {
          throw new TranslateError(
            'uncounted repetition operator must be applied to a sub-expression',
          );
        }
        pieces[pieces.length - 1] = this.applyRepeat(last, ch, flags);
        continue;
      }
      if (ch === '{') {
        const last = pieces[pieces.length - 1];
        if (!last || !last.canRepeat) {
          throw new TranslateError(
            'counted repetition operator must be applied to a sub-expression',
          );
        }
        this.pos++;
        pieces[pieces.length - 1] = this.applyRepeat(last, this.parseCounted(flags), flags);
        continue;
      }
      const piece = this.parseAtom(flags, depth);
      if (piece) pieces.push(piece);
    }
    branches.push(pieces.map((x) => x.text).join(''));
    return branches.length === 1 ? (branches[0] ?? '') : branches.join('|');
  }

  private applyRepeat(piece: Piece, op: string, flags: Flags): Piece {
    this.skipIgnored(flags);
    let lazy = '';
    if (this.peek() === '?') {
      this.pos++;
      lazy = '?';
    }
    const base = piece.repeated ? `(?:${piece.text})` : piece.text;
    return { text: `${base}${op}${lazy}`, repeated: true, canRepeat: true };
  }

  private parseCounted(flags: Flags): string {
    const readNumber = (): number => {
      this.skipIgnored(flags);
      let digits = '';
      while (/[0-9]/.test(this.peek() ?? '')) digits += this.next();
      this.skipIgnored(flags);
      if (this.eof()) {
        throw new TranslateError('found incomplete and unclosed counted repetition operator');
      }
      if (digits === '') throw new TranslateError('expected decimal number, but found no digits');
      const n = Number(digits);
      if (n > MAX_REPEAT) {
        throw new TranslateError(
          `counted repetition above ${MAX_REPEAT} is not supported by Gatehouse's linear-time engine`,
          true,
        );
      }
      return n;
    };
    const min = readNumber();
    let text = `{${min}}`;
    if (this.peek() === ',') {
      this.pos++;
      this.skipIgnored(flags);
      if (this.eof())
        throw new TranslateError('found incomplete and unclosed counted repetition operator');
      if (this.peek() === '}') text = `{${min},}`;
      else {
        const max = readNumber();
        if (min > max)
          throw new TranslateError('found counted repetition with a min bigger than its max');
        text = `{${min},${max}}`;
      }
    }
    if (this.eof() || this.peek() !== '}') {
      throw new TranslateError('found incomplete and unclosed counted repetition operator');
    }
    this.pos++;
    return text;
  }

  private parseAtom(flags: Flags, depth: number): Piece | null {
    const ch = this.next();
    switch (ch) {
      case '(':
        return this.parseGroup(flags, depth);
      case '[':
        return { text: this.parseClass(flags), repeated: false, canRepeat: true };
      case '\\':
        return this.parseEscape(flags);
      case '.': {
        const text = flags.s ? '(?s:.)' : flags.R ? '[^\\n\\r]' : '[^\\n]';
        return { text, repeated: false, canRepeat: true };
      }
      case '^':
      case '$': {
        if (flags.m && flags.R) {
          throw new TranslateError(
            'CRLF mode (?R) with multi-line anchors is not supported by Gatehouse',
            true,
          );
        }
        const text = flags.m ? `(?m:${ch})` : ch === '^' ? '\\A' : '\\z';
        return { text, repeated: false, canRepeat: true };
      }
      default:
        return { text: literal(ch.codePointAt(0) ?? 0, flags), repeated: false, canRepeat: true };
    }
  }

  private parseGroup(outer: Flags, depth: number): Piece | null {
    if (this.peek() !== '?') return this.finishGroup(outer, depth);
    this.pos++;
    const c = this.peek();
    if (c === '=' || c === '!' || (c === '<' && (this.peek(1) === '=' || this.peek(1) === '!'))) {
      throw new TranslateError('look-around is not supported');
    }
    if (c === 'P' && this.peek(1) === '<') {
      this.pos += 2;
      this.parseGroupName();
      return this.finishGroup(outer, depth);
    }
    if (c === '<') {
      this.pos++;
      this.parseGroupName();
      return this.finishGroup(outer, depth);
    }
    // Flag group: (?flags) or (?flags:...)
    const flags = { ...outer };
    let negate = false;
    let sawAny = false;
    let lastWasNegation = false;
    const seen = new Set<string>();
    for (;;) {
      if (this.eof()) throw new TranslateError("found open group without closing ')'");
      const f = this.next();
      if (f === ')' || f === ':') {
        if (!sawAny && !negate && f === ')') {
          throw new TranslateError("empty flag directive '(?)' is not allowed");
        }
        if (lastWasNegation)
          throw new TranslateError('inline flags cannot end with negation directive');
        if (f === ')') {
          Object.assign(outer, flags);
          return null;
        }
        return this.finishGroup(flags, depth);
      }
      if (f === '-') {
        if (negate) throw new TranslateError('inline flag negation cannot be repeated');
        negate = true;
        lastWasNegation = true;
        continue;
      }
      if (!'imsUuxR'.includes(f)) throw new TranslateError('unrecognized inline flag');
      if (seen.has(f)) throw new TranslateError('duplicate inline flag');
      seen.add(f);
      sawAny = true;
      lastWasNegation = false;
      if (f === 'i' || f === 'm' || f === 's' || f === 'x' || f === 'R') flags[f] = !negate;
    }
  }

  private parseGroupName(): void {
    let name = '';
    for (;;) {
      if (this.eof()) throw new TranslateError('invalid group name');
      const ch = this.next();
      if (ch === '>') break;
      name += ch;
    }
    if (!/^[_A-Za-z][_A-Za-z0-9.[\]]*$/.test(name)) throw new TranslateError('invalid group name');
    if (this.names.has(name)) throw new TranslateError('duplicate capture group name');
    this.names.add(name);
  }

  private finishGroup(flags: Flags, depth: number): Piece {
    const inner = this.parseAlternation(flags, depth + 1);
    if (this.eof()) throw new TranslateError("found open group without closing ')'");
    this.pos++; // ')'
    return { text: `(?:${inner})`, repeated: false, canRepeat: true };
  }

  private parseEscape(flags: Flags): Piece {
    if (this.eof()) throw new TranslateError('incomplete escape sequence');
    const ch = this.next();
    const perl = this.perlClass(ch);
    if (perl) {
      return { text: rangesToClass(perl.ranges, perl.negated), repeated: false, canRepeat: true };
    }
    switch (ch) {
      case 'A':
        return { text: '\\A', repeated: false, canRepeat: true };
      case 'z':
        return { text: '\\z', repeated: false, canRepeat: true };
      case 'B':
        return { text: '\\B', repeated: false, canRepeat: true };
      case 'b':
        if (this.peek() === '{') {
          throw new TranslateError(
            '\\b{start}, \\b{end} and their half forms are not supported by Gatehouse; use \\b',
            true,
          );
        }
        return { text: '\\b', repeated: false, canRepeat: true };
      case '<':
      case '>':
        throw new TranslateError(
          `\\${ch} (word start/end) is not supported by Gatehouse; use \\b`,
          true,
        );
      case 'p':
      case 'P':
        throw new TranslateError('Unicode character classes are not supported');
      default: {
        const cp = this.escapedCodePoint(ch);
        return { text: literal(cp, flags), repeated: false, canRepeat: true };
      }
    }
  }

  private perlClass(ch: string): { ranges: Range[]; negated: boolean } | null {
    const lower = ch.toLowerCase();
    const ranges = PERL_RANGES[lower];
    if (!ranges || (ch !== lower && ch !== lower.toUpperCase())) return null;
    return { ranges, negated: ch !== lower };
  }

  /** Escapes that stand for one character: `\n`, `\x41`, `\u{263A}`, `\.`. */
  private escapedCodePoint(ch: string): number {
    const simple: Record<string, number> = { a: 7, f: 12, t: 9, n: 10, r: 13, v: 11 };
    if (ch in simple) return simple[ch] ?? 0;
    if (ch === 'x' || ch === 'u' || ch === 'U') {
      const width = ch === 'x' ? 2 : ch === 'u' ? 4 : 8;
      let digits = '';
      if (this.peek() === '{') {
        this.pos++;
        while (!this.eof() && this.peek() !== '}') digits += this.next();
        if (this.eof()) throw new TranslateError('found incomplete escape sequence in braces');
        this.pos++;
        const cp = /^[0-9A-Fa-f]{1,8}$/.test(digits) ? parseInt(digits, 16) : NaN;
        if (!Number.isFinite(cp) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
          throw new TranslateError('got invalid hexadecimal number in braces');
        }
        return cp;
      }
      for (let k = 0; k < width; k++) {
        const d = this.peek();
        if (d === undefined || !/[0-9A-Fa-f]/.test(d)) {
          throw new TranslateError('expected hexadecimal digit in escape sequence');
        }
        digits += this.next();
      }
      const cp = parseInt(digits, 16);
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        throw new TranslateError('got invalid hexadecimal number');
      }
      return cp;
    }
    if (/[0-9]/.test(ch)) throw new TranslateError('backreferences are not supported');
    const cp = ch.codePointAt(0) ?? 0;
    const isAsciiPunctOrSpace = cp < 0x80 && !/[0-9A-Za-z]/.test(ch);
    if (isAsciiPunctOrSpace) return cp;
    throw new TranslateError('unrecognized escape sequence');
  }

  private parseClass(flags: Flags): string {
    let negated = false;
    if (this.peek() === '^') {
      this.pos++;
      negated = true;
    }
    const ranges: Range[] = [];
    let first = true;
    for (;;) {
      if (flags.x) while (!this.eof() && isWhitespace(this.peek() ?? '')) this.pos++;
      if (this.eof()) throw new TranslateError('non-empty character class has no closing bracket');
      const ch = this.peek() ?? '';
      if (ch === ']' && !first) {
        this.pos++;
        break;
      }
      first = false;
      if (ch === '[') {
        ranges.push(...this.parsePosixClass());
        continue;
      }
      const pair = ch + (this.peek(1) ?? '');
      if (pair === '&&') throw new TranslateError('character class intersection is not supported');
      if (pair === '--') throw new TranslateError('character class difference is not supported');
      if (pair === '~~')
        throw new TranslateError('character class symmetric difference is not supported');
      const start = this.parseClassItem();
      if (this.peek() === '-' && this.peek(1) === '-') {
        throw new TranslateError('character class difference is not supported');
      }
      if (this.peek() === '-' && this.peek(1) !== ']' && this.peek(1) !== undefined) {
        this.pos++;
        const end = this.parseClassItem();
        if (start.kind !== 'char' || end.kind !== 'char') {
          throw new TranslateError(
            'character class ranges must start and end with a single character',
          );
        }
        if (start.cp > end.cp) throw new TranslateError('invalid range in character class');
        ranges.push([start.cp, end.cp]);
      } else if (start.kind === 'char') {
        ranges.push([start.cp, start.cp]);
      } else {
        ranges.push(...start.ranges);
      }
    }
    return rangesToClass(flags.i ? caseFold(ranges) : ranges, negated);
  }

  private parsePosixClass(): Range[] {
    const rest = this.chars.slice(this.pos).join('');
    const m = /^\[:(\^?)([a-z]+):\]/.exec(rest);
    if (!m || !POSIX_CLASSES[m[2] ?? '']) {
      throw new TranslateError('nested character classes are not supported');
    }
    this.pos += m[0].length;
    const ranges = POSIX_CLASSES[m[2] ?? ''] ?? [];
    return m[1] ? complement(ranges) : ranges;
  }

  private parseClassItem(): { kind: 'char'; cp: number } | { kind: 'set'; ranges: Range[] } {
    const ch = this.next();
    if (ch !== '\\') return { kind: 'char', cp: ch.codePointAt(0) ?? 0 };
    if (this.eof()) throw new TranslateError('incomplete escape sequence');
    const e = this.next();
    const perl = this.perlClass(e);
    if (perl) return { kind: 'set', ranges: perl.negated ? complement(perl.ranges) : perl.ranges };
    if (e === 'p' || e === 'P')
      throw new TranslateError('Unicode character classes are not supported');
    if ('AzbB<>'.includes(e)) throw new TranslateError('unrecognized escape sequence');
    return { kind: 'char', cp: this.escapedCodePoint(e) };
  }
}
