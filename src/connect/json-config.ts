import { isDeepStrictEqual } from 'node:util';
import { applyEdits, modify, parse, parseTree, printParseErrorCode } from 'jsonc-parser';
import type { ParseError } from 'jsonc-parser';
import { isGatehouseRunEntry, unrunnableName } from '../config/gatehouse-wrapper.js';
import { maskJsonLine } from '../masking/mask-text.js';
import { tomlString } from './codex-config.js';
import type { ParsedToml, PlanResult, ServerOutcome, TomlSyntaxError } from './codex-config.js';

/**
 * `gatehouse connect` for the JSON clients (Claude Code, Cursor, VS Code): the entry is replaced
 * with jsonc-parser's `modify`, which edits only that property's text, so comments, key order
 * and indentation elsewhere in the file survive. Pure.
 */
export interface JsonClient {
  id: 'claude-code' | 'cursor' | 'vscode';
  /** The object holding the servers: `mcpServers`, or VS Code's `servers`. */
  serversKey: string;
  /** The `type` written into a new entry, when the client's documented format has one. */
  stdioType: string | null;
  /** Relative to the home directory (user scope) — null when the client has no user file. */
  userFile: string | null;
  projectFile: string;
}

export const JSON_CLIENTS: Record<JsonClient['id'], JsonClient> = {
  'claude-code': {
    id: 'claude-code',
    serversKey: 'mcpServers',
    stdioType: 'stdio',
    userFile: '.claude.json',
    projectFile: '.mcp.json',
  },
  cursor: {
    id: 'cursor',
    serversKey: 'mcpServers',
    stdioType: null,
    userFile: '.cursor/mcp.json',
    projectFile: '.cursor/mcp.json',
  },
  vscode: {
    id: 'vscode',
    serversKey: 'servers',
    stdioType: 'stdio',
    userFile: null,
    projectFile: '.vscode/mcp.json',
  },
};

const ENTRY_KEYS = new Set(['type', 'command', 'args', 'env', 'cwd', 'url', 'headers']);
/** `${VAR}` (Claude Code, Cursor) or `${env:VAR}` (VS Code, Cursor): the whole value. */
const WHOLE_ENV_REF = /^\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)\}$/;
const BEARER_ENV_REF = /^Bearer \$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)\}$/;

export interface ParsedJson {
  text: string;
  value: unknown;
}

export function parseJsonText(
  text: string,
  file: string,
): { ok: true; doc: ParsedJson } | { ok: false; error: TomlSyntaxError } {
  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { allowTrailingComma: true, disallowComments: false });
  const first = errors[0];
  if (text.trim() === '') return { ok: true, doc: { text, value: {} } };
  if (first || !tree) {
    const before = text.slice(0, first?.offset ?? 0);
    const line = before.split('\n').length;
    const column = (first?.offset ?? 0) - (before.lastIndexOf('\n') + 1) + 1;
    return {
      ok: false,
      error: {
        file,
        line,
        column,
        message: first ? printParseErrorCode(first.error) : 'empty document',
      },
    };
  }
  return {
    ok: true,
    doc: { text, value: parse(text, [], { allowTrailingComma: true }) as unknown },
  };
}

/** A bare TOML key when it may be one, else a quoted one. */
function tomlKey(k: string): string {
  return /^[A-Za-z0-9_-]+$/.test(k) ? k : tomlString(k);
}

function asObject(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : {};
}

/** Is this JSON entry already the Gatehouse wrapper for `name`? */
export const isJsonWrapper = isGatehouseRunEntry;

/** The TOML table Gatehouse's config gets for a JSON entry, or why it cannot be moved. */
export function entryToToml(name: string, entry: unknown): string | { problem: string } {
  const e = asObject(entry);
  const unknown = Object.keys(e).filter((k) => !ENTRY_KEYS.has(k));
  if (unknown.length)
    return {
      problem: `has ${unknown.map((k) => `"${k}"`).join(', ')}, which Gatehouse cannot carry over`,
    };
  const strings = (v: unknown) =>
    typeof v === 'object' && v !== null && Object.values(v).every((x) => typeof x === 'string')
      ? (v as Record<string, string>)
      : null;
  const all = JSON.stringify(e);
  if (/\$\{input:/.test(all))
    return { problem: 'uses ${input:…} prompts, which only the client can answer' };
  const header = `[mcp_servers.${tomlKey(name)}]`;
  const lines = [header];
  const type = typeof e.type === 'string' ? e.type : e.url !== undefined ? 'http' : 'stdio';
  if (type === 'stdio') {
    if (typeof e.command !== 'string') return { problem: 'is a stdio server without "command"' };
    if (e.url !== undefined || e.headers !== undefined)
      return { problem: 'mixes stdio "command" with "url"/"headers"' };
    lines.push(`command = ${tomlString(e.command)}`);
    if (e.args !== undefined) {
      if (!Array.isArray(e.args) || e.args.some((a) => typeof a !== 'string'))
        return { problem: 'has "args" that are not all strings' };
      lines.push(`args = [${(e.args as string[]).map(tomlString).join(', ')}]`);
    }
    if (e.cwd !== undefined) {
      if (typeof e.cwd !== 'string') return { problem: 'has a "cwd" that is not a string' };
      lines.push(`cwd = ${tomlString(e.cwd)}`);
    }
    const env = e.env === undefined ? {} : strings(e.env);
    if (!env) return { problem: 'has an "env" that is not an object of strings' };
    const literal: string[] = [];
    const forwarded: string[] = [];
    for (const [k, v] of Object.entries(env)) {
      const ref = WHOLE_ENV_REF.exec(v);
      if (ref && ref[1] === k) forwarded.push(k);
      else if (/\$\{/.test(v))
        return { problem: `has env ${k} = "${'${…}'}" referring to another variable` };
      else literal.push(`${tomlKey(k)} = ${tomlString(v)}`);
    }
    if (forwarded.length) lines.push(`env_vars = [${forwarded.map(tomlString).join(', ')}]`);
    if (literal.length) lines.push('', `[mcp_servers.${header.slice(13, -1)}.env]`, ...literal);
    return lines.join('\n');
  }
  if (type === 'http' || type === 'streamable-http' || type === 'sse') {
    if (typeof e.url !== 'string') return { problem: `is a ${type} server without "url"` };
    if (e.command !== undefined || e.args !== undefined || e.env !== undefined)
      return { problem: 'mixes "url" with stdio keys' };
    lines.push(`url = ${tomlString(e.url)}`);
    const headers = e.headers === undefined ? {} : strings(e.headers);
    if (!headers) return { problem: 'has "headers" that are not an object of strings' };
    const literal: string[] = [];
    const fromEnv: string[] = [];
    for (const [h, v] of Object.entries(headers)) {
      const bearer = BEARER_ENV_REF.exec(v);
      const whole = WHOLE_ENV_REF.exec(v);
      if (bearer && h.toLowerCase() === 'authorization')
        lines.push(`bearer_token_env_var = ${tomlString(bearer[1] ?? '')}`);
      else if (whole) fromEnv.push(`${tomlKey(h)} = ${tomlString(whole[1] ?? '')}`);
      else if (/\$\{/.test(v)) return { problem: `has header ${h} with an embedded variable` };
      else literal.push(`${tomlKey(h)} = ${tomlString(v)}`);
    }
    const base = header.slice(13, -1);
    if (literal.length) lines.push('', `[mcp_servers.${base}.http_headers]`, ...literal);
    if (fromEnv.length) lines.push('', `[mcp_servers.${base}.env_http_headers]`, ...fromEnv);
    return lines.join('\n');
  }
  return { problem: `has an unknown "type": ${JSON.stringify(e.type)}` };
}

/** Plans `gatehouse connect CLIENT` for a JSON client; same shape as the Codex plan. */
export function planJsonConnect(input: {
  client: JsonClient;
  json: ParsedJson;
  file: string;
  gatehouse: ParsedToml;
  gatehouseFile: string;
  names: readonly string[];
  wrapper: { command: string; gatehouseHome: string };
  now: Date;
  parseToml: (text: string) => Record<string, unknown> | null;
}): PlanResult {
  const { client, json } = input;
  const servers = asObject(asObject(json.value)[client.serversKey]);
  const all = Object.keys(servers);
  for (const n of input.names)
    if (!(n in servers))
      return {
        ok: false,
        reason: 'not_found',
        message: `no server '${n}' in ${input.file}`,
        hint: all.length
          ? `servers there: ${all.join(', ')}`
          : `that file has no "${client.serversKey}" servers`,
      };
  const chosen = input.names.length ? [...new Set(input.names)] : all;
  const refuse = (message: string, hint: string): PlanResult => ({
    ok: false,
    reason: 'refused',
    message,
    hint,
  });
  const outcomes: ServerOutcome[] = [];
  const appended: string[] = [];
  let text = json.text;
  const indent = /\n(\t| +)"/.exec(text)?.[1] ?? '  ';
  const formattingOptions = {
    insertSpaces: !indent.startsWith('\t'),
    tabSize: indent.startsWith('\t') ? 1 : indent.length,
    eol: text.includes('\r\n') ? '\r\n' : '\n',
  };
  const existingServers = asObject(input.gatehouse.value.mcp_servers);
  for (const name of chosen) {
    const entry = servers[name];
    if (isJsonWrapper(entry, name)) {
      outcomes.push({ name, action: 'already_connected' });
      continue;
    }
    const badName = unrunnableName(name);
    if (badName) return refuse(badName.message, badName.hint);
    const table = entryToToml(name, entry);
    if (typeof table !== 'string')
      return refuse(
        `${input.file}: server '${name}' ${table.problem}`,
        'connect the other servers by name, or move this one to Gatehouse by hand',
      );
    const moved = asObject(input.parseToml(table)?.mcp_servers)[name];
    const existing = existingServers[name];
    if (existing !== undefined && !isDeepStrictEqual(existing, moved))
      return refuse(
        `server '${name}' is already defined differently in ${input.gatehouseFile}`,
        `remove one of the two definitions (Gatehouse's wins for \`gatehouse run ${name}\`), then run connect again`,
      );
    if (existing === undefined) appended.push(table);
    const wrapper: Record<string, unknown> = {
      ...(client.stdioType ? { type: client.stdioType } : {}),
      command: input.wrapper.command,
      args: ['run', name],
      env: { GATEHOUSE_HOME: input.wrapper.gatehouseHome },
    };
    text = applyEdits(
      text,
      modify(text, [client.serversKey, name], wrapper, { formattingOptions }),
    );
    outcomes.push({ name, action: 'connect' });
  }
  let gatehouseText = input.gatehouse.text;
  if (appended.length) {
    const sep = gatehouseText === '' ? '' : gatehouseText.endsWith('\n') ? '\n' : '\n\n';
    gatehouseText +=
      sep +
      `# moved from ${input.file} by \`gatehouse connect ${client.id}\` (${input.now.toISOString()})\n` +
      appended.join('\n\n') +
      '\n';
  }
  return { ok: true, codexText: text, gatehouseText, servers: outcomes };
}

/** The edited JSON must equal the original except for the connected entries, which are wrappers. */
export function verifyJsonEdit(
  client: JsonClient,
  before: unknown,
  after: unknown,
  connected: readonly string[],
): boolean {
  const strip = (v: unknown) => {
    const o = asObject(v);
    const servers = { ...asObject(o[client.serversKey]) };
    for (const n of connected) delete servers[n];
    return { ...o, [client.serversKey]: servers };
  };
  if (!isDeepStrictEqual(strip(before), strip(after))) return false;
  const servers = asObject(asObject(after)[client.serversKey]);
  return connected.every((n) => isJsonWrapper(servers[n], n));
}

export function maskJsonForDisplay(text: string): string {
  return text.split('\n').map(maskJsonLine).join('\n');
}
