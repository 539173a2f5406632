import type { SecretRef } from '../credentials/model.js';
import type { RequirementSource } from '../requirements/model.js';
import type { Audience, ScopeSettings } from './scope.js';

/** What a tool does, as the admin classifies it (overriding what the server declares). */
export const EFFECTS = ['read', 'write', 'side_effect', 'destructive'] as const;
export type Effect = (typeof EFFECTS)[number];

/** Risk categories that always need a human's approval, whatever else is configured. */
export const HUMAN_APPROVAL_CATEGORIES = [
  'money',
  'permissions',
  'customer_records',
  'production_state',
] as const;

/** How much approval a call needs, weakest first. */
export const APPROVAL_LEVELS = ['never', 'prompt', 'always', 'two_person'] as const;
export type ApprovalLevel = (typeof APPROVAL_LEVELS)[number];

/** `[gatehouse_policy.tools."SERVER/TOOL"]`: one admin rule; both halves may be globs (`*`, `?`). */
export interface ToolRule {
  /** The table key as written, e.g. `payments/*`. */
  key: string;
  server: string;
  tool: string;
  allow: boolean | null;
  effect: Effect | null;
  category: string | null;
  approval: ApprovalLevel | null;
  /**
   * `subjects` / `groups`: who the rule is for. It applies only to callers in this audience, and
   * a tool matched by rules with audiences is out of scope for callers in none of them. null: all.
   */
  audience?: Audience | null;
  source: RequirementSource;
}

/** The admin's tool policy, all layers composed. */
export interface ToolPolicy {
  /** Only `read` tools are exposed and callable. */
  readOnly: boolean;
  readOnlySource: RequirementSource | null;
  /** Categories the admin named beyond the built-in ones. */
  categories: string[];
  rules: ToolRule[];
  /**
   * Rules from layers that may only tighten the admin's (a user layer over an admin file): they
   * can deny, classify riskier, name a category or raise an approval, never relax a rule above.
   * Decided alongside `rules`, strictest field by field.
   */
  tighteningRules?: ToolRule[];
  /**
   * Who asks about a tool no admin rule covers: the client, by its own approval mode (Codex's
   * `auto` asks for every non-read tool), or Gatehouse itself (`gatehouse`).
   */
  defaultApproval: 'client' | 'gatehouse';
  /** How long a call waits in the approval queue before it is refused (default 60 s). */
  approvalWaitSeconds: number;
  /** How long a requested approval stays valid (default 3600 s). */
  approvalTtlSeconds: number;
  /** Where to POST a JSON notice when a call starts waiting for approval, or null. */
  approvalWebhook: string | null;
  /** The webhook's shape (default `json`), from the same layer as the webhook. */
  approvalWebhookFormat?: 'json' | 'slack' | 'teams';
  /** Where the secret the webhook is signed with is (absent: unsigned). */
  approvalWebhookSecret?: SecretRef;
  /** The console's address, for links to an approval (`…/#approvals`). */
  approvalConsoleUrl?: string;
  /** `[gatehouse_scopes]`: who may see and use each server (absent: no scopes). */
  scopes?: ScopeSettings;
}

export const NO_TOOL_POLICY: ToolPolicy = {
  readOnly: false,
  readOnlySource: null,
  categories: [],
  rules: [],
  defaultApproval: 'client',
  approvalWaitSeconds: 60,
  approvalTtlSeconds: 3600,
  approvalWebhook: null,
};

/** Codex's per-tool approval modes (user config), as Codex defines them. */
export type UserApprovalMode = 'auto' | 'prompt' | 'writes' | 'approve';

/** MCP tool annotations as the server declares them (untrusted). */
export interface ToolAnnotations {
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

/** The annotations of a listed tool, keeping only the boolean hints (anything else is ignored). */
export function annotationsOf(tool: unknown): ToolAnnotations | null {
  const raw = (tool as { annotations?: unknown } | null)?.annotations;
  if (!raw || typeof raw !== 'object') return null;
  const out: ToolAnnotations = {};
  for (const key of [
    'readOnlyHint',
    'destructiveHint',
    'idempotentHint',
    'openWorldHint',
  ] as const) {
    const v = (raw as Record<string, unknown>)[key];
    if (typeof v === 'boolean') out[key] = v;
  }
  return out;
}

/**
 * The stricter reading of two declarations of one tool (the lock's and the live listing's): a
 * hint that makes a tool look safer counts only when both say it; one that makes it look more
 * dangerous counts when either does. Null (no annotations) says nothing safe.
 */
export function stricterAnnotations(
  a: ToolAnnotations | null,
  b: ToolAnnotations | null,
): ToolAnnotations {
  const x = a ?? {};
  const y = b ?? {};
  const out: ToolAnnotations = {};
  const safe = (key: 'readOnlyHint' | 'idempotentHint') => {
    if (x[key] === true && y[key] === true) out[key] = true;
    else if (x[key] === false || y[key] === false) out[key] = false;
  };
  const danger = (key: 'destructiveHint' | 'openWorldHint') => {
    if (x[key] === true || y[key] === true) out[key] = true;
    else if (x[key] === false && y[key] === false) out[key] = false;
  };
  safe('readOnlyHint');
  safe('idempotentHint');
  danger('destructiveHint');
  danger('openWorldHint');
  return out;
}
