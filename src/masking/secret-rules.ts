import type { DetectorRule } from './rules.js';
import { TOKEN_FORMAT_RULES, atQuoteOrItsBackslash } from './token-format-rules.js';
import { looksLikePlaceholder, shannonEntropy } from './validators.js';

/**
 * Secrets: the token formats (token-format-rules.ts), then credentials known by where they
 * stand — config files, URLs and headers, assignments to a secret-named key.
 */
export const SECRET_RULES: readonly DetectorRule[] = [
  ...TOKEN_FORMAT_RULES,
  // Credentials in config files that hold them base64-encoded or line-structured.
  {
    id: 'kubeconfig-client-key',
    kind: 'private_key',
    keywords: ['client-key-data'],
    keywordStarts: true,
    pattern: /client-key-data\\?["']?[ \t]{0,3}:[ \t]{0,3}\\?["']?([A-Za-z0-9+/]{20,65536}={0,2})/g,
    group: 1,
  },
  {
    id: 'docker-config-auth',
    kind: 'basic_auth',
    // `"auth": "<base64 of user:password>"` in ~/.docker/config.json (also inside a JSON string).
    keywords: ['"auth'],
    anchored: { anchor: '"auth', starts: atQuoteOrItsBackslash },
    pattern: /\\?"auth\\?"[ \t]{0,3}:[ \t]{0,3}\\?"([A-Za-z0-9+/]{8,16384}={0,2})\\?"/g,
    group: 1,
    validate: (s) => decodesToText(s, true),
  },
  {
    id: 'npmrc-auth',
    kind: 'basic_auth',
    // `_auth=<base64 of user:password>` and `_password=<base64>` in .npmrc (not `_authToken`).
    keywords: ['_auth', '_password'],
    keywordStarts: true,
    pattern:
      /(?<![A-Za-z0-9])_(auth|password)[ \t]{0,3}=[ \t]{0,3}["']?([A-Za-z0-9+/]{4,16384}={0,2})(?![A-Za-z0-9+/=])/g,
    group: 2,
    validate: (s, match) => decodesToText(s, match.startsWith('_auth')),
  },
  {
    id: 'pgpass-line',
    kind: 'generic_secret',
    // hostname:port:database:username:password, one per line (~/.pgpass). Gated on the usual
    // ports, the `*` wildcard and the file's name: a colon alone is in nearly every text.
    keywords: [':5432:', ':5433:', ':6432:', ':*:', 'pgpass'],
    pattern:
      /^([A-Za-z0-9.*_-]{1,253}):(?:[0-9]{1,5}|\*):([^:\s\\]{1,63}):([^:\s\\]{1,63}):((?:[^\s:\\]|\\[:\\]){3,1024})[ \t]*\r?$/gm,
    group: 4,
    validate: (s, match) => {
      const [host = '', , db = '', user = ''] = match.split(':');
      return (
        /[A-Za-z.*]/.test(host) &&
        /[^0-9]/.test(db) &&
        /[^0-9]/.test(user) &&
        !looksLikePlaceholder(s) &&
        !/^[0-9]+$/.test(s)
      );
    },
  },
  {
    id: 'putty-private-key',
    kind: 'private_key',
    keywords: ['private-lines:'],
    pattern: /(?!)/g,
    find: findPuttyPrivateLines,
  },
  {
    id: 'cookie-value',
    kind: 'session_cookie',
    keywords: ['cookie'],
    pattern: /(?!)/g,
    find: findCookieValues,
    entropy: 3,
  },
  // Credentials in URLs, headers and connection strings (gateway additions).
  {
    id: 'url-credentials',
    kind: 'url_password',
    keywords: ['://'],
    // Tried at each `://` (where every match starts), not scanned for over the whole text.
    keywordStarts: true,
    pattern: /:\/\/[^\s:/@"'<>]{1,256}:([^\s@/"'<>]{3,2048})@[A-Za-z0-9.-]{1,256}/g,
    group: 1,
    validate: (s) => !looksLikePlaceholder(s),
  },
  {
    id: 'authorization-header',
    kind: 'auth_header',
    // `proxy-authorization` holds `authorization`: a match starts where one of them does.
    keywords: ['authorization', 'proxy-authorization'],
    keywordStarts: true,
    pattern:
      /\b(?:authorization|proxy-authorization)\\?["']?\s{0,3}[:=]\s{0,3}\\?["']?(?:bearer|basic|token)\s{1,3}([A-Za-z0-9._~+/=-]{12,4096})/gi,
    group: 1,
    extend: (text, end) => runEnd(text, end, TOKEN_CHARS),
    validate: (s) => !looksLikePlaceholder(s),
  },
  {
    id: 'bare-bearer',
    kind: 'auth_header',
    keywords: ['bearer'],
    keywordStarts: true,
    pattern: /\bbearer\s{1,3}([A-Za-z0-9._~+/-]{20,4096}=*)/gi,
    group: 1,
    precheck: bearerTokenAhead,
    extend: (text, end) => runEnd(text, end, TOKEN_CHARS),
    entropy: 3,
    validate: (s) => !looksLikePlaceholder(s),
  },
  {
    id: 'api-key-header',
    kind: 'api_key',
    keywords: ['x-api-key', 'x-apikey', 'api-key', 'apikey'],
    keywordStarts: true,
    pattern: /\b(?:x-)?api-?key\\?["']?\s{0,3}[:=]\s{0,3}\\?["']?([A-Za-z0-9._~+/=-]{16,512})/gi,
    group: 1,
    extend: (text, end) => runEnd(text, end, TOKEN_CHARS),
    entropy: 3,
    validate: (s) => !looksLikePlaceholder(s),
  },
  // Generic assignments: a password-like key names a secret however plain its value (in
  // quotes or `NAME=value`); a token-like key needs a value that looks like a credential.
  {
    id: 'password-assignment',
    kind: 'generic_secret',
    keywords: ['pass', 'pwd', 'secret'],
    keywordStarts: true,
    pattern: assignment('password|passwd|passphrase|pass(?![a-z])|pwd|secret(?!ar)'),
    precheck: assignmentAhead,
    group: 1,
    anyGroup: true,
    groupAtEnd: true,
    extend: extendValue,
    trimClosers: 4,
    validate: passwordValue,
  },
  {
    id: 'generic-secret-assignment',
    kind: 'generic_secret',
    // Each alternative of the key name starts with one of these: tried only where one starts.
    keywords: ['token', 'api', 'access', 'private', 'cred', 'auth'],
    keywordStarts: true,
    pattern: assignment('token|api[_-]?key|access[_-]?key|private[_-]?key|credential|auth[_-]?key'),
    precheck: (text, at) => assignmentAhead(text, at) && tokenKeyAhead(text, at),
    group: 1,
    anyGroup: true,
    groupAtEnd: true,
    extend: extendValue,
    trimClosers: 4,
    entropy: 3,
    validate: tokenValue,
  },
  {
    // "loaded db_password Xk3!… from vault", "rotate the smtp password Xk3!…": no separator, so
    // the value must look like a credential (letters and digits, no path, high entropy).
    id: 'generic-secret-spoken',
    kind: 'generic_secret',
    keywords: ['pass', 'pwd', 'secret', 'token'],
    keywordStarts: true,
    pattern:
      /(?:password|passwd|passphrase|pass(?![a-z])|pwd|secret|token)[ \t]{1,3}([^\s"'\\,;`/()[\]{}<>]{10,128})(?=[\s.,;)]|$)/gi,
    precheck: spokenAhead,
    group: 1,
    entropy: 3,
    validate: (s, match) =>
      genericSecretValue(s) &&
      /[A-Za-z]/.test(s) &&
      (/[0-9]/.test(s) || /[^A-Za-z0-9._-]/.test(s)) &&
      // A word that ends in `:` or `=` is a key being named ("pass allowInputRequired: true"),
      // not the secret: a value after it is matched by the assignment rules.
      !/[:=]$/.test(s) &&
      !namesMetadata(match),
  },
];

/**
 * `KEY[suffix] <sep> value`: the value double-quoted (group 1), inside escaped quotes in JSON
 * carried in a JSON string (2), single-quoted (3) or bare (4). Quoted values end at their quote
 * (spaces included); bare ones at whitespace, quotes, `,;&` and backticks. Same line only.
 * Whichever group matched ends the match (`groupAtEnd`).
 */
function assignment(keys: string): RegExp {
  return new RegExp(
    `(?:${keys})[A-Za-z0-9_.-]{0,20}\\\\?["']?[ \\t]{0,3}(?::=|=>|=(?!=)|:(?!:))[ \\t]{0,3}` +
      `(?:"((?:[^"\\\\\\r\\n]|\\\\[^\\r\\n]){1,4096})|\\\\"([^"\\\\\\r\\n]{1,4096})|'([^'\\r\\n]{1,4096})|([^\\s"'\\\\,;\`&[{(][^\\s"'\\\\,;\`&]{0,255}))`,
    'gi',
  );
}

/** The longest key an `assignment` pattern allows: an 11-letter name and 20 more characters. */
const MAX_ASSIGNMENT_KEY = 31;

/**
 * What every `assignment` match at `at` starts with: a run of key characters no longer than a
 * key, an optional backslash and quote, up to three blanks, then `:` or `=`. (The key part
 * cannot stop early: none of the characters that may follow it is a key character.)
 */
function assignmentAhead(text: string, at: number): boolean {
  const n = text.length;
  let i = at;
  while (i < n && isKeyCharacter(text.charCodeAt(i))) {
    i += 1;
    if (i - at > MAX_ASSIGNMENT_KEY) return false;
  }
  if (text.charCodeAt(i) === 0x5c) i += 1;
  if (text.charCodeAt(i) === 0x22 || text.charCodeAt(i) === 0x27) i += 1;
  for (let blanks = 0; blanks < 3 && isBlank(text.charCodeAt(i)); blanks += 1) i += 1;
  const c = text.charCodeAt(i);
  return c === 0x3a || c === 0x3d;
}

/**
 * What every `generic-secret-assignment` match at `at` starts with: one of its key names, in
 * either case (`api`, `access`, `private` and `auth` only as `…key`: `api_version: 2` is not
 * tried). ASCII case folding, as the pattern's `i` flag without `u`.
 */
function tokenKeyAhead(text: string, at: number): boolean {
  if (wordAt(text, at, 'token') || wordAt(text, at, 'credential')) return true;
  for (const stem of KEY_STEMS) {
    if (!wordAt(text, at, stem)) continue;
    let i = at + stem.length;
    const c = text.charCodeAt(i);
    if (c === 0x5f || c === 0x2d) i += 1;
    return wordAt(text, i, 'key');
  }
  return false;
}

const KEY_STEMS = ['api', 'access', 'private', 'auth'] as const;

/** `word` (lower-case letters) at `at`, in either case. */
function wordAt(text: string, at: number, word: string): boolean {
  for (let k = 0; k < word.length; k += 1) {
    const c = text.charCodeAt(at + k);
    if (c > 0x7a || (c | 0x20) !== word.charCodeAt(k)) return false;
  }
  return true;
}

/**
 * What every `generic-secret-spoken` match at `at` starts with: a word of at most ten letters,
 * one to three blanks, then ten characters a spoken value may hold.
 */
function spokenAhead(text: string, at: number): boolean {
  const n = text.length;
  let i = at;
  while (i < n && isLetter(text.charCodeAt(i))) {
    i += 1;
    if (i - at > 10) return false;
  }
  let blanks = 0;
  while (blanks < 3 && isBlank(text.charCodeAt(i))) {
    i += 1;
    blanks += 1;
  }
  if (blanks === 0 || i + 10 > n) return false;
  for (let k = i; k < i + 10; k += 1) if (!spokenValueCharacter(text.charCodeAt(k))) return false;
  return true;
}

/**
 * What every `bare-bearer` match at `at` starts with: `bearer` at a word start, one to three
 * blanks, then 20 token characters (`bearer` in prose is followed by a word, if anything).
 * Non-ASCII characters count as possible blanks (`\s` takes some): a necessary test only.
 */
function bearerTokenAhead(text: string, at: number): boolean {
  if (at > 0 && isWordCharacter(text.charCodeAt(at - 1))) return false;
  let i = at + 6; // `bearer`
  let blanks = 0;
  while (blanks < 3 && maybeSpace(text.charCodeAt(i))) {
    i += 1;
    blanks += 1;
  }
  if (blanks === 0 || i + 20 > text.length) return false;
  for (let k = i; k < i + 20; k += 1) if (!isTokenCharacter(text.charCodeAt(k))) return false;
  return true;
}

/** `[A-Za-z0-9_]` */
function isWordCharacter(c: number): boolean {
  return isLetter(c) || (c >= 0x30 && c <= 0x39) || c === 0x5f;
}

/** `[A-Za-z0-9._~+/-]` */
function isTokenCharacter(c: number): boolean {
  return (
    isLetter(c) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x2e ||
    c === 0x5f ||
    c === 0x7e ||
    c === 0x2b ||
    c === 0x2f ||
    c === 0x2d
  );
}

/** ASCII whitespace, or any non-ASCII character (some are `\s`). */
function maybeSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c >= 0x80;
}

/** `[A-Za-z0-9_.-]` */
function isKeyCharacter(c: number): boolean {
  return isLetter(c) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2e || c === 0x2d;
}

function isLetter(c: number): boolean {
  return (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a;
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Not ASCII whitespace nor one of `"'\\,;\`/()[]{}<>` (every non-ASCII character passes). */
function spokenValueCharacter(c: number): boolean {
  if (c >= 0x80) return true;
  if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) return false;
  return SPOKEN_STOPS[c] === 0;
}
/** `"'\\,;\`/()[]{}<>` as a table (tested ~10 times per `token`/`secret` in a text). */
const SPOKEN_STOPS = new Uint8Array(128);
for (const ch of '"\'\\,;`/()[]{}<>') SPOKEN_STOPS[ch.charCodeAt(0)] = 1;

const BARE_TAIL = /[^\s"'\\,;`&]*/y;
const DOUBLE_TAIL = /(?:[^"\\\r\n]|\\[^\r\n])*/y;
const ESCAPED_TAIL = /[^"\\\r\n]*/y;
const SINGLE_TAIL = /[^'\r\n]*/y;

/** A value longer than the pattern's bound: the rest of it, to its natural end. */
function extendValue(text: string, end: number, group?: number): number {
  // Nearly every value ended before the bound, at a character that ends it: no regex call.
  if (endsValue(text.charCodeAt(end), group)) return end;
  const tail =
    group === 1 ? DOUBLE_TAIL : group === 2 ? ESCAPED_TAIL : group === 3 ? SINGLE_TAIL : BARE_TAIL;
  tail.lastIndex = end;
  const m = tail.exec(text);
  return end + (m ? m[0].length : 0);
}

/**
 * The character after an assignment's value (group 1: double-quoted, 2: inside escaped quotes,
 * 3: single-quoted, else bare) certainly ends it (none at all: past the end of the text). Only
 * a quick answer: a false one leaves the decision to the tail's regex.
 */
function endsValue(c: number, group?: number): boolean {
  if (Number.isNaN(c) || c === 0x0a || c === 0x0d) return true;
  if (group === 1) return c === 0x22;
  if (group === 2) return c === 0x22 || c === 0x5c;
  if (group === 3) return c === 0x27;
  return c < 0x80 && BARE_STOPS[c] === 1;
}
/** ASCII characters a bare value cannot hold (`\s"'\\,;\`&`). */
const BARE_STOPS = new Uint8Array(128);
for (const ch of ' \t\n\r\v\f"\'\\,;`&') BARE_STOPS[ch.charCodeAt(0)] = 1;

/** Words that describe or stand for a value rather than being one (`password: required`). */
const NOT_A_VALUE = new Set([
  'true',
  'false',
  'null',
  'nil',
  'none',
  'undefined',
  'empty',
  'unset',
  'required',
  'optional',
  'string',
  'str',
  'text',
  'number',
  'int',
  'integer',
  'bool',
  'boolean',
  'hidden',
  'masked',
  'secret',
  'secrets',
  'password',
  'passwd',
  'token',
  'env',
  'prompt',
  'input',
  'default',
  'yes',
  'no',
  'on',
  'off',
  'enabled',
  'disabled',
  'object',
  'array',
  'any',
  'unknown',
  'void',
  'self',
  'this',
]);

/** The whole key name: the identifier characters before the keyword plus the match's key part. */
function fullKey(match: string, context?: { text: string; index: number }): string {
  const own = /^[A-Za-z0-9_.-]*/.exec(match)?.[0] ?? '';
  if (!context) return own;
  let start = context.index;
  while (start > 0 && /[A-Za-z0-9_-]/.test(context.text[start - 1] ?? '')) start -= 1;
  return context.text.slice(start, context.index) + own;
}

/** A filesystem path (`PWD=/home/ann/app`, `"pwd": "C:\\work"`), a reference to a secret at most. */
function looksLikePath(v: string): boolean {
  return /^(?:~|\.{1,2})?\/(?:[\w.@+-]+\/?)*$/.test(v) || /^[A-Za-z]:(?:\\\\?|\/)[^\s]*$/.test(v);
}

/** Code that computes a value (`args.password`, `os.getenv(…)`, `config[`), not a value. */
function looksLikeCode(v: string): boolean {
  return (
    /^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+(?:\(\)?)?$/.test(v) ||
    /[([]$|\($|^[A-Za-z_$][\w$.]*\(/.test(v) ||
    /^(?:[a-z]+_)+[a-z]+$/.test(v) ||
    /^[a-z]+(?:[A-Z][a-z]+)+$/.test(v)
  );
}

function notAValue(v: string): boolean {
  return looksLikePlaceholder(v) || NOT_A_VALUE.has(v.toLowerCase()) || looksLikePath(v);
}

/**
 * A password-like key's value. Quoted, or `NAME=value` with an upper-case name, it is a secret
 * however plain (`"password": "hunter2"`, `DB_PASSWORD=summer`); bare after `:` it must not
 * be a plain word (`password: required`). Never a placeholder, a type, a path or code.
 */
function passwordValue(
  s: string,
  match: string,
  context?: { text: string; index: number; groupIndex?: number },
): boolean {
  const v = s.trim();
  if (v.length < 4 || notAValue(v) || namesMetadata(match)) return false;
  const key = fullKey(match, context);
  if (/^secrets?$/i.test(key) && /^[a-z0-9-]+$/.test(v) && !/[0-9]/.test(v)) return false; // a secret's name
  const quoted = context?.groupIndex !== undefined && context.groupIndex <= 3;
  if (quoted) {
    // A sentence is a description (`"password": "must not be empty"`), unless it is a passphrase.
    if (/\s/.test(v) && /^[A-Za-z][a-z]*(?:[ \t]+[a-z]+)+[.!]?$/.test(v) && !/phrase/i.test(key))
      return false;
    return !looksLikeCode(v) || /[0-9]/.test(v);
  }
  if (looksLikeCode(v)) return false;
  const envStyle =
    /=(?!>)/.test(match.slice(0, match.length - s.length)) && /^[A-Z0-9_]+$/.test(key);
  if (envStyle) return true;
  // Any other bare value: not a plain word, and some sign of a credential.
  if (/^[A-Za-z]+$/.test(v)) return false;
  return /[0-9]/.test(v) || /[^A-Za-z0-9]/.test(v) || shannonEntropy(v) >= 3;
}

/**
 * A token-like key's value: a credential-looking string (length ≥ 8, entropy ≥ 3 checked by the
 * rule), not a count (`max_tokens: 4096`), not a tokenizer (`"tokenizer_class": …`), a path or code.
 */
function tokenValue(
  s: string,
  match: string,
  context?: { text: string; index: number; groupIndex?: number },
): boolean {
  if (s.length < 8 || /\s/.test(s) || /^[0-9.]+$/.test(s)) return false;
  // genericSecretValue and notAValue, with the placeholder test (the costliest) run once.
  if (looksLikePlaceholder(s) || /^[a-z]+$/.test(s) || /^[A-Z][A-Z0-9_]+$/.test(s)) return false;
  if (NOT_A_VALUE.has(s.toLowerCase()) || looksLikePath(s)) return false;
  if (looksLikeCode(s) || namesMetadata(match)) return false;
  const key = fullKey(match, context);
  // `tokenizer`, `tokenize`, `tokens`, `tokenization`: language-model vocabulary, not credentials.
  return !/token(?:i[sz]|s(?![a-z]))/i.test(key);
}

/** A generic assignment's value that is not a placeholder, a word or an environment variable name. */
function genericSecretValue(s: string): boolean {
  return !looksLikePlaceholder(s) && !/^[a-z]+$/.test(s) && !/^[A-Z][A-Z0-9_]+$/.test(s);
}

/** Key names that hold facts about a secret, not the secret (`secret_name`, `token_count`). */
function namesMetadata(match: string): boolean {
  const key = /^[A-Za-z0-9_.-]*/.exec(match)?.[0] ?? '';
  return /(?:name|id|ids|arn|path|type|count|length|len|ref|version|file|url|uri|field|prefix|min|max|ttl|expiry|expires|expiration|hint|label|format|mode|policy|rotation|manager|store|provider|env|var|header|usage|limit|size)$/i.test(
    key,
  );
}

const TOKEN_CHARS = /[A-Za-z0-9._~+/=-]*/y;

/** The end of the run of `chars` (a sticky class) that starts at `end`. */
function runEnd(text: string, end: number, chars: RegExp): number {
  chars.lastIndex = end;
  const m = chars.exec(text);
  return end + (m ? m[0].length : 0);
}

/**
 * Base64 that decodes to text (`user:password` when `userPass`): the `auth` of a Docker config
 * and the `_auth`/`_password` of an .npmrc are credentials in that form.
 */
function decodesToText(b64: string, userPass: boolean): boolean {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(b64, 'base64'));
  } catch {
    return false;
  }
  if (text.length === 0 || hasControlCharacters(text)) return false;
  return userPass ? /^[^:\s]{1,256}:\S/.test(text) && !looksLikePlaceholder(text) : true;
}

/**
 * The private half of a PuTTY key file: the `Private-Lines: N` header and its N base64 lines
 * (the public lines and the comment stay visible). Works on real lines and on `\n` escapes.
 */
function findPuttyPrivateLines(text: string): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  const header = /Private-Lines:[ \t]{0,3}([0-9]{1,4})(\r?\n|\\r\\n|\\n)/gi;
  for (let m = header.exec(text); m !== null; m = header.exec(text)) {
    const lines = Number(m[1]);
    const newline = m[2] ?? '\n';
    const start = header.lastIndex;
    let end = start;
    for (let i = 0; i < lines; i += 1) {
      const line = /[A-Za-z0-9+/=]{1,256}/y;
      line.lastIndex = end;
      const l = line.exec(text);
      if (!l) break;
      end += l[0].length;
      if (i < lines - 1) {
        if (text.startsWith(newline, end)) end += newline.length;
        else if (newline === '\n' && text.startsWith('\r\n', end)) end += 2;
        else break;
      }
    }
    if (end - start >= 16) out.push({ start, end });
    header.lastIndex = Math.max(header.lastIndex, end);
  }
  return out;
}

const COOKIE_ATTRIBUTES =
  /^(?:path|domain|expires|max-age|samesite|secure|httponly|priority|partitioned|version|comment)$/i;

/**
 * Session values in `Cookie:` (every `name=value` pair) and `Set-Cookie:` headers (the first
 * pair; the attributes after it are not secret), also as JSON keys. Values under 12 characters
 * (`theme=dark`) stay; the rule's entropy gate applies to the rest.
 */
function findCookieValues(text: string): { start: number; end: number }[] {
  const out: { start: number; end: number }[] = [];
  const header = /(set-)?cookie\\?["']?[ \t]{0,3}[:=][ \t]{0,3}\[?[ \t]{0,3}\\?["']?/gi;
  const pair = /[ \t]*([!#$%&'*+.^_`|~0-9A-Za-z-]{1,128})=("?)([^;\s"\\,]{0,4096})/y;
  for (let m = header.exec(text); m !== null; m = header.exec(text)) {
    const setCookie = m[1] !== undefined;
    let at = header.lastIndex;
    for (let n = 0; n < 64; n += 1) {
      pair.lastIndex = at;
      const p = pair.exec(text);
      if (!p) break;
      const name = p[1] ?? '';
      const value = p[3] ?? '';
      const start = pair.lastIndex - value.length;
      if (value.length >= 12 && !COOKIE_ATTRIBUTES.test(name) && !looksLikePlaceholder(value))
        out.push({ start, end: pair.lastIndex });
      at = pair.lastIndex + (p[2] ? 1 : 0);
      if (setCookie || text[at] !== ';') break;
      at += 1;
    }
    header.lastIndex = Math.max(header.lastIndex, at);
  }
  return out;
}

/** Control characters other than tab and line breaks: binary, not text. */
export function hasControlCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f) return true;
  }
  return false;
}
