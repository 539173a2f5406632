import type { RequestRoute, Router, ToolRoute } from '../pipeline/stages/index.js';
import type { ErrorKind } from '../pipeline/error-table.js';
import type { Catalog } from './catalog.js';
import { sanitizeName } from './tool-names.js';

/**
 * `serve`: servers left out of this session because they take each caller's own grant and this
 * caller has none yet (server → the message that says how to log in). Their tools are not listed,
 * but a name in their namespace is answered with that message, not "Unknown tool".
 */
export type WaitingForLogin = ReadonlyMap<string, string>;

/** The waiting server whose namespace (`SERVER__…`) a tool or prompt name is in, if any. */
function waitingOwner(waiting: WaitingForLogin, exposed: string): [string, string] | null {
  for (const entry of waiting) if (exposed.startsWith(`${sanitizeName(entry[0])}__`)) return entry;
  return null;
}

function loginRoute(waiting: WaitingForLogin, exposed: string): ToolRoute {
  const owner = waitingOwner(waiting, exposed);
  return owner
    ? { server: owner[0], refusal: owner[1], kind: 'login_required', rule: 'login_required' }
    : null;
}

/**
 * The one router both gateway modes use: tools are routed only to names of the catalog's checked
 * listing, the policy's annotations and masking's outputSchema come from that same listing, and
 * the schema lock is checked against it. `run` names one server (`single`): every other request
 * goes to it. `serve` routes prompts, resources, completions and tasks to the one server that
 * owns them, or refuses (an unknown name, or a URI several servers offer).
 */
export function catalogRouter(
  catalog: Catalog,
  single: string | null,
  waiting: WaitingForLogin = new Map(),
): Router {
  return {
    defaultServer: () => single,
    ...(single === null
      ? {
          resolveRequest: (m, p) => routeRequest(catalog, waiting, m, p ?? {}),
          serversOfListed: (m, item) => catalog.serversOfListed(m, item),
        }
      : {}),
    resolveTool: async (name) => (await catalog.resolveTool(name)) ?? loginRoute(waiting, name),
    exposeTools: (tools) => ({ tools: [...tools], hidden: catalog.hiddenTools }),
    toolAnnotations: (server, tool) => Promise.resolve(catalog.toolAnnotations(server, tool)),
    toolOutputSchema: (server, tool) => Promise.resolve(catalog.toolOutputSchema(server, tool)),
    toolGate: (server, tool) => Promise.resolve(catalog.toolGate(server, tool)),
  };
}

const refuse = (kind: ErrorKind, rule: string, message: string): RequestRoute => ({
  refusal: { kind, rule, message },
});

async function byUri(
  catalog: Catalog,
  waiting: WaitingForLogin,
  uri: unknown,
  method: string,
): Promise<RequestRoute> {
  const route = typeof uri === 'string' ? await catalog.serverForUri(uri) : null;
  if (!route)
    // A resource nobody offers is −32602, as the 2026-07-28 spec requires on every revision. A
    // URI names no server, so a server waiting for a login is only mentioned, never assumed.
    return refuse(
      'unknown_target',
      'unknown_resource',
      `Resource not found: ${String(uri)}${
        waiting.size > 0
          ? ` (not listed until you log in: ${[...waiting.keys()].join(', ')}; see notifications)`
          : ''
      }`,
    );
  if ('ambiguous' in route)
    return refuse(
      'unknown_target',
      'ambiguous_resource',
      `Gatehouse refused ${method} of ${String(uri)}: the URI is offered by several servers (${route.ambiguous.join(', ')}), so it cannot be routed safely; ask an admin to disable the resource on all but one of them`,
    );
  return { target: { server: route.server, tool: null } };
}

async function byPrompt(
  catalog: Catalog,
  waiting: WaitingForLogin,
  name: unknown,
): Promise<RequestRoute> {
  const ref = typeof name === 'string' ? await catalog.resolvePrompt(name) : null;
  const owner = !ref && typeof name === 'string' ? waitingOwner(waiting, name) : null;
  if (owner) return refuse('login_required', 'login_required', owner[1]);
  if (!ref) return refuse('unknown_target', 'unknown_prompt', `Unknown prompt: ${String(name)}`);
  return { target: { server: ref.server, tool: null, prompt: ref.tool } };
}

/** `serve`: the one server a request other than tools/call belongs to (null: none, gathered from all). */
async function routeRequest(
  catalog: Catalog,
  waiting: WaitingForLogin,
  method: string,
  params: Record<string, unknown>,
): Promise<RequestRoute> {
  switch (method) {
    case 'prompts/get':
      return byPrompt(catalog, waiting, params.name);
    case 'resources/read':
    case 'resources/subscribe':
    case 'resources/unsubscribe':
      return byUri(catalog, waiting, params.uri, method);
    case 'completion/complete': {
      const ref = params.ref as { type?: unknown; name?: unknown; uri?: unknown } | undefined;
      return ref?.type === 'ref/prompt'
        ? byPrompt(catalog, waiting, ref.name)
        : byUri(catalog, waiting, ref?.uri, method);
    }
    case 'tasks/get':
    case 'tasks/result':
    case 'tasks/cancel': {
      const server = typeof params.taskId === 'string' ? catalog.taskServer(params.taskId) : null;
      if (!server)
        return refuse('unknown_target', 'unknown_task', `Unknown task: ${String(params.taskId)}`);
      return { target: { server, tool: null } };
    }
    default:
      return null;
  }
}
