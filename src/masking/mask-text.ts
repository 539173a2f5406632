/**
 * Masking for what Gatehouse itself prints about configuration (`mcp list/get`, diagnostics,
 * state lines): env and header values, URL credentials, secret-looking arguments and source
 * snippets, as `*****`. Server traffic is masked by engine.ts with `[REDACTED:kind]`.
 */
import { detectFindings } from './detect.js';
import { SECRET_RULES } from './rules.js';

export const MASK = '*****';

const SECRET_NAME =
  /(secret|token|passw(or)?d|passwd|pwd|api[-_]?key|apikey|auth|credential|private[-_]?key|access[-_]?key|session|cookie|signature|sig)$/i;
const SECRET_NAME_ANYWHERE =
  /(secret|token|passw(or)?d|passwd|api[-_]?key|apikey|credential|private[-_]?key|access[-_]?key|authorization|cookie)/i;

/** Well-known token shapes that are secrets wherever they appear. Each is bounded: linear time. */
const TOKEN_SHAPES: readonly RegExp[] = [
  /\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,255}\b/g,
  /\bgithub_pat_[A-Za-z0-9_]{20,255}\b/g,
  /\bglpat-[A-Za-z0-9_-]{20,64}\b/g,
  /\bxox[abposr]-[A-Za-z0-9-]{10,255}\b/g,
  /\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{10,255}\b/g,
  /\bsk-(?:proj-|ant-(?:api|admin)\d{2}-)?[A-Za-z0-9_-]{20,255}\b/g,
  /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/g,
  /\bAIza[0-9A-Za-z_-]{35}\b/g,
  /\bnpm_[A-Za-z0-9]{36}\b/g,
  /\bpypi-[A-Za-z0-9_-]{50,255}\b/g,
  /\beyJ[A-Za-z0-9_-]{5,4096}\.eyJ[A-Za-z0-9_-]{5,4096}\.[A-Za-z0-9_-]{0,4096}/g,
  /-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----/g,
];

/** Short secret words that only count as a whole name part: `--pass`, `db_pw`, `?pw=` (not `bypass`). */
const SECRET_WORD = /(^|[-_.])(pass|pw|passphrase|passcode)$/i;

/** True when a key or flag name says its value is a secret (`API_KEY`, `--token`, `client_secret`). */
export function isSecretName(name: string): boolean {
  const bare = name.replace(/^-+/, '');
  return SECRET_NAME.test(bare) || SECRET_NAME_ANYWHERE.test(bare) || SECRET_WORD.test(bare);
}

/**
 * Replaces secrets in free text: the well-known token shapes, then every secret detector of the
 * masking engine (what `mcp list/get`, error messages and state lines print goes through here).
 */
export function maskTokens(text: string): string {
  let out = text;
  for (const shape of TOKEN_SHAPES) out = out.replace(shape, MASK);
  const found = detectFindings(out, { rules: SECRET_RULES });
  if (found.length === 0) return out;
  let masked = '';
  let at = 0;
  for (const f of found) {
    masked += `${out.slice(at, f.start)}${MASK}`;
    at = f.end;
  }
  return masked + out.slice(at);
}

/** Query and fragment parameters whose value is a secret even though the name is short. */
const SECRET_PARAMS = new Set(['key', 'code', 'p', 'sig', 'pw', 'pass', 'pwd', 'auth']);

/** A path segment that looks like a credential: long, and mixing upper case, lower case and digits. */
function secretSegment(segment: string): boolean {
  if (/^bot\d+:[A-Za-z0-9_-]{20,}$/.test(segment)) return true; // Telegram bot token
  return (
    segment.length >= 20 &&
    /^[A-Za-z0-9_-]+$/.test(segment) &&
    /[a-z]/.test(segment) &&
    /[A-Z]/.test(segment) &&
    /[0-9]/.test(segment)
  );
}

/** Webhook URLs whose path after a fixed prefix IS the credential (the whole rest is masked). */
const WEBHOOK_PREFIXES: readonly { host: RegExp; path: RegExp }[] = [
  { host: /^hooks\.slack\.com$/i, path: /^\/(services|workflows|triggers)\// },
  { host: /^(discord|discordapp)\.com$/i, path: /^\/api\/webhooks\/[^/]+\// },
  { host: /^hooks\.zapier\.com$/i, path: /^\/hooks\/catch\/[^/]+\// },
  { host: /\.webhook\.office\.com$|^outlook\.office\.com$/i, path: /^\/webhook(b2)?\// },
  { host: /^chat\.googleapis\.com$/i, path: /^\/v1\/spaces\/[^/]+\/messages/ },
];

function maskParams(params: URLSearchParams): boolean {
  let changed = false;
  for (const name of [...new Set(params.keys())]) {
    if (isSecretName(name) || SECRET_PARAMS.has(name.toLowerCase())) {
      params.set(name, MASK);
      changed = true;
    }
  }
  return changed;
}

/**
 * THE URL masker for what Gatehouse prints or records about configuration: the password of
 * `user:pass@`, a token used alone as userinfo (`https://TOKEN@host`), secret-named query and
 * fragment parameters (`?pw=`, `#access_token=`), webhook paths that are themselves the secret
 * (Slack, Discord, Zapier, Teams, Google Chat) and credential-looking path segments.
 */
export function maskUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return maskTokens(raw);
  }
  let changed = false;
  if (url.password) {
    url.password = MASK;
    changed = true;
  } else if (
    url.username &&
    (/^(https?|wss?):$/i.test(url.protocol) ||
      url.username.length >= 16 ||
      secretSegment(url.username))
  ) {
    url.username = MASK;
    changed = true;
  }
  if (maskParams(url.searchParams)) changed = true;
  if (url.hash.includes('=')) {
    const fragment = new URLSearchParams(url.hash.slice(1));
    if (maskParams(fragment)) {
      url.hash = fragment.toString();
      changed = true;
    }
  }
  const hook = WEBHOOK_PREFIXES.find((w) => w.host.test(url.hostname) && w.path.test(url.pathname));
  if (hook) {
    const prefix = hook.path.exec(url.pathname)?.[0] ?? '';
    url.pathname = `${prefix}${MASK}`;
    changed = true;
  } else {
    const segments = url.pathname.split('/');
    if (segments.some(secretSegment)) {
      url.pathname = segments.map((seg) => (secretSegment(seg) ? MASK : seg)).join('/');
      changed = true;
    }
  }
  if (!changed) return maskTokens(raw);
  return maskTokens(url.toString().replace(/%2A%2A%2A%2A%2A/gi, MASK));
}

/** Every URL inside free text goes through maskUrl; the rest through maskTokens. */
export function maskText(text: string): string {
  const urls = /\b[a-z][a-z0-9+.-]{0,31}:\/\/[^\s"'`<>]{1,4096}/gi;
  return maskTokens(
    text.replace(urls, (u) => {
      const trail = /[.,;:)\]]+$/.exec(u)?.[0] ?? '';
      return maskUrl(u.slice(0, u.length - trail.length)) + trail;
    }),
  );
}

/** A port, a port mapping or a number: what `-p` means in most CLIs when it is not a password. */
const PORT_LIKE = /^(\d{1,5}(\.\d+)*)(:\d{1,5})*(\/(tcp|udp))?$|^[\d.]+:\d{1,5}(:\d{1,5})?$/;

/** `user:password` → `user:*****` (curl `-u`, `--user`, `--proxy-user`). */
function maskUserPassword(value: string): string {
  const colon = value.indexOf(':');
  return colon === -1 ? maskText(value) : `${value.slice(0, colon)}:${MASK}`;
}

/** `Name: value` headers: a secret-named header (Authorization, Cookie, X-Api-Key …) keeps its name. */
const HEADER = /^(\s*)([A-Za-z0-9_-]{1,128})(\s*:\s*)([\s\S]*)$/;
function maskHeaderValue(value: string): string {
  const m = HEADER.exec(value);
  if (
    m &&
    (isSecretName(m[2] as string) || /^(proxy-)?authorization$|^cookie$/i.test(m[2] as string))
  )
    return `${m[1]}${m[2]}${m[3]}${MASK}`;
  return maskText(value);
}

/** `a=1&password=x` or JSON request bodies (curl `-d`): secret-named fields masked. */
function maskBody(value: string): string {
  const trimmed = value.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return JSON.stringify(maskJsonValue(JSON.parse(trimmed)));
    } catch {
      // not JSON
    }
  }
  if (/^[^=&\s]+=[^&]*(&[^=&\s]+=[^&]*)*$/.test(trimmed)) {
    return trimmed
      .split('&')
      .map((pair) => {
        const eq = pair.indexOf('=');
        const name = pair.slice(0, eq);
        return isSecretName(name) || SECRET_PARAMS.has(name.toLowerCase())
          ? `${name}=${MASK}`
          : `${name}=${maskText(pair.slice(eq + 1))}`;
      })
      .join('&');
  }
  return maskText(value);
}

/**
 * What `-p` means when it is not a password: `npx -p @scope/pkg@1.2` (an npm package spec: npm
 * names are lower case, and a spec has a `-`, `.`, `/` or `@`) or a path (`mkdir -p /srv/x`).
 */
const PACKAGE_SPEC = /^(@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*(@[A-Za-z0-9.^~<>=*|_-]+)?$/;
const PATH_LIKE = /^(\/|\.{1,2}\/|~\/)/;

/** `-p PASS` / `-pPASS` (mysql, sshpass …) unless it is a port, a package spec or a path. */
function maskShortPassword(value: string): string {
  if (PORT_LIKE.test(value) || PATH_LIKE.test(value)) return value;
  if (PACKAGE_SPEC.test(value) && /[-./@]/.test(value)) return value;
  return MASK;
}

/**
 * Options whose value has a known syntax, across common CLIs. Separate (`-u X`), attached
 * (`-uX`, short options only) and `--long=X` forms are all recognised.
 */
const OPTION_VALUES: Record<string, (value: string) => string> = {
  '-p': maskShortPassword,
  '-u': maskUserPassword,
  '-U': maskUserPassword,
  '--user': maskUserPassword,
  '--proxy-user': maskUserPassword,
  '-H': maskHeaderValue,
  '--header': maskHeaderValue,
  '--proxy-header': maskHeaderValue,
  '-d': maskBody,
  '--data': maskBody,
  '--data-raw': maskBody,
  '--data-binary': maskBody,
  '--data-urlencode': maskBody,
  '--json': maskBody,
  '-F': maskBody,
  '--form': maskBody,
};

/**
 * THE argv masker for what Gatehouse prints or records about a command line (`mcp list/get`,
 * inventory, the audit's server identity, release evidence). It knows option syntaxes: a
 * secret-named option's value (`--token X`, `--api-key=X`, `--pass X`), short password options
 * (`-p PASS`, `-pPASS`), `-u user:PASS`, secret headers (`-H "Authorization: …"`), request bodies
 * (`-d password=…`), `NAME=value` with secret names, URLs (see maskUrl), known token shapes.
 * The number of arguments is kept, so the line still reads as the command it was.
 */
export function maskArgs(args: readonly string[]): string[] {
  const out: string[] = [];
  let pending: ((value: string) => string) | null = null;
  for (const arg of args) {
    if (pending) {
      out.push(pending(arg));
      pending = null;
      continue;
    }
    if (arg === '--' || !arg.startsWith('-') || arg === '-') {
      out.push(maskPlainArg(arg));
      continue;
    }
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      const name = arg.slice(0, eq);
      const value = arg.slice(eq + 1);
      const known = OPTION_VALUES[name];
      out.push(`${name}=${isSecretName(name) ? MASK : known ? known(value) : maskValue(value)}`);
      continue;
    }
    const known = OPTION_VALUES[arg];
    if (known) {
      out.push(arg);
      pending = known;
      continue;
    }
    if (!arg.startsWith('--') && arg.length > 2) {
      const attached = OPTION_VALUES[arg.slice(0, 2)];
      if (attached) {
        out.push(`${arg.slice(0, 2)}${attached(arg.slice(2))}`);
        continue;
      }
    }
    if (eq > 0) {
      const name = arg.slice(0, eq);
      out.push(`${name}=${isSecretName(name) ? MASK : maskValue(arg.slice(eq + 1))}`);
      continue;
    }
    if (!arg.startsWith('---') && isSecretName(arg)) {
      out.push(arg);
      pending = () => MASK;
      continue;
    }
    out.push(maskValue(arg));
  }
  return out;
}

/** A positional argument: `NAME=value` (env-style), a header line, a URL, or free text. */
function maskPlainArg(arg: string): string {
  const eq = arg.indexOf('=');
  if (eq > 0 && /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(arg.slice(0, eq))) {
    const name = arg.slice(0, eq);
    return `${name}=${isSecretName(name) ? MASK : maskValue(arg.slice(eq + 1))}`;
  }
  if (HEADER.test(arg) && !/^[a-z][a-z0-9+.-]*:\/\//i.test(arg)) return maskHeaderValue(arg);
  return maskValue(arg);
}

function maskValue(value: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? maskUrl(value) : maskText(value);
}

/**
 * Masks a configuration source line before it is shown in an error snippet: string values of
 * secret-bearing keys (and every value inside `env`/`http_headers` tables) become `*****`.
 */
export function maskSourceLine(line: string, insideSecretTable: boolean): string {
  // The first assignment whose key holds secrets: every value after it on the line is masked —
  // strings, numbers, booleans, and the items of arrays and inline tables alike.
  const assignment = /([A-Za-z0-9_."'-]+)\s*=\s*/g;
  for (let m = assignment.exec(line); m; m = assignment.exec(line)) {
    const bare = (m[1] as string).replace(/["']/g, '');
    const secret =
      insideSecretTable ||
      isSecretName(bare) ||
      /(^|\.)(env|http_headers|headers|env_http_headers)(\.|$)/.test(bare);
    if (!secret) {
      // Skip over a quoted value so an `=` inside it is not read as an assignment.
      const rest = line.slice(assignment.lastIndex);
      const quoted = /^("(?:[^"\\\n]|\\.){0,4096}"|'[^'\n]{0,4096}')/.exec(rest);
      if (quoted) assignment.lastIndex += quoted[0].length;
      continue;
    }
    const at = assignment.lastIndex;
    return maskTokens(line.slice(0, at) + maskScalars(line.slice(at)));
  }
  return maskText(line);
}

/** Every string, number and boolean literal in a TOML value text becomes `*****`. */
function maskScalars(text: string): string {
  return text.replace(
    /"(?:[^"\\\n]|\\.){0,4096}"|'[^'\n]{0,4096}'|(?<![A-Za-z0-9_])(?:[-+]?[0-9][0-9A-Za-z_.:+-]{0,256}|true|false)(?![A-Za-z0-9_])/g,
    (v) => (v[0] === '"' || v[0] === "'" ? `${v[0]}${MASK}${v[0]}` : MASK),
  );
}

const SAFE_JSON_KEYS = new Set(['command', 'type', 'cwd', 'name', 'source']);

/**
 * Masks a JSON source line for an error snippet: every `"key": "value"` string value except a
 * few that are never secret (`command`, `type`, `cwd`); URLs keep their shape, credentials go.
 */
export function maskJsonLine(line: string): string {
  const pair = /"((?:[^"\\\n]|\\.){0,256})"(\s*:\s*)"((?:[^"\\\n]|\\.){0,4096})"/g;
  const masked = line.replace(pair, (_whole, key: string, sep: string, value: string) => {
    if (SAFE_JSON_KEYS.has(key)) return `"${key}"${sep}"${maskTokens(value)}"`;
    if (key === 'url') return `"${key}"${sep}"${maskUrl(value)}"`;
    return `"${key}"${sep}"${MASK}"`;
  });
  return maskTokens(masked);
}

/**
 * Masks a JSON value for the audit trail: values under secret-named keys entirely, known token
 * shapes and URL credentials inside every string. Structure, numbers and booleans are kept.
 */
export function maskJsonValue(value: unknown, depth = 0): unknown {
  if (depth > 64) return MASK;
  if (typeof value === 'string')
    return /:\/\/[^/\s]*@/.test(value) ? maskUrl(value) : maskTokens(value);
  if (Array.isArray(value)) return value.map((v) => maskJsonValue(v, depth + 1));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [
        k,
        isSecretName(k) && v !== null && typeof v !== 'boolean'
          ? MASK
          : maskJsonValue(v, depth + 1),
      ]),
    );
  }
  return value;
}
