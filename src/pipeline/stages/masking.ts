import { gatehouseSealedState } from './input-required.js';
import type { MaskCounts } from '../../masking/engine.js';
import { Masker } from '../../masking/engine.js';
import type { BudgetReport } from '../../masking/mask-mcp.js';
import {
  applyResultBudget,
  maskListing,
  maskNode,
  maskResult,
  maskTextContent,
  withRedactionMeta,
} from '../../masking/mask-mcp.js';
import type { MaskingPolicy } from '../../masking/policy.js';
import { maskingExemption, mayReceive, resultBudgetFor } from '../../masking/policy.js';
import { TOKEN_PATTERN, TokenVault } from '../../masking/tokens.js';
import type { GatewayResponse, PipelineContext } from '../context.js';
import { gatehouseError } from '../error-table.js';
import type { Stage } from '../stage.js';
import type { Router } from './resolve-target.js';

/** Results kept within the admin's result budget. */
const BUDGETED_RESULTS: ReadonlySet<string> = new Set([
  'tools/call',
  'resources/read',
  'tasks/result',
]);

/** Results that carry what a server read or produced (task results are tool results). */
const MASKED_RESULTS: ReadonlySet<string> = new Set([
  'tools/call',
  'resources/read',
  'prompts/get',
  'tasks/result',
]);

export interface MaskingStageOptions {
  policy: MaskingPolicy;
  router: Router;
  /** Records the reversible tokens put back into a call's arguments (awaited: fail closed). */
  recordDetokenized?(ctx: PipelineContext, kinds: Record<string, number>): Promise<void>;
}

/**
 * The masking stage, one per client session (its reversible tokens live as long as the
 * session), as two stages. `masking` wraps every stage but the audit: it masks secrets,
 * personal data and the admin's customer fields in every response and error, thrown or
 * answered, whatever the method: content results in their MCP shapes (tokens scoped to the
 * server that sent them), listings and every other result and error generically; then it keeps
 * content results within the admin's result budget. The counts go into the result's `_meta` and
 * the audit record. If masking fails the content is withheld, never passed through.
 * `detokenize`, just before forward, puts back the reversible tokens the target server may
 * receive (every earlier stage saw only tokens); other servers get the token.
 */
export function maskingStage(options: MaskingStageOptions): {
  masking: Stage;
  detokenize: Stage;
} {
  const vault = options.policy.tokens.length > 0 ? new TokenVault() : null;
  const masker = new Masker(options.policy, vault);
  // Listings are not data the agent passes on: no reversible tokens there (a listing gathers
  // several servers' items, so one scope would link their values).
  const listingMasker = vault ? new Masker(options.policy) : masker;
  const detokenize: Stage = {
    name: 'detokenize',
    handle: async function detokenize(ctx, next) {
      if (await putBackTokens(ctx)) await next();
    },
  };
  /** False when the call may not go (the substitution could not be recorded). */
  const putBackTokens = async (ctx: PipelineContext): Promise<boolean> => {
    if (!vault || ctx.request.method !== 'tools/call' || !ctx.target) return true;
    const args = ctx.request.params?.arguments;
    if (args === undefined) return true;
    const kinds: Record<string, number> = {};
    const server = ctx.target.server;
    const restored = restoreTokens(args, (token) => {
      const entry = vault.valueOf(token);
      if (!entry || !mayReceive(options.policy, entry.kind, server)) return null;
      kinds[entry.kind] = (kinds[entry.kind] ?? 0) + 1;
      return entry.value;
    });
    if (Object.keys(kinds).length === 0) return true;
    try {
      await options.recordDetokenized?.(ctx, kinds);
    } catch (err) {
      ctx.response = {
        error: gatehouseError(
          'content_withheld',
          `Gatehouse did not send this call: real values behind reversible tokens are only sent when the substitution is recorded in the audit trail (${err instanceof Error ? err.message : String(err)})`,
        ),
      };
      return false;
    }
    // On top of what an earlier stage already changed (the approval stage's MCP round material).
    ctx.forwardParams = { ...(ctx.forwardParams ?? ctx.request.params), arguments: restored };
    ctx.masking = { counts: {}, exempt: null, withheld: null, detokenized: kinds };
    return true;
  };
  const masking: Stage = {
    name: 'masking',
    handle: async function masking(ctx, next) {
      await next(); // never rejects: a failure inside is an internal error response, masked here
      await maskOnTheWayBack(ctx);
    },
  };
  const maskOnTheWayBack = async (ctx: PipelineContext): Promise<void> => {
    const response = ctx.response;
    if (!response) return;
    const detokenized = ctx.masking?.detokenized ?? {};
    const server = ctx.target?.server ?? null;
    const tool = ctx.target?.tool ?? null;
    const exempt = maskingExemption(options.policy, server, tool);
    const counts: MaskCounts = {};
    let masked = response;
    if (!exempt) {
      try {
        masked = await maskResponse(
          masker.scoped(server ?? ''),
          listingMasker,
          response,
          ctx,
          options,
          counts,
        );
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        ctx.unmaskedResponse = response;
        ctx.response = withheld(ctx.request.method, why);
        ctx.masking = { counts, exempt: null, withheld: why, detokenized };
        return;
      }
    }
    if (Object.keys(counts).length === 0) masked = response;
    // The budget is not masking: it applies to exempt servers too.
    let budget: BudgetReport | null = null;
    if (BUDGETED_RESULTS.has(ctx.request.method) && 'result' in masked) {
      const limit = resultBudgetFor(options.policy, server, tool);
      const where =
        server === null ? 'this result' : tool ? `${server}/${tool}` : `server '${server}'`;
      const cut = applyResultBudget(masked.result, limit, where);
      if (cut) {
        masked = { result: cut.result };
        budget = cut.report;
      }
    }
    if (masked !== response) {
      ctx.unmaskedResponse = response;
      ctx.response = masked;
    }
    if (
      !MASKED_RESULTS.has(ctx.request.method) &&
      !('error' in response) &&
      !budget &&
      Object.keys(counts).length === 0
    )
      return; // a listing with nothing to mask: nothing for the audit to say
    ctx.masking = {
      counts,
      exempt,
      withheld: null,
      detokenized,
      ...(budget ? { budget } : {}),
    };
  };
  return { masking, detokenize };
}

async function maskResponse(
  masker: Masker,
  listingMasker: Masker,
  response: GatewayResponse,
  ctx: PipelineContext,
  options: MaskingStageOptions,
  counts: MaskCounts,
): Promise<GatewayResponse> {
  if ('error' in response) {
    const { code, message, data } = response.error;
    const out = { code, message: maskTextContent(masker, message, counts) };
    return {
      error: data === undefined ? out : { ...out, data: maskNode(masker, data, counts, 0) },
    };
  }
  if (!MASKED_RESULTS.has(ctx.request.method)) {
    const raw = rawToolNames(ctx);
    const listed = maskListing(
      listingMasker,
      ctx.request.method,
      response.result,
      counts,
      raw.names,
    );
    for (const name of listed.withheld) {
      ctx.hiddenTools.push({
        server: raw.servers.get(name) ?? ctx.target?.server ?? '*',
        tool: listingMasker.maskText(raw.names.get(name) ?? name, {}, { json: false }),
        reason: 'its name holds a secret or personal data: withheld by masking',
      });
    }
    return { result: withRedactionMeta(listed.result, counts) };
  }
  const tool = ctx.request.method === 'tools/call' ? ctx.target : null;
  const schema = tool?.tool
    ? await options.router.toolOutputSchema(tool.server, tool.tool)
    : undefined;
  // Gatehouse's own sealed requestState is not server output: kept out of the walk, put back.
  const sealed = gatehouseSealedState(response.result);
  const { requestState: _sealed, ...rest } = response.result;
  const result = maskResult(masker, sealed === undefined ? response.result : rest, schema, counts);
  return {
    result: withRedactionMeta(
      sealed === undefined ? result : { ...result, requestState: sealed },
      counts,
    ),
  };
}

/** For tools/list: each listed name → the server's own name and its server, when they differ. */
function rawToolNames(ctx: PipelineContext): {
  names: Map<string, string>;
  servers: Map<string, string>;
} {
  // Routed once, where the listing was decided (policy.ts visibleTools); never routed again here.
  const names = new Map<string, string>();
  const servers = new Map<string, string>();
  for (const [shown, route] of ctx.listedRoutes) {
    servers.set(shown, route.server);
    if (route.tool !== shown) names.set(shown, route.tool);
  }
  return { names, servers };
}

/** What the client gets instead of content that could not be masked. */
function withheld(method: string, why: string): GatewayResponse {
  const message = `Gatehouse withheld this ${method} result because it could not be masked safely (${why}). Nothing from it was passed on. Ask an admin to check the server's output, or to exempt this tool in [gatehouse_masking] if its output is known to be safe.`;
  if (method === 'tools/call') {
    return { result: { content: [{ type: 'text', text: message }], isError: true } };
  }
  return { error: gatehouseError('content_withheld', message) };
}

/** Replaces the tokens `valueFor` knows inside every string of a JSON value. */
export function restoreTokens(
  value: unknown,
  valueFor: (token: string) => string | null,
  depth = 0,
): unknown {
  if (typeof value === 'string') {
    if (!value.includes('⟦')) return value;
    return value.replace(TOKEN_PATTERN, (token) => valueFor(token) ?? token);
  }
  if (depth > 128) return value; // tokens this deep stay tokens
  if (Array.isArray(value)) return value.map((v) => restoreTokens(v, valueFor, depth + 1));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = restoreTokens(v, valueFor, depth + 1);
    }
    return out;
  }
  return value;
}
