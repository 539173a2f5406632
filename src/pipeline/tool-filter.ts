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

/** What a tool guard says about a call: refuse it, or let it go on only with a human approval. */
export interface ToolGate {
  action: 'refuse' | 'needs_approval';
  rule: string;
  /** The client's error message: what changed and how to accept it. */
  message: string;
}

/**
 * A per-tool check beyond the allowlists (the schema lock), on the definitions of the checked
 * listing (the gateway's catalog): whether a listed tool is hidden, whether a call to it may go
 * on, and what the lock says the tool is. It never lists tools itself, so list, call and policy
 * all see the same definitions.
 */
export interface ToolGuard {
  /** Why this live tool definition is hidden from tools/list, or null (drift is reported here). */
  hiddenReason(server: string, tool: Record<string, unknown>): string | null;
  /** What a call to the tool, as the checked listing defines it, needs; null: it may go on. */
  gate(server: string, definition: Record<string, unknown>): ToolGate | null;
  /** The tool's definition in the lock (the trust anchor for its annotations), or null. */
  lockedDefinition(server: string, tool: string): Record<string, unknown> | null;
}

/** A tool an upstream offers that the client does not see, and why. */
export interface HiddenTool {
  server: string;
  tool: string;
  reason: string;
}
