import type { GatewayResponse, PipelineContext } from '../pipeline/context.js';
import type { Forwarder } from '../pipeline/stages/index.js';
import { INVALID_PARAMS } from '../pipeline/stages/resolve-target.js';
import type { Catalog, ServedUpstream } from './catalog.js';
import { reconnectCheck } from './catalog.js';
import type { RequestScope } from './upstream-forwarder.js';
import { upstreamForwarder } from './upstream-forwarder.js';
import { toWireError } from './wire.js';

export { RESOURCE_NOT_FOUND } from './catalog-router.js';
const METHOD_NOT_FOUND = -32601;

/** Requests routed to exactly one server (not gathered from several). */
const ONE_SERVER: ReadonlySet<string> = new Set([
  'resources/read',
  'resources/subscribe',
  'resources/unsubscribe',
  'prompts/get',
  'completion/complete',
  'tasks/get',
  'tasks/result',
  'tasks/cancel',
]);

/**
 * The `forward` stage for `gatehouse serve`: lists are gathered from every ready server and
 * named by the catalog; a request resolve-target routed to one server goes there, with the
 * exposed name turned back into the raw one. Routing itself is resolve-target's (catalog-router.ts).
 */
export function serveForwarder(
  catalog: Catalog,
  upstreams: () => readonly ServedUpstream[],
  scopes: ReadonlyMap<string | number, RequestScope>,
  toolTimeoutMs: (u: ServedUpstream) => number,
): Forwarder {
  const to = (
    server: string,
    ctx: PipelineContext,
    params: Record<string, unknown> | undefined,
  ): Promise<GatewayResponse> => {
    // The one server this request went to: masking scopes its tokens and exemptions by it.
    if (!ctx.target && ONE_SERVER.has(ctx.request.method)) ctx.target = { server, tool: null };
    const u = upstreams().find((x) => x.config.name === server);
    if (!u)
      return Promise.resolve({
        error: { code: INVALID_PARAMS, message: `server '${server}' is not running` },
      });
    return upstreamForwarder(
      () => u.upstream,
      scopes,
      toolTimeoutMs(u),
      server,
      u.reinitialize,
      reconnectCheck(catalog),
    ).forward({
      ...ctx,
      request: { ...ctx.request, params },
    });
  };

  /** The params as the target server names things (its raw tool or prompt name). */
  const rawParams = (ctx: PipelineContext): Record<string, unknown> => {
    const params = ctx.request.params ?? {};
    const target = ctx.target;
    if (ctx.request.method === 'tools/call' && target?.tool)
      return { ...params, name: target.tool };
    if (ctx.request.method === 'prompts/get' && target?.prompt !== undefined)
      return { ...params, name: target.prompt };
    if (ctx.request.method === 'completion/complete' && target?.prompt !== undefined)
      return { ...params, ref: { ...(params.ref as object), name: target.prompt } };
    return params;
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
              error: {
                code: METHOD_NOT_FOUND,
                message: `Method not found: gatehouse serve cannot route ${ctx.request.method} to one server`,
              },
            };
          const response = await to(target.server, ctx, rawParams(ctx));
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
