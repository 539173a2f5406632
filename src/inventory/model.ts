/**
 * One inventory of everything that can reach an agent on a machine: MCP servers (from every
 * config layer and from plugins), plugins and marketplaces. Plain data, snake_case where it is
 * printed: `gatehouse inventory --json` prints exactly this (see docs/cli.md), so fields are
 * only ever added, and `schema_version` changes when one changes meaning.
 */
export const INVENTORY_SCHEMA_VERSION = 1;

export type Risk = 'violation' | 'review' | 'ok';

/** A server's transport identity, secrets masked (the same masking as `mcp list`). */
export type ServerIdentity = { command: string; args: string[] } | { url: string };

export interface InventoryServer {
  name: string;
  /** Where it was defined: `gatehouse`, `codex`, `codex_layer`, `config_flag`, `mcp_json`, `plugin`. */
  origin: { kind: string; file: string; line: number | null };
  plugin_id: string | null;
  transport: 'stdio' | 'streamable_http';
  /** Reached over the network (streamable HTTP) rather than started on this machine. */
  remote: boolean;
  identity: ServerIdentity;
  enabled: boolean;
  /** `enabled`, `disabled`, or `disabled: requirements (<source>)`, as `mcp list` shows it. */
  status: string;
  disabled_reason_code: string | null;
  /** The requirements rule that allows it (`[mcp_servers.NAME]` or a plugin-scoped one), if any. */
  allowed_by: string | null;
  /** Client entries that start it through the gateway (`gatehouse run NAME`); absent: none. */
  wrapped_by?: { kind: string; file: string; line: number | null }[];
  /** Whose credential reaches it (`service`, `user`, `exchange`, `none`): when declared or refused. */
  credential_model?: string;
  /** Why its credential model breaks `[gatehouse_credentials]` (a violation), when it does. */
  credential_violation?: string;
}

export interface InventoryHook {
  /** The event as the hooks file names it (`PreToolUse`, `pre_tool_use`, …). */
  event: string;
  matcher: string | null;
  /** `command` hooks: what runs (masked). */
  command: string | null;
  type: string;
  file: string;
}

export interface InventorySkill {
  name: string;
  path: string;
}

export interface PluginServer {
  name: string;
  transport: 'stdio' | 'streamable_http';
  remote: boolean;
  identity: ServerIdentity;
  /** Whether the server requirements allow it (the same decision `mcp list` makes). */
  allowed: boolean;
  allowed_by: string | null;
  disabled_reason_code: string | null;
}

export interface MarketplaceSource {
  /** `local`, `git`, or what Codex reported. */
  source_type: string;
  /** A directory (local) or a URL / `owner/repo` (git), as Codex reports it. */
  source: string;
}

export interface InventoryMarketplace {
  name: string;
  root: string | null;
  marketplace_source: MarketplaceSource | null;
  /** The marketplace manifest read on disk, when there was one. */
  manifest: string | null;
  manifest_problems: ManifestProblem[];
}

export interface ManifestProblem {
  kind: 'escape' | 'unreadable' | 'invalid';
  file: string;
  message: string;
}

export interface InventoryPlugin {
  id: string;
  name: string;
  marketplace: string;
  version: string | null;
  installed: boolean;
  enabled: boolean;
  /** Codex's `source` object, verbatim (`{source: "local", path}` …). */
  source: unknown;
  marketplace_source: MarketplaceSource | null;
  install_policy: string | null;
  auth_policy: string | null;
  /** The plugin directory whose manifest was read (installed copy first, else the source). */
  root: string | null;
  manifest: string | null;
  /** False when something its manifest declares could not be read (or was refused): lists may be short. */
  contents_known: boolean;
  /** Manifest problems: unreadable, malformed, or a path escaping the plugin directory. */
  manifest_problems: ManifestProblem[];
  hooks: InventoryHook[];
  mcp_servers: PluginServer[];
  skills: InventorySkill[];
}

/** Something that could not be read; the rest of the inventory is still reported. */
export interface InventoryNotice {
  severity: 'error' | 'warning' | 'info';
  subject: string;
  message: string;
  file: string | null;
}

export interface InventorySources {
  /** How plugins and marketplaces were read. */
  plugins: 'codex_cli' | 'saved' | 'disk';
  codex_binary: string | null;
  codex_home: string;
  saved_dir: string | null;
  config: { kind: string; file: string; status: string }[];
}

export interface Inventory {
  schema_version: number;
  sources: InventorySources;
  servers: InventoryServer[];
  marketplaces: InventoryMarketplace[];
  plugins: InventoryPlugin[];
  notices: InventoryNotice[];
}

export type FindingSeverity = 'error' | 'warning' | 'info';

/** One policy finding: which rule, about what, how bad, and what to do. */
export interface Finding {
  rule: string;
  severity: FindingSeverity;
  subject: { kind: 'plugin' | 'marketplace' | 'server' | 'requirements' | 'inventory'; id: string };
  message: string;
  fix: string;
}
