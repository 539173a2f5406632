/**
 * Codex's per-server tool allowlists, on raw MCP tool names: `enabled_tools` first (when set,
 * only those), then `disabled_tools` removes. The same rule decides what `tools/list` shows and
 * what `tools/call` accepts, so a hidden tool cannot be called by name.
 */
export interface ToolFilter {
  enabledTools: readonly string[] | null;
  disabledTools: readonly string[] | null;
}

export function isToolExposed(name: string, filter: ToolFilter): boolean {
  return hiddenToolReason(name, filter) === null;
}

/** Why a tool is hidden (for the audit trail), or null when it is exposed. */
export function hiddenToolReason(name: string, filter: ToolFilter): string | null {
  if (filter.enabledTools && !filter.enabledTools.includes(name)) return 'not in enabled_tools';
  if (filter.disabledTools && filter.disabledTools.includes(name)) return 'in disabled_tools';
  return null;
}

/** A tool an upstream offers that the client does not see, and why. */
export interface HiddenTool {
  server: string;
  tool: string;
  reason: string;
}
