/**
 * Top-level keys of Codex 0.169's `ConfigRequirementsToml` (46 fields; read from the binary's
 * serde field table) plus Gatehouse's own. Anything else is probably a typo: Codex ignores it
 * silently, Gatehouse warns.
 */
export const CODEX_REQUIREMENT_KEYS: readonly string[] = [
  'mcp_servers',
  'plugins',
  'marketplaces',
  'apps',
  'hooks',
  'allow_managed_hooks_only',
  'otel',
  'rules',
  'permissions',
  'experimental_network',
  'network',
  'features',
  'enforce_residency',
  'auto_review',
  'config_server',
  'allowed_login_methods',
  'allowed_chatgpt_workspaces',
  'unsafe_enforce_sqlite_journal_mode',
  'allowed_approval_policies',
  'allowed_approvals_reviewers',
  'allowed_sandbox_modes',
  'allowed_permission_profiles',
  'remote_sandbox_config',
  'allowed_web_search_modes',
  'allow_browser_and_computer_use',
  'allow_appshots',
  'allow_remote_control',
  'additional_developer_instructions',
  'guardian_policy_config',
  'guardian_extra_policy',
  'models',
  'new_thread',
  'windows',
  'filesystem',
  'application',
  'in_app_browser',
  'browser_use',
  'computer_use',
  'managed_dir',
  'windows_managed_dir',
];

/** Gatehouse-only top-level keys. */
export const GATEHOUSE_REQUIREMENT_KEYS: readonly string[] = [
  'mcp_server_allowlist',
  'gatehouse_audit',
  'gatehouse_policy',
  'gatehouse_schema',
  'gatehouse_masking',
  'gatehouse_plugins',
  'gatehouse_approvals',
  'gatehouse_http',
  'gatehouse_identity',
  'gatehouse_scopes',
  'gatehouse_telemetry',
  'gatehouse_credentials',
];

export const KNOWN_REQUIREMENT_KEYS: readonly string[] = [
  ...CODEX_REQUIREMENT_KEYS,
  ...GATEHOUSE_REQUIREMENT_KEYS,
];

/** Keys that look like ours but are not: each gets a specific explanation. */
export const LEGACY_REQUIREMENT_KEYS: Record<string, string> = {
  mcp_server_requirements:
    'pre-release name of `mcp_servers` (renamed before Codex shipped it); released Codex ignores it, so it enforces nothing. Rename the table to `mcp_servers`.',
};
