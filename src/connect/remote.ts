import { isDeepStrictEqual } from 'node:util';
import { applyEdits, modify } from 'jsonc-parser';
import { tomlString } from './codex-config.js';
import type { ParsedToml } from './codex-config.js';
import type { JsonClient, ParsedJson } from './json-config.js';

/**
 * `gatehouse connect CLIENT --remote URL`: the client's entry is the team gateway's URL (a
 * `gatehouse serve --http` or `run --http` someone else runs), with its auth settings, instead of
 * a local `gatehouse run NAME`. The token is never written: the entry names the environment
 * variable that holds it (Codex `bearer_token_env_var`, the JSON clients a `${VAR}` header), or,
 * without `--token-env`, the client's own OAuth login is used. Pure: text in, text out.
 */

export type RemoteCheck = { ok: true; url: string } | { ok: false; message: string; hint: string };

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * https only (a bearer token or an OAuth code over plain http can be read on the way), except on
 * loopback, where nothing leaves the machine. No credentials in the URL: they would be written
 * into the client's file in clear.
 */
export function checkRemoteUrl(raw: string): RemoteCheck {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return {
      ok: false,
      message: `--remote ${JSON.stringify(raw)} is not a URL`,
      hint: 'give the gateway endpoint, e.g. https://mcp.example.com/mcp',
    };
  }
  if (u.username !== '' || u.password !== '')
    return {
      ok: false,
      message:
        '--remote must not carry credentials (user:password@): they would be written in clear',
      hint: 'put the token in an environment variable and pass --token-env VAR',
    };
  if (u.protocol === 'https:') return { ok: true, url: u.href };
  if (u.protocol === 'http:' && LOOPBACK.test(u.hostname)) return { ok: true, url: u.href };
  return {
    ok: false,
    message:
      u.protocol === 'http:'
        ? `--remote ${u.origin} is plain http to another machine: a token or login would cross the network readable`
        : `--remote must be an https:// URL, not ${u.protocol}`,
    hint: 'use https:// (plain http is accepted only for localhost, 127.0.0.0/8 and [::1])',
  };
}

export function checkTokenEnv(name: string | undefined): string | null {
  if (name === undefined || ENV_NAME.test(name)) return null;
  return `--token-env takes a variable NAME (letters, digits, _), not ${JSON.stringify(name.length > 40 ? `${name.slice(0, 8)}…` : name)}; never the token itself`;
}

/** The JSON clients' http entry, as each documents it. */
export function jsonRemoteEntry(
  client: JsonClient,
  url: string,
  tokenEnv: string | undefined,
): Record<string, unknown> {
  // Claude Code expands `${VAR}`; Cursor and VS Code `${env:VAR}`.
  const ref = tokenEnv
    ? client.id === 'claude-code'
      ? `\${${tokenEnv}}`
      : `\${env:${tokenEnv}}`
    : null;
  return {
    ...(client.id === 'cursor' ? {} : { type: 'http' }),
    url,
    ...(ref ? { headers: { Authorization: `Bearer ${ref}` } } : {}),
  };
}

/** Codex's streamable HTTP entry (transport inferred from `url`). */
export function codexRemoteEntry(
  url: string,
  tokenEnv: string | undefined,
): Record<string, unknown> {
  return { url, ...(tokenEnv ? { bearer_token_env_var: tokenEnv } : {}) };
}

export type RemotePlan =
  | { ok: true; text: string; action: 'connect' | 'already_connected' }
  | { ok: false; message: string; hint: string };

function obj(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : {};
}

function existingPlan(
  existing: unknown,
  wanted: Record<string, unknown>,
  name: string,
  file: string,
  text: string,
): RemotePlan | null {
  if (existing === undefined) return null;
  if (isDeepStrictEqual(existing, wanted)) return { ok: true, text, action: 'already_connected' };
  return {
    ok: false,
    message: `${file} already has a server named '${name}' (a different entry)`,
    hint: `name the team gateway's entry differently (connect … --remote URL OTHER_NAME), or remove that entry first`,
  };
}

/** Adds `[mcp_servers.NAME]` with the URL at the end of a Codex config; every other byte stays. */
export function planCodexRemote(
  codex: ParsedToml,
  file: string,
  name: string,
  url: string,
  tokenEnv: string | undefined,
): RemotePlan {
  const wanted = codexRemoteEntry(url, tokenEnv);
  const existing = existingPlan(obj(codex.value.mcp_servers)[name], wanted, name, file, codex.text);
  if (existing) return existing;
  const eol = codex.text.includes('\r\n') ? '\r\n' : '\n';
  const key = /^[A-Za-z0-9_-]+$/.test(name) ? name : tomlString(name);
  const lines = [`[mcp_servers.${key}]`, `url = ${tomlString(url)}`];
  if (tokenEnv) lines.push(`bearer_token_env_var = ${tomlString(tokenEnv)}`);
  const sep = codex.text === '' ? '' : codex.text.endsWith('\n') ? eol : eol + eol;
  return { ok: true, text: codex.text + sep + lines.join(eol) + eol, action: 'connect' };
}

/** Sets `SERVERS_KEY.NAME` to the client's http entry with jsonc-parser (comments survive). */
export function planJsonRemote(
  client: JsonClient,
  json: ParsedJson,
  file: string,
  name: string,
  url: string,
  tokenEnv: string | undefined,
): RemotePlan {
  const wanted = jsonRemoteEntry(client, url, tokenEnv);
  const servers = obj(obj(json.value)[client.serversKey]);
  const existing = existingPlan(servers[name], wanted, name, file, json.text);
  if (existing) return existing;
  const base = json.text.trim() === '' ? '{}\n' : json.text;
  const indent = /\n(\t| +)"/.exec(base)?.[1] ?? '  ';
  const formattingOptions = {
    insertSpaces: !indent.startsWith('\t'),
    tabSize: indent.startsWith('\t') ? 1 : indent.length,
    eol: base.includes('\r\n') ? '\r\n' : '\n',
  };
  const text = applyEdits(
    base,
    modify(base, [client.serversKey, name], wanted, { formattingOptions }),
  );
  return { ok: true, text, action: 'connect' };
}

/**
 * The edit must mean exactly "the same config plus this one entry": a Codex file whose servers
 * are written as an inline table or dotted keys cannot take an appended table, and this is how
 * that is caught before anything is written.
 */
export function verifyRemoteEdit(
  before: unknown,
  after: unknown,
  serversKey: string,
  name: string,
  wanted: Record<string, unknown>,
): boolean {
  const b = obj(before);
  const a = obj(after);
  const expected = { ...b, [serversKey]: { ...obj(b[serversKey]), [name]: wanted } };
  return isDeepStrictEqual(a, expected);
}
