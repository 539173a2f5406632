import type { McpServerConfig } from '../config/mcp-server.js';
import type { Router } from '../pipeline/stages/index.js';
import { hiddenToolReason, isToolExposed } from '../pipeline/tool-filter.js';
import type { HiddenTool, ToolGuard } from '../pipeline/tool-filter.js';
import { annotationsOf } from '../policy/model.js';
import type { ToolAnnotations } from '../policy/model.js';

/** `gatehouse run`: one server, tools under their original names, its tool allowlists applied. */
export function singleServerRouter(
  server: McpServerConfig,
  /** Lists the upstream's tools (for a call to a tool the client has not listed yet). */
  listTools: () => Promise<readonly unknown[]>,
  /** The schema lock's check, when the gateway enforces one. */
  guard?: ToolGuard,
): Router {
  const filter = { enabledTools: server.enabledTools, disabledTools: server.disabledTools };
  const annotations = new Map<string, ToolAnnotations | null>();
  const outputSchemas = new Map<string, unknown>();
  const remember = (tools: readonly unknown[]) => {
    annotations.clear();
    outputSchemas.clear();
    for (const t of tools) {
      const name = (t as { name?: unknown } | null)?.name;
      if (typeof name === 'string') {
        annotations.set(name, annotationsOf(t));
        outputSchemas.set(name, (t as { outputSchema?: unknown }).outputSchema);
      }
    }
  };
  return {
    toolAnnotations: async (_server, tool) => {
      if (!annotations.has(tool)) remember(await listTools().catch(() => []));
      return annotations.get(tool) ?? null;
    },
    toolOutputSchema: async (_server, tool) => {
      if (!outputSchemas.has(tool)) remember(await listTools().catch(() => []));
      return outputSchemas.get(tool);
    },
    defaultServer: () => server.name,
    ...(guard ? { toolGate: (s: string, tool: string) => guard.gate(s, tool) } : {}),
    resolveTool: (name) =>
      isToolExposed(name, filter) ? { server: server.name, tool: name } : null,
    exposeTools: (tools) => {
      remember(tools);
      const hidden: HiddenTool[] = [];
      const exposed = tools.filter((tool) => {
        const name = (tool as { name?: unknown } | null)?.name;
        if (typeof name !== 'string') return false;
        const reason =
          hiddenToolReason(name, filter) ??
          guard?.hiddenReason(server.name, tool as Record<string, unknown>) ??
          null;
        if (reason) hidden.push({ server: server.name, tool: name, reason });
        return reason === null;
      });
      return { tools: exposed, hidden };
    },
  };
}
