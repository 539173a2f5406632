import type { GatewayResponse, PipelineContext } from '../pipeline/context.js';
import type { Forwarder } from '../pipeline/stages/index.js';
import { INVALID_PARAMS } from '../pipeline/stages/resolve-target.js';
import type { Catalog, ServedUpstream } from './catalog.js';
import type { RequestScope } from './upstream-forwarder.js';
import { upstreamForwarder } from './upstream-forwarder.js';

/**
 * A resource that no server offers: -32602, as the 2026-07-28 spec requires on every revision
 * (the v2 SDK maps -32002 to -32602 on the way out anyway; clients accept both).
 */
export const RESOURCE_NOT_FOUND = -32602;
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
 * named by the catalog; a call, prompt or resource goes to the one server it belongs to, with
 * the exposed name turned back into the raw one.
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
    ).forward({
      ...ctx,
      request: { ...ctx.request, params },
    });
  };
  const byUri = async (ctx: PipelineContext, uri: unknown): Promise<GatewayResponse> => {
    const server = typeof uri === 'string' ? await catalog.serverForUri(uri) : null;
    if (!server)
      return { error: { code: RESOURCE_NOT_FOUND, message: `Resource not found: ${String(uri)}` } };
    return to(server, ctx, ctx.request.params);
  };
  const byPrompt = async (
    ctx: PipelineContext,
    name: unknown,
    rewrite: (raw: string) => Record<string, unknown>,
  ): Promise<GatewayResponse> => {
    const ref = typeof name === 'string' ? await catalog.resolvePrompt(name) : null;
    if (!ref)
      return { error: { code: INVALID_PARAMS, message: `Unknown prompt: ${String(name)}` } };
    return to(ref.server, ctx, rewrite(ref.tool));
  };

  /** Task ids are per server: remember which server created each task (CreateTaskResult). */
  const taskServers = new Map<string, string>();
  const rememberTask = (server: string, response: GatewayResponse): GatewayResponse => {
    const taskId =
      'result' in response
        ? (response.result.task as { taskId?: unknown } | undefined)?.taskId
        : undefined;
    if (typeof taskId === 'string') taskServers.set(taskId, server);
    return response;
  };

  return {
    async forward(ctx): Promise<GatewayResponse> {
      const params = ctx.request.params ?? {};
      switch (ctx.request.method) {
        case 'tasks/get':
        case 'tasks/result':
        case 'tasks/cancel': {
          const server =
            typeof params.taskId === 'string' ? taskServers.get(params.taskId) : undefined;
          if (!server)
            return {
              error: { code: INVALID_PARAMS, message: `Unknown task: ${String(params.taskId)}` },
            };
          return to(server, ctx, params);
        }
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
          return { result: { tools: await catalog.listTools() } };
        case 'tools/call': {
          const target = ctx.target;
          if (!target?.tool)
            return {
              error: { code: INVALID_PARAMS, message: `Unknown tool: ${String(params.name)}` },
            };
          return rememberTask(
            target.server,
            await to(target.server, ctx, { ...params, name: target.tool }),
          );
        }
        case 'prompts/list':
          return { result: { prompts: await catalog.listPrompts() } };
        case 'prompts/get':
          return byPrompt(ctx, params.name, (raw) => ({ ...params, name: raw }));
        case 'resources/list':
          return { result: { resources: await catalog.listResources() } };
        case 'resources/templates/list':
          return { result: { resourceTemplates: await catalog.listResourceTemplates() } };
        case 'resources/read':
        case 'resources/subscribe':
        case 'resources/unsubscribe':
          return byUri(ctx, params.uri);
        case 'completion/complete': {
          const ref = params.ref as { type?: unknown; name?: unknown; uri?: unknown } | undefined;
          if (ref?.type === 'ref/prompt')
            return byPrompt(ctx, ref.name, (raw) => ({ ...params, ref: { ...ref, name: raw } }));
          return byUri(ctx, ref?.uri);
        }
        case 'logging/setLevel': {
          await Promise.all(
            upstreams()
              .filter((u) => u.upstream.capabilities.logging)
              .map((u) => to(u.config.name, ctx, params)),
          );
          return { result: {} };
        }
        default:
          return {
            error: {
              code: METHOD_NOT_FOUND,
              message: `Method not found: gatehouse serve cannot route ${ctx.request.method} to one server`,
            },
          };
      }
    },
  };
}
