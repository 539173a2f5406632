import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { maskUrl } from '../masking/mask-text.js';
import { suggestKey } from '../diagnostics/suggest.js';
import { describeType, isPlainTable } from '../config/field-reader.js';
import type { TomlDocument, KeyPath } from '../config/toml-document.js';
import { KNOWN_REQUIREMENT_KEYS, LEGACY_REQUIREMENT_KEYS } from './known-keys.js';
import type { RequirementSource, ServerIdentityRule, ServerRule, StringMatcher } from './model.js';
import { describeSource } from './model.js';
import { compileRustRegex, RustRegexError } from './rust-regex.js';
import { parseUrlPrefix } from './url-prefix.js';
import type {
  GatehouseAuditLayer,
  GatehousePolicyLayer,
  TableReporter,
} from './parse-gatehouse-tables.js';
import { parseAuditTable, parsePolicyTable } from './parse-gatehouse-tables.js';
import type { GatehouseSchemaLayer } from './parse-schema-table.js';
import { parseSchemaTable } from './parse-schema-table.js';
import type { GatehouseMaskingLayer } from './parse-masking-table.js';
import { parseMaskingTable } from './parse-masking-table.js';
import type { GatehousePluginsLayer, PluginsTableReporter } from './parse-plugins-table.js';
import { parsePluginsTable } from './parse-plugins-table.js';
import { diagnosticAt } from '../config/located-document.js';
import type { GatehouseApprovalsLayer } from './parse-approvals-table.js';
import { parseApprovalsTable } from './parse-approvals-table.js';
import type { GatehouseHttpLayer } from './parse-http-table.js';
import { parseHttpTable } from './parse-http-table.js';
import type { GatehouseIdentityLayer } from './parse-identity-table.js';
import { parseIdentityTable } from './parse-identity-table.js';
import type { GatehouseScopesLayer } from './parse-scopes-table.js';
import { parseScopesTable } from './parse-scopes-table.js';
import type { GatehouseTelemetryLayer } from './parse-telemetry-table.js';
import { parseTelemetryTable } from './parse-telemetry-table.js';
import type { GatehouseCredentialsLayer } from './parse-credentials-table.js';
import { parseCredentialsTable } from './parse-credentials-table.js';

/** What one requirements file (or the env channel) says, before layers are combined. */
export interface RequirementsLayer {
  source: RequirementSource;
  /** null when this layer has no `mcp_servers` (nor seed-form) table. */
  mcpServers: Map<string, ServerRule> | null;
  plugins: Map<string, Map<string, ServerRule>>;
  policy: GatehousePolicyLayer;
  audit: GatehouseAuditLayer;
  schema: GatehouseSchemaLayer;
  masking: GatehouseMaskingLayer;
  pluginGovernance: GatehousePluginsLayer;
  approvals: GatehouseApprovalsLayer;
  http: GatehouseHttpLayer;
  identity: GatehouseIdentityLayer;
  /** `[gatehouse_scopes]`: who may see and use each server. */
  scopes: GatehouseScopesLayer;
  /** `[gatehouse_telemetry]`: OpenTelemetry export for every gateway. */
  telemetry?: GatehouseTelemetryLayer;
  /** `[gatehouse_credentials]`: which credential models servers may use. */
  credentials: GatehouseCredentialsLayer;
}

const IDENTITY_KEYS = ['command', 'url', 'sha256', 'interpreter_sha256', 'allow_env'];
const COMMAND_MATCHER_KEYS = ['executable', 'args'];
const SHA256 = /^[0-9a-fA-F]{64}$/;

class LayerParser implements TableReporter, PluginsTableReporter {
  readonly diagnostics: Diagnostic[] = [];

  constructor(
    private readonly doc: TomlDocument,
    private readonly source: RequirementSource,
  ) {}

  private report(
    severity: Diagnostic['severity'],
    code: Diagnostic['code'],
    path: KeyPath,
    message: string,
    hint?: string,
  ): void {
    this.diagnostics.push(diagnosticAt(this.doc, path, severity, code, message, hint));
  }

  /** The named entries of a server table; reports a non-table and empty names. */
  private serverEntries(path: KeyPath, raw: unknown): [string, unknown, KeyPath][] {
    if (!isPlainTable(raw)) {
      this.error(
        path,
        `invalid type: ${describeType(raw)}, expected a map`,
        undefined,
        'wrong_type',
      );
      return [];
    }
    return Object.entries(raw).flatMap(([name, entry]): [string, unknown, KeyPath][] => {
      const at = [...path, name];
      if (name.trim() !== '') return [[name, entry, at]];
      const hint = 'name the server exactly as its [mcp_servers.NAME] key in config';
      this.error(at, 'server name is empty', hint, 'empty_name');
      return [];
    });
  }

  /** True for a table; otherwise reports the wrong type at `path` (an error: fail closed). */
  isTable(value: unknown, path: KeyPath): value is Record<string, unknown> {
    if (isPlainTable(value)) return true;
    this.error(
      path,
      `invalid type: ${describeType(value)}, expected a table`,
      undefined,
      'wrong_type',
    );
    return false;
  }

  private rule(
    name: string,
    identity: ServerIdentityRule,
    form: ServerRule['form'],
    at: KeyPath,
  ): ServerRule {
    return { name, identity, form, source: this.source, location: this.doc.locate(at) };
  }

  error(
    path: KeyPath,
    message: string,
    hint?: string,
    code: Diagnostic['code'] = 'invalid_value',
  ): void {
    this.report('error', code, path, message, hint);
  }

  warn(
    path: KeyPath,
    message: string,
    hint?: string,
    code: Diagnostic['code'] = 'unknown_key',
  ): void {
    this.report('warning', code, path, message, hint);
  }

  parse(): RequirementsLayer {
    const root = this.doc.value;
    for (const key of Object.keys(root)) {
      const legacy = LEGACY_REQUIREMENT_KEYS[key];
      if (legacy) {
        this.warn([key], `\`${key}\` is not read by Codex or Gatehouse`, legacy, 'legacy_key');
      } else if (!KNOWN_REQUIREMENT_KEYS.includes(key)) {
        const guess = suggestKey(key, KNOWN_REQUIREMENT_KEYS);
        this.warn(
          [key],
          `unknown requirements key \`${key}\`: Codex ignores it silently, so it enforces nothing`,
          guess
            ? `did you mean \`${guess}\`?`
            : 'remove it, or check the spelling against docs/requirements.md',
        );
      }
    }
    let mcpServers = this.parseServerTable(['mcp_servers'], root.mcp_servers);
    const seed = this.parseSeedTable(root.mcp_server_allowlist);
    if (seed) {
      mcpServers ??= new Map();
      for (const [name, rule] of seed) {
        if (mcpServers.has(name)) {
          this.error(
            ['mcp_server_allowlist', name],
            `server '${name}' has a rule in both [mcp_server_allowlist] and [mcp_servers] in this file`,
            'keep only the [mcp_servers.NAME.identity] rule',
            'duplicate_definition',
          );
          continue;
        }
        mcpServers.set(name, rule);
      }
    }
    return {
      source: this.source,
      mcpServers,
      plugins: this.parsePlugins(root.plugins),
      audit: parseAuditTable(root.gatehouse_audit, this),
      policy: parsePolicyTable(root.gatehouse_policy, this, this.source),
      schema: parseSchemaTable(root.gatehouse_schema, this, this.source),
      masking: parseMaskingTable(root.gatehouse_masking, this),
      pluginGovernance: parsePluginsTable(root.gatehouse_plugins, this, this.source),
      approvals: parseApprovalsTable(root.gatehouse_approvals, this),
      http: parseHttpTable(root.gatehouse_http, this, this.source),
      identity: parseIdentityTable(root.gatehouse_identity, this),
      scopes: parseScopesTable(root.gatehouse_scopes, this, this.source),
      telemetry: parseTelemetryTable(root.gatehouse_telemetry, this),
      credentials: parseCredentialsTable(root.gatehouse_credentials, this, this.source),
    };
  }

  private parsePlugins(raw: unknown): Map<string, Map<string, ServerRule>> {
    const out = new Map<string, Map<string, ServerRule>>();
    if (raw === undefined) return out;
    if (!isPlainTable(raw)) {
      this.error(
        ['plugins'],
        `invalid type: ${describeType(raw)}, expected a map`,
        undefined,
        'wrong_type',
      );
      return out;
    }
    for (const [id, table] of Object.entries(raw)) {
      if (!isPlainTable(table)) {
        this.error(
          ['plugins', id],
          `invalid type: ${describeType(table)}, expected a map`,
          undefined,
          'wrong_type',
        );
        continue;
      }
      for (const key of Object.keys(table)) {
        if (key !== 'mcp_servers') {
          this.warn(
            ['plugins', id, key],
            `unknown key \`${key}\` in plugin requirements`,
            'plugin requirements hold only `mcp_servers`',
          );
        }
      }
      const rules = this.parseServerTable(['plugins', id, 'mcp_servers'], table.mcp_servers);
      if (rules) out.set(id, rules);
    }
    return out;
  }

  /** `[mcp_servers.NAME.identity]` tables; null when the table is absent. */
  private parseServerTable(path: KeyPath, raw: unknown): Map<string, ServerRule> | null {
    if (raw === undefined) return null;
    const rules = new Map<string, ServerRule>();
    for (const [name, entry, at] of this.serverEntries(path, raw)) {
      if (!isPlainTable(entry)) {
        this.error(
          at,
          `invalid type: ${describeType(entry)}, expected a map`,
          undefined,
          'wrong_type',
        );
        continue;
      }
      for (const key of Object.keys(entry)) {
        if (key === 'identity') continue;
        const guess = suggestKey(key, ['identity']) ? 'did you mean `identity`?' : undefined;
        this.warn(
          [...at, key],
          `unknown key \`${key}\` in a server rule; only \`identity\` is read`,
          guess,
        );
      }
      if (entry.identity === undefined) {
        const where = at.join('.');
        this.error(
          at,
          `missing field \`identity\` in \`${where}\``,
          `add [${where}.identity] with command = "..." or url = "..."`,
          'missing_field',
        );
        continue;
      }
      const identity = this.parseIdentity([...at, 'identity'], entry.identity);
      if (identity) rules.set(name, this.rule(name, identity, 'identity', at));
    }
    return rules;
  }

  private parseSeedTable(raw: unknown): Map<string, ServerRule> | null {
    if (raw === undefined) return null;
    const path = ['mcp_server_allowlist'];
    this.warn(
      path,
      '`mcp_server_allowlist` is a Gatehouse-only form: Codex ignores it and enforces nothing from it',
      'Gatehouse enforces each entry as [mcp_servers.NAME.identity]; move the rules there so Codex enforces them too',
      'legacy_key',
    );
    const rules = new Map<string, ServerRule>();
    for (const [name, entry, at] of this.serverEntries(path, raw)) {
      const identity = this.parseIdentity(at, entry);
      if (identity) rules.set(name, this.rule(name, identity, 'seed', at));
    }
    return rules;
  }

  private parseIdentity(path: KeyPath, raw: unknown): ServerIdentityRule | null {
    if (!isPlainTable(raw)) {
      this.error(
        path,
        `invalid type: ${describeType(raw)}, expected a table with \`command\` or \`url\``,
        undefined,
        'wrong_type',
      );
      return null;
    }
    let ok = true;
    for (const key of Object.keys(raw)) {
      if (!IDENTITY_KEYS.includes(key)) {
        const guess = suggestKey(key, IDENTITY_KEYS);
        this.error(
          [...path, key],
          `unknown identity key \`${key}\`; expected \`command\` or \`url\` (and optionally \`sha256\`)`,
          guess ? `did you mean \`${guess}\`?` : undefined,
          'unknown_key',
        );
        ok = false;
      }
    }
    const hasCommand = raw.command !== undefined;
    const hasUrl = raw.url !== undefined;
    if (hasCommand && hasUrl) {
      this.error(
        path,
        'an identity has either `command` or `url`, not both',
        'split it into two server rules, or remove one key',
        'transport_conflict',
      );
      return null;
    }
    if (!hasCommand && !hasUrl) {
      this.error(
        path,
        'an identity needs `command` (stdio) or `url` (streamable HTTP)',
        undefined,
        'missing_field',
      );
      return null;
    }
    let sha256: string | null = null;
    if (raw.sha256 !== undefined) {
      if (hasUrl) {
        this.error(
          [...path, 'sha256'],
          '`sha256` pins an executable and applies only to a `command` identity',
        );
        ok = false;
      } else if (typeof raw.sha256 !== 'string' || !SHA256.test(raw.sha256)) {
        this.error(
          [...path, 'sha256'],
          'expected 64 hexadecimal characters (the SHA-256 of the resolved executable)',
          'compute it with: sha256sum "$(realpath "$(command -v NAME)")"',
        );
        ok = false;
      } else sha256 = raw.sha256.toLowerCase();
    }
    let interpreterSha256: string | null = null;
    if (raw.interpreter_sha256 !== undefined) {
      if (hasUrl || sha256 === null) {
        this.error(
          [...path, 'interpreter_sha256'],
          '`interpreter_sha256` pins the #! interpreter of a pinned script: it needs `command` and `sha256` beside it',
        );
        ok = false;
      } else if (
        typeof raw.interpreter_sha256 !== 'string' ||
        !SHA256.test(raw.interpreter_sha256)
      ) {
        this.error(
          [...path, 'interpreter_sha256'],
          'expected 64 hexadecimal characters (the SHA-256 of the resolved #! interpreter)',
          '`gatehouse mcp get NAME` shows the value to check when the pin is missing',
        );
        ok = false;
      } else interpreterSha256 = raw.interpreter_sha256.toLowerCase();
    }
    let allowEnv: string[] = [];
    if (raw.allow_env !== undefined) {
      if (hasUrl || sha256 === null) {
        this.error(
          [...path, 'allow_env'],
          '`allow_env` names loader variables a pinned server may get: it needs `command` and `sha256` beside it',
        );
        ok = false;
      } else if (
        !Array.isArray(raw.allow_env) ||
        !raw.allow_env.every(
          (v: unknown) => typeof v === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(v),
        )
      ) {
        this.error(
          [...path, 'allow_env'],
          'expected a list of environment variable names, e.g. allow_env = ["NODE_OPTIONS"]',
        );
        ok = false;
      } else allowEnv = raw.allow_env as string[];
    }
    // Only what was written: rules without these keys stay exactly as before.
    const pinExtras = {
      ...(interpreterSha256 ? { interpreterSha256 } : {}),
      ...(allowEnv.length > 0 ? { allowEnv } : {}),
    };
    if (hasUrl) {
      const url = this.parseMatcher([...path, 'url'], raw.url, 'url');
      return url && ok ? { transport: 'streamable_http', url } : null;
    }
    const command = raw.command;
    if (typeof command === 'string') {
      if (command === '') {
        this.error(
          [...path, 'command'],
          'command is empty',
          'set the executable exactly as the server config writes it, e.g. "npx"',
        );
        return null;
      }
      return ok ? { transport: 'stdio', form: 'exact', command, sha256, ...pinExtras } : null;
    }
    if (!isPlainTable(command)) {
      this.error(
        [...path, 'command'],
        `invalid type: ${describeType(command)}, expected a string or { executable, args }`,
        undefined,
        'wrong_type',
      );
      return null;
    }
    for (const key of Object.keys(command)) {
      if (!COMMAND_MATCHER_KEYS.includes(key)) {
        const guess = suggestKey(key, COMMAND_MATCHER_KEYS);
        this.error(
          [...path, 'command', key],
          `unknown key \`${key}\` in a command matcher; expected \`executable\` and \`args\``,
          key === 'sha256'
            ? 'put `sha256` beside `command` in the identity table (Codex rejects it here)'
            : guess
              ? `did you mean \`${guess}\`?`
              : undefined,
          'unknown_key',
        );
        ok = false;
      }
    }
    if (typeof command.executable !== 'string' || command.executable === '') {
      this.error(
        [...path, 'command', 'executable'],
        'a command matcher needs `executable` (a non-empty string)',
        undefined,
        'missing_field',
      );
      return null;
    }
    if (!Array.isArray(command.args)) {
      this.error(
        [...path, 'command', 'args'],
        'a command matcher needs `args`, a list of { match = "exact" | "prefix" | "regex", ... }',
        'use args = [] to allow the executable with no arguments only',
        'missing_field',
      );
      return null;
    }
    const args: StringMatcher[] = [];
    command.args.forEach((arg: unknown, i) => {
      const m = this.parseMatcher([...path, 'command', 'args', i], arg, 'arg');
      if (m) args.push(m);
      else ok = false;
    });
    return ok
      ? {
          transport: 'stdio',
          form: 'matcher',
          executable: command.executable,
          args,
          sha256,
          ...pinExtras,
        }
      : null;
  }

  urlMatcher(path: KeyPath, raw: unknown): StringMatcher | null {
    return this.parseMatcher(path, raw, 'url');
  }

  locate(path: KeyPath) {
    return this.doc.locate(path);
  }

  private parseMatcher(path: KeyPath, raw: unknown, what: 'url' | 'arg'): StringMatcher | null {
    if (typeof raw === 'string' && what === 'url') return { match: 'exact', value: raw };
    if (!isPlainTable(raw)) {
      this.error(
        path,
        `invalid type: ${describeType(raw)}, expected ${what === 'url' ? 'a string or ' : ''}{ match = "exact" | "prefix" | "regex", ... }`,
        undefined,
        'wrong_type',
      );
      return null;
    }
    const kind = raw.match;
    const expected = kind === 'regex' ? ['match', 'expression'] : ['match', 'value'];
    if (kind !== 'exact' && kind !== 'prefix' && kind !== 'regex') {
      this.error(
        [...path, 'match'],
        `unknown matcher \`${String(kind)}\`, expected one of \`exact\`, \`prefix\`, \`regex\``,
      );
      return null;
    }
    const extra = Object.keys(raw).filter((k) => !expected.includes(k));
    if (extra.length > 0) {
      this.error(
        [...path, extra[0] ?? ''],
        `a \`${kind}\` matcher takes only ${expected.map((k) => `\`${k}\``).join(' and ')}`,
        kind === 'regex' ? 'use `expression` for regex' : 'use `value` for exact and prefix',
      );
      return null;
    }
    if (kind === 'regex') {
      if (typeof raw.expression !== 'string') {
        this.error(
          [...path, 'expression'],
          'a regex matcher needs `expression` (a string)',
          undefined,
          'missing_field',
        );
        return null;
      }
      try {
        return {
          match: 'regex',
          expression: raw.expression,
          regex: compileRustRegex(raw.expression),
        };
      } catch (err) {
        if (!(err instanceof RustRegexError)) throw err;
        const msg =
          err.phase === 'anchored'
            ? `regex \`${raw.expression}\` cannot be used for full-value matching: ${err.message}`
            : `invalid regex \`${raw.expression}\`: ${err.message}`;
        this.error(
          [...path, 'expression'],
          `${msg} (set by ${describeSource(this.source)})`,
          'Codex uses Rust regex-lite syntax: no look-around, no back-references, no \\p{..} classes; the whole value must match',
          'invalid_regex',
        );
        return null;
      }
    }
    if (typeof raw.value !== 'string') {
      this.error(
        [...path, 'value'],
        `a ${kind} matcher needs \`value\` (a string)`,
        undefined,
        'missing_field',
      );
      return null;
    }
    if (kind === 'prefix' && what === 'url') {
      const problem = parseUrlPrefix(raw.value).problem;
      if (problem) {
        this.error(
          [...path, 'value'],
          `URL prefix \`${maskUrl(raw.value)}\` ${problem}`,
          'write a full origin, optionally with a path: "https://mcp.example.com" or "https://mcp.example.com/mcp"',
        );
        return null;
      }
    }
    return { match: kind, value: raw.value };
  }
}

/** Parses one requirements document; never throws on bad input. */
export function parseRequirementsLayer(
  doc: TomlDocument,
  source: RequirementSource,
): { layer: RequirementsLayer; diagnostics: Diagnostic[] } {
  const parser = new LayerParser(doc, source);
  const layer = parser.parse();
  return { layer, diagnostics: parser.diagnostics };
}
