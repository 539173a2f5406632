import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { suggestKey } from '../diagnostics/suggest.js';
import { isPlainTable } from './field-reader.js';
import { parseJsonDocument } from './json-document.js';
import type { JsonDocument } from './json-document.js';
import type { McpServerConfig } from './mcp-server.js';
import { serverWithDefaults } from './mcp-server.js';
import { readSourceFile } from './read-source.js';
import { diagnosticAt } from './located-document.js';

const ENTRY_KEYS = ['type', 'command', 'args', 'env', 'cwd', 'url', 'headers'];
const WHOLE_ENV_REF = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
const BEARER_ENV_REF = /^Bearer \$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

/**
 * Imports a Claude-style `.mcp.json` (`{"mcpServers": {...}}`). `${VAR}` references become
 * Codex's env forwarding (`env_vars`, `bearer_token_env_var`, `env_http_headers`) so the value
 * never has to be written down; literal values stay literal (and are masked when shown).
 */
export function importMcpJson(file: string): {
  servers: McpServerConfig[];
  diagnostics: Diagnostic[];
} {
  const diagnostics: Diagnostic[] = [];
  const read = readSourceFile(file, 'MCP JSON file');
  if (!read.ok) return { servers: [], diagnostics: [read.diagnostic] };
  const parsed = parseJsonDocument(read.text, file);
  if (!parsed.ok) return { servers: [], diagnostics: [parsed.diagnostic] };
  const doc = parsed.doc;
  const at: At = (path, severity, code, message, hint) => {
    diagnostics.push(diagnosticAt(doc, path, severity, code, message, hint));
  };
  const root = doc.value;
  if (!isPlainTable(root) || !isPlainTable(root.mcpServers)) {
    at(
      ['mcpServers'],
      'error',
      'missing_field',
      'expected an object with an "mcpServers" object',
      'the file should look like {"mcpServers": {"name": {"command": "..."}}}',
    );
    return { servers: [], diagnostics };
  }
  const servers: McpServerConfig[] = [];
  for (const [name, entry] of Object.entries(root.mcpServers)) {
    const server = importEntry(doc, name, entry, at);
    if (server) servers.push(server);
  }
  return { servers, diagnostics };
}

type At = (
  path: (string | number)[],
  severity: Diagnostic['severity'],
  code: Diagnostic['code'],
  message: string,
  hint?: string,
) => void;

function importEntry(
  doc: JsonDocument,
  name: string,
  entry: unknown,
  at: At,
): McpServerConfig | null {
  const base = ['mcpServers', name];
  if (name.trim() === '') {
    at(base, 'error', 'empty_name', 'server name is empty', 'give the server a non-empty name');
    return null;
  }
  if (!isPlainTable(entry)) {
    at(base, 'error', 'wrong_type', 'expected an object');
    return null;
  }
  for (const key of Object.keys(entry)) {
    if (!ENTRY_KEYS.includes(key)) {
      const guess = suggestKey(key, ENTRY_KEYS);
      at(
        [...base, key],
        'warning',
        'unknown_key',
        `unknown field '${key}'`,
        guess ? `did you mean \`${guess}\`?` : 'it is ignored',
      );
    }
  }
  const str = (key: string): string | undefined => {
    const v = entry[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') at([...base, key], 'error', 'wrong_type', `expected a string`);
    return typeof v === 'string' ? v : undefined;
  };
  const map = (key: string): Record<string, string> | undefined => {
    const v = entry[key];
    if (v === undefined) return undefined;
    if (!isPlainTable(v) || Object.values(v).some((x) => typeof x !== 'string')) {
      at([...base, key], 'error', 'wrong_type', 'expected an object of string values');
      return undefined;
    }
    return v as Record<string, string>;
  };
  const type =
    str('type') ?? (entry.url !== undefined && entry.command === undefined ? 'http' : 'stdio');
  const location = doc.locate(base);
  const origin = { kind: 'mcp_json' as const, file: doc.file, location };
  const origins = [origin];

  if (type === 'stdio') {
    const command = str('command');
    if (!command) {
      at(base, 'error', 'missing_field', 'a stdio server needs "command"');
      return null;
    }
    for (const key of ['url', 'headers']) {
      if (entry[key] !== undefined)
        at([...base, key], 'error', 'transport_conflict', `${key} is not supported for stdio`);
    }
    const args = entry.args;
    if (args !== undefined && (!Array.isArray(args) || args.some((a) => typeof a !== 'string'))) {
      at([...base, 'args'], 'error', 'wrong_type', 'expected an array of strings');
      return null;
    }
    const envIn = map('env') ?? {};
    const env: Record<string, string> = {};
    const envVars: string[] = [];
    for (const [k, v] of Object.entries(envIn)) {
      const ref = WHOLE_ENV_REF.exec(v);
      if (ref && ref[1] === k) envVars.push(k);
      else env[k] = v;
    }
    if (entry.url !== undefined || entry.headers !== undefined) return null;
    return serverWithDefaults(
      name,
      {
        type: 'stdio',
        command,
        args: (args as string[] | undefined) ?? [],
        env: Object.keys(env).length > 0 ? env : null,
        envVars,
        cwd: str('cwd') ?? null,
      },
      origins,
    );
  }
  if (type === 'http' || type === 'sse' || type === 'streamable-http') {
    const url = str('url');
    if (!url) {
      at(base, 'error', 'missing_field', `a ${type} server needs "url"`);
      return null;
    }
    for (const key of ['command', 'args', 'env', 'cwd']) {
      if (entry[key] !== undefined)
        at(
          [...base, key],
          'error',
          'transport_conflict',
          `${key} is not supported for streamable_http`,
        );
    }
    if (['command', 'args', 'env', 'cwd'].some((k) => entry[k] !== undefined)) return null;
    const headers = map('headers') ?? {};
    const httpHeaders: Record<string, string> = {};
    const envHttpHeaders: Record<string, string> = {};
    let bearerTokenEnvVar: string | null = null;
    for (const [h, v] of Object.entries(headers)) {
      const bearer = BEARER_ENV_REF.exec(v);
      const whole = WHOLE_ENV_REF.exec(v);
      if (bearer && h.toLowerCase() === 'authorization') bearerTokenEnvVar = bearer[1] ?? null;
      else if (whole) envHttpHeaders[h] = whole[1] ?? '';
      else httpHeaders[h] = v;
    }
    return serverWithDefaults(
      name,
      {
        type: 'streamable_http',
        url,
        bearerTokenEnvVar,
        httpHeaders: Object.keys(httpHeaders).length > 0 ? httpHeaders : null,
        envHttpHeaders: Object.keys(envHttpHeaders).length > 0 ? envHttpHeaders : null,
        httpHeadersHelper: null,
      },
      origins,
    );
  }
  at(
    [...base, 'type'],
    'error',
    'invalid_value',
    `unknown server type \`${type}\`, expected one of \`stdio\`, \`http\`, \`sse\``,
  );
  return null;
}
