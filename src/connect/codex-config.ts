import { getStaticTOMLValue, parseTOML, ParseError } from 'toml-eslint-parser';
import type { AST } from 'toml-eslint-parser';
import { isDeepStrictEqual } from 'node:util';
import { isGatehouseRunEntry, unrunnableName } from '../config/gatehouse-wrapper.js';
import { maskSourceLine } from '../masking/mask-text.js';

/**
 * Targeted text edits of a Codex `config.toml`: the positions come from the TOML parser, the
 * edits replace only the lines of the keys that move, so every comment, blank line and key
 * order a person wrote survives. Pure: text in, text out.
 */

/** Keys that shape how Codex treats a server (not what runs): they stay in Codex's entry. */
export const CODEX_CLIENT_KEYS: ReadonlySet<string> = new Set([
  'enabled',
  'required',
  'startup_timeout_sec',
  'startup_timeout_ms',
  'tool_timeout_sec',
  'enabled_tools',
  'disabled_tools',
  'default_tools_approval_mode',
  'tools',
  'supports_parallel_tool_calls',
  'startup_readiness',
  'tool_input_schema_max_bytes',
]);

/**
 * Variables Codex must forward to `gatehouse run` (Codex passes only a fixed allow-list such as
 * HOME and PATH, so these would silently never arrive). GATEHOUSE_HOME is pinned with `env`.
 */
export const GATEHOUSE_PASS_THROUGH = [
  'GATEHOUSE_AUDIT',
  'GATEHOUSE_LOCK',
  'GATEHOUSE_REQUIREMENTS_TOML_BASE64',
] as const;

export interface TomlSyntaxError {
  file: string;
  line: number;
  column: number;
  message: string;
}

export interface ParsedToml {
  text: string;
  ast: AST.TOMLProgram;
  value: Record<string, unknown>;
}

export function parseTomlText(
  text: string,
  file: string,
): { ok: true; doc: ParsedToml } | { ok: false; error: TomlSyntaxError } {
  try {
    const ast = parseTOML(text);
    return {
      ok: true,
      doc: { text, ast, value: getStaticTOMLValue(ast) as Record<string, unknown> },
    };
  } catch (err) {
    if (err instanceof ParseError)
      return {
        ok: false,
        error: { file, line: err.lineNumber, column: err.column + 1, message: err.message },
      };
    throw err;
  }
}

/** The `gatehouse run NAME` entry a client gets, as Gatehouse writes it. */
export interface WrapperSpec {
  /** The executable Codex starts (absolute path of the gatehouse bin, or `gatehouse`). */
  command: string;
  /** Pinned literally with `env`, so the gateway reads the config the definitions moved to. */
  gatehouseHome: string;
}

/** Is this Codex server value already the Gatehouse wrapper for `name`? */
export const isGatehouseWrapper = isGatehouseRunEntry;

export type ServerOutcome =
  { name: string; action: 'connect' } | { name: string; action: 'already_connected' };

export type PlanResult =
  | {
      ok: true;
      codexText: string;
      gatehouseText: string;
      servers: ServerOutcome[];
    }
  | { ok: false; reason: 'not_found' | 'refused'; message: string; hint: string };

interface ServerBlock {
  name: string;
  main: AST.TOMLTable;
  subtables: AST.TOMLTable[];
}

/**
 * Plans `gatehouse connect codex`: which servers move, the new Codex text (each entry rewritten
 * to `gatehouse run NAME`) and the new Gatehouse config text (the original tables appended
 * verbatim). Refuses, changing nothing, when a server is written in a form it cannot edit
 * exactly or is defined differently in Gatehouse's config already.
 */
export function planCodexConnect(input: {
  codex: ParsedToml;
  codexFile: string;
  gatehouse: ParsedToml;
  gatehouseFile: string;
  names: readonly string[];
  wrapper: WrapperSpec;
  now: Date;
}): PlanResult {
  const { codex, gatehouse, wrapper } = input;
  const servers = asTable(codex.value.mcp_servers);
  const all = Object.keys(servers);
  for (const n of input.names)
    if (!(n in servers))
      return {
        ok: false,
        reason: 'not_found',
        message: `no server '${n}' in ${input.codexFile}`,
        hint: all.length
          ? `servers there: ${all.join(', ')}`
          : 'that file defines no [mcp_servers.*]; add the server to Codex first (codex mcp add)',
      };
  const chosen = input.names.length ? [...new Set(input.names)] : all;
  const outcomes: ServerOutcome[] = [];
  const edits: TextEdit[] = [];
  const appended: string[] = [];
  const eol = codex.text.includes('\r\n') ? '\r\n' : '\n';
  const gatehouseServers = asTable(gatehouse.value.mcp_servers);
  for (const name of chosen) {
    const entry = servers[name];
    if (isGatehouseWrapper(entry, name)) {
      outcomes.push({ name, action: 'already_connected' });
      continue;
    }
    const badName = unrunnableName(name);
    if (badName) return refuse(badName.message, badName.hint);
    const block = findServerBlock(codex.ast, name);
    if (typeof block === 'string')
      return refuse(
        `${input.codexFile}: [mcp_servers.${name}] is written ${block}; connect edits only the table form`,
        `rewrite it as a [mcp_servers.${name}] table (with [mcp_servers.${name}.env] etc. as needed) and run connect again`,
      );
    const existing = gatehouseServers[name];
    if (existing !== undefined && !isDeepStrictEqual(existing, entry))
      return refuse(
        `server '${name}' is already defined differently in ${input.gatehouseFile}`,
        `remove one of the two definitions (Gatehouse's wins for \`gatehouse run ${name}\`), then run connect again`,
      );
    if (existing === undefined)
      appended.push(
        [block.main, ...block.subtables].map((t) => sliceLines(codex.text, t)).join(eol + eol),
      );
    edits.push(...entryEdits(codex.text, block, wrapperLines(name, entry, wrapper), eol));
    outcomes.push({ name, action: 'connect' });
  }
  const codexText = applyEdits(codex.text, edits);
  let gatehouseText = gatehouse.text;
  if (appended.length) {
    const geol = gatehouse.text.includes('\r\n') ? '\r\n' : '\n';
    const sep = gatehouseText === '' ? '' : gatehouseText.endsWith('\n') ? geol : geol + geol;
    gatehouseText +=
      sep +
      `# moved from ${input.codexFile} by \`gatehouse connect codex\` (${input.now.toISOString()})` +
      geol +
      appended.map((b) => b.replace(/\r?\n/g, geol)).join(geol + geol) +
      geol;
  }
  return { ok: true, codexText, gatehouseText, servers: outcomes };
}

function refuse(message: string, hint: string): PlanResult {
  return { ok: false, reason: 'refused', message, hint };
}

function asTable(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : {};
}

function keyNames(key: AST.TOMLKey): string[] {
  return key.keys.map((k) => (k.type === 'TOMLBare' ? k.name : k.value));
}

/** The server's tables, or why its form is not one connect edits. */
function findServerBlock(ast: AST.TOMLProgram, name: string): ServerBlock | string {
  let main: AST.TOMLTable | null = null;
  const subtables: AST.TOMLTable[] = [];
  for (const node of ast.body[0].body) {
    if (node.type === 'TOMLKeyValue') {
      const k = keyNames(node.key);
      if (k[0] === 'mcp_servers') return 'with dotted keys at the top level';
      continue;
    }
    const rk = node.resolvedKey;
    if (rk[0] !== 'mcp_servers') continue;
    if (rk.length === 1) {
      if (node.body.some((kv) => keyNames(kv.key)[0] === name))
        return 'inside [mcp_servers] as an inline table or dotted keys';
      continue;
    }
    if (rk[1] !== name) continue;
    if (node.kind === 'array') return 'with an array of tables';
    if (rk.length === 2) main = node;
    else subtables.push(node);
  }
  if (!main) return 'only through sub-tables, without its own header';
  return { name, main, subtables };
}

/** The whole lines a table occupies: its header through its last key's line. */
function lineSpan(text: string, node: { range: [number, number] }): [number, number] {
  const start = text.lastIndexOf('\n', node.range[0] - 1) + 1;
  const nl = text.indexOf('\n', node.range[1]);
  return [start, nl === -1 ? text.length : nl + 1];
}

/** A removed sub-table takes the blank lines above it along (never reaching into its parent). */
function withBlankLinesBefore(text: string, start: number, floor: number): number {
  let s = start;
  for (;;) {
    const prev = text.lastIndexOf('\n', s - 2) + 1;
    if (s === 0 || prev <= floor || text.slice(prev, s).trim() !== '') return s;
    s = prev;
  }
}

function sliceLines(text: string, table: AST.TOMLTable): string {
  const [s, e] = lineSpan(text, table);
  return text.slice(s, e).replace(/\r?\n$/, '');
}

interface TextEdit {
  start: number;
  end: number;
  insert: string;
}

/** Delete every key that says what runs; insert the wrapper keys under the header. */
function entryEdits(text: string, block: ServerBlock, lines: string[], eol: string): TextEdit[] {
  const edits: TextEdit[] = [];
  const headerEnd = text.indexOf('\n', block.main.key.range[1]);
  const at = headerEnd === -1 ? text.length : headerEnd + 1;
  const lead = headerEnd === -1 ? eol : '';
  edits.push({ start: at, end: at, insert: lead + lines.map((l) => l + eol).join('') });
  for (const kv of block.main.body) {
    if (CODEX_CLIENT_KEYS.has(keyNames(kv.key)[0] ?? '')) continue;
    const [s, e] = lineSpan(text, kv);
    edits.push({ start: s, end: e, insert: '' });
  }
  for (const sub of block.subtables) {
    if (CODEX_CLIENT_KEYS.has(String(sub.resolvedKey[2]))) continue;
    const [s, e] = lineSpan(text, sub);
    edits.push({ start: withBlankLinesBefore(text, s, block.main.range[1]), end: e, insert: '' });
  }
  return edits;
}

function applyEdits(text: string, edits: TextEdit[]): string {
  const sorted = [...edits].sort((a, b) => b.start - a.start || b.end - a.end);
  let out = text;
  for (const e of sorted) out = out.slice(0, e.start) + e.insert + out.slice(e.end);
  return out;
}

/** The keys of Codex's new entry: run through Gatehouse, and pass through what it needs. */
function wrapperLines(name: string, entry: unknown, wrapper: WrapperSpec): string[] {
  const e = asTable(entry);
  const pass = new Set<string>(GATEHOUSE_PASS_THROUGH);
  const remote: string[] = [];
  if (Array.isArray(e.env_vars))
    for (const v of e.env_vars) {
      if (typeof v === 'string') pass.add(v);
      else if (typeof v === 'object' && v !== null) {
        const ref = v as { name?: unknown; source?: unknown };
        if (typeof ref.name !== 'string') continue;
        if (ref.source === 'remote')
          remote.push(`{ name = ${tomlString(ref.name)}, source = "remote" }`);
        else pass.add(ref.name);
      }
    }
  if (typeof e.bearer_token_env_var === 'string') pass.add(e.bearer_token_env_var);
  for (const v of Object.values(asTable(e.env_http_headers)))
    if (typeof v === 'string') pass.add(v);
  const envVars = [...[...pass].map(tomlString), ...remote];
  return [
    `command = ${tomlString(wrapper.command)}`,
    `args = ["run", ${tomlString(name)}]`,
    `env = { GATEHOUSE_HOME = ${tomlString(wrapper.gatehouseHome)} }`,
    `env_vars = [${envVars.join(', ')}]`,
  ];
}

/** A TOML basic string; every control character escaped (TOML forbids them raw, DEL included). */
export function tomlString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += `\\u${c.toString(16).padStart(4, '0').toUpperCase()}`;
    else out += ch;
  }
  return out + '"';
}

/** The file with every secret-bearing value masked line by line, for showing it in a diff. */
export function maskTomlForDisplay(text: string): string {
  let secretTable = false;
  return text
    .split('\n')
    .map((line) => {
      const header = /^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$/.exec(line);
      if (header)
        secretTable = /(^|\.)(env|http_headers|oauth)(\.|$)/.test(
          (header[1] ?? '').replace(/["']/g, ''),
        );
      return maskSourceLine(line, secretTable);
    })
    .join('\n');
}

/**
 * After planning, the edited text must mean exactly what was intended: every other key
 * unchanged, each connected entry = its client keys + the wrapper. A mismatch is a bug in the
 * edit, so nothing is written.
 */
export function verifyCodexEdit(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  connected: readonly string[],
): boolean {
  const strip = (v: Record<string, unknown>) => {
    const servers = { ...asTable(v.mcp_servers) };
    for (const n of connected) {
      const e = asTable(servers[n]);
      servers[n] = Object.fromEntries(Object.entries(e).filter(([k]) => CODEX_CLIENT_KEYS.has(k)));
    }
    return { ...v, mcp_servers: servers };
  };
  if (!isDeepStrictEqual(strip(before), strip(after))) return false;
  const servers = asTable(after.mcp_servers);
  return connected.every((n) => isGatehouseWrapper(servers[n], n));
}
