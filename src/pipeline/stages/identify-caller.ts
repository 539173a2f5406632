import { userInfo } from 'node:os';
import type { Caller, PipelineContext } from '../context.js';
import type { Stage } from '../stage.js';

/**
 * Who is calling. Thread ids come from the request's `_meta` — Codex sends
 * `x-codex-turn-metadata: { thread_id, parent_thread_id?, … }`; generic clients may send
 * `threadId` / `parentThreadId` — or, over HTTP, from `x-thread-id` / `x-parent-thread-id`.
 */
export function readCaller(ctx: PipelineContext, osUser: string | null): Caller {
  const meta = asRecord(ctx.request.params?._meta);
  const codex = asRecord(meta?.['x-codex-turn-metadata']);
  const headers = ctx.connection.headers;
  return {
    osUser: ctx.connection.transport === 'stdio' ? osUser : null,
    tokenSubject: ctx.connection.authSubject,
    ...(ctx.connection.identity ? { identity: ctx.connection.identity } : {}),
    client: ctx.connection.clientInfo,
    threadId: str(codex?.thread_id) ?? str(meta?.threadId) ?? str(headers['x-thread-id']),
    parentThreadId:
      str(codex?.parent_thread_id) ??
      str(meta?.parentThreadId) ??
      str(headers['x-parent-thread-id']),
  };
}

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

export function identifyCaller(): Stage {
  let osUser: string | null = null;
  try {
    osUser = userInfo().username;
  } catch {
    osUser = null;
  }
  return {
    name: 'identify-caller',
    handle: async function identifyCaller(ctx, next) {
      ctx.caller = readCaller(ctx, osUser);
      await next();
    },
  };
}
