import type { McpServerConfig } from '../config/mcp-server.js';
import type { Router } from '../pipeline/stages/index.js';
import { hiddenToolReason, isToolExposed } from '../pipeline/tool-filter.js';
import type { HiddenTool } from '../pipeline/tool-filter.js';

/** `gatehouse run`: one server, tools under their original names, its tool allowlists applied. */
export function singleServerRouter(server: McpServerConfig): Router {
  const filter = { enabledTools: server.enabledTools, disabledTools: server.disabledTools };
  return {
    defaultServer: () => server.name,
    resolveTool: (name) =>
      isToolExposed(name, filter) ? { server: server.name, tool: name } : null,
    exposeTools: (tools) => {
      const hidden: HiddenTool[] = [];
      const exposed = tools.filter((tool) => {
        const name = (tool as { name?: unknown } | null)?.name;
        if (typeof name !== 'string') return false;
        const reason = hiddenToolReason(name, filter);
        if (reason) hidden.push({ server: server.name, tool: name, reason });
        return reason === null;
      });
      return { tools: exposed, hidden };
    },
  };
}
