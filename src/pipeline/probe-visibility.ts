import { userInfo } from 'node:os';
import type { McpServerConfig } from '../config/mcp-server.js';
import type { ScopeCaller } from '../policy/scope.js';
import { NOBODY } from '../policy/scope.js';
import { annotationsOf } from '../policy/model.js';
import type { PolicySettings } from './stages/policy.js';
import { visibleTools } from './stages/policy.js';
import type { Router } from './stages/resolve-target.js';
import type { HiddenTool } from './tool-filter.js';
import { hiddenToolReason } from './tool-filter.js';

/**
 * What a caller would see of a server's live listing (`mcp list --probe`): the same
 * `visibleTools` the gateway's tools/list uses, over a router of that one listing (the tool
 * allowlists, then the policy on the live annotations). The schema lock is not consulted here.
 */
export async function probedVisibility(
  server: McpServerConfig,
  tools: readonly Record<string, unknown>[],
  settings: PolicySettings,
  /** Whose view: by default the local OS user's (as a stdio gateway would see them). */
  caller: ScopeCaller = localUser(),
): Promise<{ exposed: number; hidden: HiddenTool[] }> {
  const byName = new Map(tools.map((t) => [String(t.name), t]));
  const filter = { enabledTools: server.enabledTools, disabledTools: server.disabledTools };
  const allowlisted = (name: string) => hiddenToolReason(name, filter) === null;
  const router: Router = {
    defaultServer: () => server.name,
    resolveTool: (name) => (allowlisted(name) ? { server: server.name, tool: name } : null),
    toolAnnotations: async (_server, tool) => annotationsOf(byName.get(tool)),
    toolOutputSchema: async () => undefined,
    exposeTools: (listed) => {
      const kept: unknown[] = [];
      const hidden: HiddenTool[] = [];
      for (const t of listed) {
        const name = String((t as { name?: unknown }).name);
        const reason = hiddenToolReason(name, filter);
        if (reason) hidden.push({ server: server.name, tool: name, reason });
        else kept.push(t);
      }
      return { tools: kept, hidden };
    },
  };
  const seen = await visibleTools(tools, router, settings, caller);
  return { exposed: seen.tools.length, hidden: seen.hidden };
}

/** The local OS user as a scope caller (`os:NAME`); nobody when the user cannot be read. */
function localUser(): ScopeCaller {
  try {
    return { principal: `os:${userInfo().username}`, groups: [] };
  } catch {
    return NOBODY;
  }
}
