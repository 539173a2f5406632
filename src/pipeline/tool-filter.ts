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
  if (filter.enabledTools && !filter.enabledTools.includes(name)) return false;
  if (filter.disabledTools && filter.disabledTools.includes(name)) return false;
  return true;
}
