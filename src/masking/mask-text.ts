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

/** True when a key or flag name says its value is a secret (`API_KEY`, `--token`, `client_secret`). */
export function isSecretName(name: string): boolean {
  const bare = name.replace(/^-+/, '');
  return SECRET_NAME.test(bare) || SECRET_NAME_ANYWHERE.test(bare);
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

/** Masks the password of `user:pass@host` and the values of secret-named query parameters. */
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
  }
  for (const [name] of url.searchParams) {
    if (isSecretName(name) || name.toLowerCase() === 'key' || name.toLowerCase() === 'code') {
      url.searchParams.set(name, MASK);
      changed = true;
    }
  }
  if (!changed) return maskTokens(raw);
  return maskTokens(url.toString().replace(/%2A%2A%2A%2A%2A/g, MASK));
}

/**
 * Masks secrets in a command line: the value after a secret-named flag (`--token X`,
 * `--api-key=X`), `NAME=value` pairs with secret names, URLs with credentials, known token shapes.
 */
export function maskArgs(args: readonly string[]): string[] {
  const out: string[] = [];
  let maskNext = false;
  for (const arg of args) {
    if (maskNext) {
      out.push(MASK);
      maskNext = false;
      continue;
    }
    const eq = arg.indexOf('=');
    if (arg.startsWith('-') && eq > 0) {
      const name = arg.slice(0, eq);
      out.push(isSecretName(name) ? `${name}=${MASK}` : `${name}=${maskValue(arg.slice(eq + 1))}`);
      continue;
    }
    if (arg.startsWith('-') && !arg.startsWith('---') && isSecretName(arg)) {
      out.push(arg);
      maskNext = true;
      continue;
    }
    if (!arg.startsWith('-') && eq > 0 && /^[A-Za-z_][A-Za-z0-9_]*$/.test(arg.slice(0, eq))) {
      const name = arg.slice(0, eq);
      out.push(isSecretName(name) ? `${name}=${MASK}` : `${name}=${maskValue(arg.slice(eq + 1))}`);
      continue;
    }
    out.push(maskValue(arg));
  }
  return out;
}

function maskValue(value: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? maskUrl(value) : maskTokens(value);
}

/**
 * Masks a configuration source line before it is shown in an error snippet: string values of
 * secret-bearing keys (and every value inside `env`/`http_headers` tables) become `*****`.
 */
export function maskSourceLine(line: string, insideSecretTable: boolean): string {
  const assignment = /([A-Za-z0-9_."'-]+)\s*=\s*("(?:[^"\\\n]|\\.){0,4096}"|'[^'\n]{0,4096}')/g;
  const masked = line.replace(assignment, (whole, key: string, value: string) => {
    const bare = key.replace(/["']/g, '');
    const secret =
      insideSecretTable ||
      isSecretName(bare) ||
      /(^|\.)(env|http_headers|headers)(\.|$)/.test(bare);
    if (!secret) return whole;
    const quote = value[0] ?? '"';
    return whole.slice(0, whole.length - value.length) + quote + MASK + quote;
  });
  const inlineSecretTable = /\b(env|http_headers|headers)\s*=\s*\{/.test(line);
  const result = inlineSecretTable
    ? masked.replace(
        /=\s*("(?:[^"\\\n]|\\.){0,4096}"|'[^'\n]{0,4096}')/g,
        (w, v: string) => w.slice(0, w.length - v.length) + v[0] + MASK + v[0],
      )
    : masked;
  return maskTokens(result);
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
