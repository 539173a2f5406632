import type { TelemetryRequirements } from './parse-telemetry-table.js';
import type { SourceLocation } from '../diagnostics/diagnostic.js';
import type { CompiledRustRegex } from './rust-regex.js';
import type { ToolPolicy } from '../policy/model.js';
import { NO_TOOL_POLICY } from '../policy/model.js';
import type { SchemaRequirements } from './parse-schema-table.js';
import { NO_SCHEMA_REQUIREMENTS } from './parse-schema-table.js';
import type { MaskingPolicy } from '../masking/policy.js';
import { DEFAULT_MASKING_POLICY } from '../masking/policy.js';
import type { PluginGovernance } from './parse-plugins-table.js';
import { NO_PLUGIN_GOVERNANCE } from './parse-plugins-table.js';
import type { ApprovalRequirements } from './parse-approvals-table.js';
import { NO_APPROVAL_REQUIREMENTS } from './parse-approvals-table.js';
import type { HttpRequirements } from './parse-http-table.js';
import { NO_HTTP_REQUIREMENTS } from './parse-http-table.js';
import type { IdentitySettings } from '../identity/settings.js';
import { NO_IDENTITY } from '../identity/settings.js';
import type { CredentialRequirements } from './parse-credentials-table.js';
import { NO_CREDENTIAL_REQUIREMENTS } from './parse-credentials-table.js';

/** Where a requirement came from. Its display string is the contract users see (as in Codex). */
export type RequirementSource =
  | { kind: 'system_file'; path: string }
  | { kind: 'env'; name: string }
  | { kind: 'flag_file'; path: string }
  | { kind: 'codex_file'; path: string };

export const REQUIREMENTS_ENV_VAR = 'GATEHOUSE_REQUIREMENTS_TOML_BASE64';
export const SYSTEM_REQUIREMENTS_FILE = '/etc/gatehouse/requirements.toml';
export const CODEX_SYSTEM_REQUIREMENTS_FILE = '/etc/codex/requirements.toml';

/** The label shown in `requirements (<label>)`: a file path, or the env var for the MDM-style channel. */
export function describeSource(source: RequirementSource): string {
  switch (source.kind) {
    case 'system_file':
    case 'flag_file':
    case 'codex_file':
      return source.path;
    case 'env':
      return `env ${source.name}`;
    default: {
      const never: never = source;
      return String(never);
    }
  }
}

/** Codex's composite label when several layers contributed. */
export function describeSources(sources: readonly RequirementSource[]): string {
  if (sources.length === 0) return '<unspecified>';
  if (sources.length === 1) return describeSource(sources[0] as RequirementSource);
  return `requirements layers: ${sources.map(describeSource).join(', ')}`;
}

export type StringMatcher =
  | { match: 'exact'; value: string }
  | { match: 'prefix'; value: string }
  | { match: 'regex'; expression: string; regex: CompiledRustRegex };

/** Gatehouse-only keys beside `sha256` (see docs/requirements.md, "Executables and the environment"). */
export interface PinExtras {
  /** `interpreter_sha256`: the `#!` interpreter of a pinned script (after resolving `env NAME`). */
  interpreterSha256?: string | null;
  /** `allow_env`: loader/injection variables the admin allows in this pinned server's env. */
  allowEnv?: readonly string[];
}

export type ServerIdentityRule =
  /** `command = "npx"`: equality on the command only; args, env and cwd are not compared. */
  | ({ transport: 'stdio'; form: 'exact'; command: string; sha256: string | null } & PinExtras)
  /** `command = { executable, args = [...] }`: equal arg count, positional matchers. */
  | ({
      transport: 'stdio';
      form: 'matcher';
      executable: string;
      args: StringMatcher[];
      sha256: string | null;
    } & PinExtras)
  | { transport: 'streamable_http'; url: StringMatcher };

export interface ServerRule {
  name: string;
  identity: ServerIdentityRule;
  /** `identity` = Codex's released form; `seed` = the Gatehouse-only `[mcp_server_allowlist.NAME]`. */
  form: 'identity' | 'seed';
  source: RequirementSource;
  location: SourceLocation;
  /**
   * Further rules of the same name the server must ALSO satisfy: a user layer over an admin
   * layer may narrow an identity (e.g. add a pin or args), never widen it.
   */
  also?: ServerRule[];
}

/** One allowlist table: present means "restricted"; empty means "deny all". */
export interface ServerRuleSet {
  rules: Map<string, ServerRule>;
  /** The layers that defined this table, lowest first. */
  sources: RequirementSource[];
}

/** An admin setting and the layer that set it (Codex's `Constrained<T>` idea: value + its source). */
export interface SetBy<T> {
  value: T;
  source: RequirementSource;
}

/** `[gatehouse_audit]`: how the audit trail must be kept. Gatehouse-only; Codex ignores it. */
export interface AuditRequirements {
  /** Forward calls whose audit intent could not be written (default false: refuse them). */
  failOpen: SetBy<boolean> | null;
  /** The store every gateway must write to (overrides the user's `--audit`). */
  store: SetBy<string> | null;
  checkpointEveryRecords: SetBy<number> | null;
  checkpointEverySeconds: SetBy<number> | null;
  /** Gateways on one machine hand their records to one appender (default true). */
  sharedAppender: SetBy<boolean> | null;
  /** A file (admin-owned) every signed checkpoint is also appended to: `audit verify --witness`. */
  witness: SetBy<string> | null;
}

export const NO_AUDIT_REQUIREMENTS: AuditRequirements = {
  failOpen: null,
  store: null,
  checkpointEveryRecords: null,
  checkpointEverySeconds: null,
  sharedAppender: null,
  witness: null,
};

export interface Requirements {
  /** Top-level `mcp_servers`; null when no layer has the table (unrestricted). */
  mcpServers: ServerRuleSet | null;
  /** `plugins."<id>".mcp_servers`, by plugin id. */
  plugins: Map<string, ServerRuleSet>;
  audit: AuditRequirements;
  /** `[gatehouse_policy]`: the admin's tool policy. */
  policy: ToolPolicy;
  /** `[gatehouse_schema]`: the tool schema lock and what drift does. */
  schema: SchemaRequirements;
  /** `[gatehouse_masking]`: what is masked in what servers return (on by default). */
  masking: MaskingPolicy;
  /** `[gatehouse_plugins]`: the plugin approval policy (`gatehouse inventory check`). */
  pluginGovernance: PluginGovernance;
  /** `[gatehouse_approvals]`: approver keys and in-band categories (admin-owned layers only). */
  approvals: ApprovalRequirements;
  /** `[gatehouse_http]`: how the HTTP server may be deployed (names, proxies, TLS, limits). */
  http: HttpRequirements;
  /** `[gatehouse_identity]`: who vouches for HTTP callers (admin-owned layers only). */
  identity: IdentitySettings;
  /** `[gatehouse_telemetry]`: OpenTelemetry export (admin-owned layers; `OTEL_*` variables win). */
  telemetry?: TelemetryRequirements;
  /** `[gatehouse_credentials]`: which credential models each server may use. */
  credentials: CredentialRequirements;
}

export const NO_REQUIREMENTS: Requirements = {
  mcpServers: null,
  plugins: new Map(),
  audit: NO_AUDIT_REQUIREMENTS,
  policy: NO_TOOL_POLICY,
  schema: NO_SCHEMA_REQUIREMENTS,
  masking: DEFAULT_MASKING_POLICY,
  pluginGovernance: NO_PLUGIN_GOVERNANCE,
  approvals: NO_APPROVAL_REQUIREMENTS,
  http: NO_HTTP_REQUIREMENTS,
  identity: NO_IDENTITY,
  credentials: NO_CREDENTIAL_REQUIREMENTS,
};
