import type { FieldPattern } from './field-paths.js';
import type { CustomPattern } from './custom-patterns.js';
import { matchGlob } from '../policy/glob.js';

/**
 * How masked values are written. `full`: `[REDACTED:<kind>]`. `last4`: `****1234` (cards,
 * phones, IBANs, account numbers: enough to tell two apart, not enough to use). `domain`:
 * `****@example.com` (emails).
 */
export type MaskForm = 'full' | 'last4' | 'domain';
export const MASK_FORMS: readonly MaskForm[] = ['full', 'last4', 'domain'];

/**
 * What happens to base64 bytes that are not text and so cannot be inspected: `media` (default)
 * lets real images, audio and video through (their signature must match the declared type) and
 * withholds every other binary; `pass` lets all binary through; `withhold` withholds it all.
 */
export type BinaryContent = 'media' | 'pass' | 'withhold';
export const BINARY_CONTENT: readonly BinaryContent[] = ['media', 'pass', 'withhold'];

/** Default result budget: generous, so only a runaway dump is cut. */
export const DEFAULT_RESULT_BUDGET_BYTES = 1024 * 1024;

/** A result budget for results of matching `SERVER/TOOL` globs. */
export interface ResultBudget {
  pattern: string;
  bytes: number;
}

/** An admin-named customer field and the kind its values are masked as. */
export interface FieldRule {
  pattern: FieldPattern;
  kind: string;
}

/** A kind whose values become reversible tokens, and the servers that may receive the real value. */
export interface TokenRule {
  kind: string;
  /** Server-name globs that get the real value back when the agent passes the token. */
  servers: string[];
}

/**
 * What an admin decided about masking (`[gatehouse_masking]` in requirements.toml): on by default
 * for every server and tool; exemptions by server, tool and detector; customer fields and
 * patterns; partial forms; reversible tokens. Plain data; the engine is pure over it.
 */
export interface MaskingPolicy {
  /** Server-name globs whose results are not masked. */
  exemptServers: string[];
  /** `SERVER/TOOL` globs whose results are not masked. */
  exemptTools: string[];
  /** Detector ids or kinds left out everywhere. */
  exemptDetectors: string[];
  /** Mask IPv4/IPv6 addresses (off by default). */
  ipAddresses: boolean;
  fields: FieldRule[];
  patterns: CustomPattern[];
  /** Form per kind; kinds not named use `full`. */
  forms: Record<string, MaskForm>;
  tokens: TokenRule[];
  /** Binary content that cannot be inspected. */
  binaryContent: BinaryContent;
  /** Largest result (bytes of JSON, after masking) the client gets; larger ones are cut. */
  resultBudgetBytes: number;
  /** Budgets for `SERVER/TOOL` globs (`SERVER/*` for a server); the last match wins. */
  resultBudgets: ResultBudget[];
}

export const DEFAULT_MASKING_POLICY: MaskingPolicy = {
  exemptServers: [],
  exemptTools: [],
  exemptDetectors: [],
  ipAddresses: false,
  fields: [],
  patterns: [],
  forms: {},
  tokens: [],
  binaryContent: 'media',
  resultBudgetBytes: DEFAULT_RESULT_BUDGET_BYTES,
  resultBudgets: [],
};

/** Why masking is off for a server/tool, or null when it applies (the default). */
export function maskingExemption(
  policy: MaskingPolicy,
  server: string | null,
  tool: string | null,
): string | null {
  if (server !== null) {
    const s = policy.exemptServers.find((g) => matchGlob(g, server));
    if (s !== undefined) return `server exempt by [gatehouse_masking] exempt_servers "${s}"`;
    if (tool !== null) {
      const t = policy.exemptTools.find((g) => matchGlob(g, `${server}/${tool}`));
      if (t !== undefined) return `tool exempt by [gatehouse_masking] exempt_tools "${t}"`;
    }
  }
  return null;
}

/** Whether `server` may receive the real value of a token of `kind`. */
export function mayReceive(policy: MaskingPolicy, kind: string, server: string): boolean {
  const rule = policy.tokens.find((t) => t.kind === kind);
  return rule !== undefined && rule.servers.some((g) => matchGlob(g, server));
}

/** The result budget for a server's tool (tool null: resources, prompts), in bytes. */
export function resultBudgetFor(
  policy: MaskingPolicy,
  server: string | null,
  tool: string | null,
): number {
  if (server !== null) {
    for (let i = policy.resultBudgets.length - 1; i >= 0; i -= 1) {
      const b = policy.resultBudgets[i] as ResultBudget;
      if (matchGlob(b.pattern, `${server}/${tool ?? ''}`)) return b.bytes;
    }
  }
  return policy.resultBudgetBytes;
}
