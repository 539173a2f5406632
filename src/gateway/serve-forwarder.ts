import type { GatewayResponse, PipelineContext } from '../pipeline/context.js';
import type { Forwarder } from '../pipeline/stages/index.js';
import { gatehouseError } from '../pipeline/error-table.js';
import type { Catalog, ServedUpstream } from './catalog.js';
import { reconnectCheck } from './catalog.js';
import type { InputRelayOptions, RequestScope } from './upstream-forwarder.js';
import { upstreamForwarder } from './upstream-forwarder.js';
import { toWireError } from './wire.js';

/**
 * The `forward` stage for `gatehouse serve`: lists are gathered from every ready server and
 * named by the catalog; a request resolve-target routed to one server goes there (the forward
 * stage already put the server's own names in its params). Routing is resolve-target's
 * (catalog-router.ts); this only sends.
 */
export function serveForwarder(
  catalog: Catalog,
  upstreams: () => readonly ServedUpstream[],
  scopes: ReadonlyMap<string | number, RequestScope>,
  toolTimeoutMs: (u: ServedUpstream) => number,
  /** How modern servers' input requests reach a legacy client (masked like the Relay's). */
  input: InputRelayOptions = {},
): Forwarder {
  const to = (
    server: string,
    ctx: PipelineContext,
    params: Record<string, unknown> | undefined,
  ): Promise<GatewayResponse> => {
    const u = upstreams().find((x) => x.config.name === server);
    if (!u)
      return Promise.resolve({
        error: gatehouseError('server_unavailable', `server '${server}' is not running`),
      });
    return upstreamForwarder(
      () => u.upstream,
      scopes,
      toolTimeoutMs(u),
      server,
      u.reinitialize,
      reconnectCheck(catalog),
      input,
    ).forward({
      ...ctx,
      request: { ...ctx.request, params },
    });
  };

  const list = async (
    read: () => Promise<Record<string, unknown>[]>,
    key: string,
  ): Promise<GatewayResponse> => {
    try {
      return { result: { [key]: await read() } };
    } catch (err) {
      return { error: toWireError(err) };
    }
  };

  return {
    async forward(ctx): Promise<GatewayResponse> {
      const params = ctx.request.params ?? {};
      switch (ctx.request.method) {
        case 'tasks/list': {
          const lists = await Promise.all(
            upstreams()
              .filter((u) => u.upstream.capabilities.tasks)
              .map((u) => to(u.config.name, ctx, {})),
          );
          const tasks = lists.flatMap((r) =>
            'result' in r && Array.isArray(r.result.tasks) ? r.result.tasks : [],
          );
          return { result: { tasks } };
        }
        case 'tools/list':
          return list(() => catalog.listTools(), 'tools');
        case 'prompts/list':
          return list(() => catalog.listPrompts(), 'prompts');
        case 'resources/list':
          return list(() => catalog.listResources(), 'resources');
        case 'resources/templates/list':
          return list(() => catalog.listResourceTemplates(), 'resourceTemplates');
        case 'logging/setLevel': {
          await Promise.all(
            upstreams()
              .filter((u) => u.upstream.capabilities.logging)
              .map((u) => to(u.config.name, ctx, params)),
          );
          return { result: {} };
        }
        default: {
          // resolve-target routed it to one server, or refused it; anything else has no owner.
          const target = ctx.target;
          if (!target)
            return {
              error: gatehouseError(
                'method_not_found',
                `Method not found: gatehouse serve cannot route ${ctx.request.method} to one server`,
              ),
            };
          const response = await to(target.server, ctx, ctx.request.params);
          const taskId =
            'result' in response
              ? (response.result.task as { taskId?: unknown } | undefined)?.taskId
              : undefined;
          if (typeof taskId === 'string') catalog.rememberTask(taskId, target.server);
          return response;
        }
      }
    },
  };
}
