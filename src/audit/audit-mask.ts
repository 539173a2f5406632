import type { MaskCounts, Masker } from '../masking/engine.js';
import { maskForAudit } from '../masking/mask-mcp.js';
import { maskUrl } from '../masking/mask-text.js';

/** A string that is a URL with a scheme (`https://…`, `file:///…`, `postgres://…`). */
const URL_LIKE = /^[a-z][a-z0-9+.-]{0,31}:\/\//i;

/**
 * A URI as the audit stores it (a `resources/read` target, a URI in a result): credentials in
 * the userinfo and secret-named query parameters masked (mask-text.ts), then whatever the
 * masking engine finds in what is left (a token in the path, an e-mail).
 */
export function maskUriForAudit(masker: Masker, uri: string, counts: MaskCounts = {}): string {
  const masked = URL_LIKE.test(uri) ? maskUrl(uri) : uri;
  return masker.maskText(masked, counts, { json: false });
}

/**
 * Everything the audit trail stores of arguments, results and errors goes through here, whether
 * or not the masking stage already masked it for the client (a server's exemption, or a
 * secret-named field the client may see, never make the audit keep a raw value): the masking
 * engine's values and secret-named fields (mask-mcp.ts), then object KEYS (an e-mail or a token
 * used as a map key) and URL-shaped strings (passwords, `?token=`).
 */
export function maskForAuditTrail(
  masker: Masker,
  value: unknown,
  counts: MaskCounts = {},
): unknown {
  const masked = maskForAudit(masker, value, counts);
  const walk = (v: unknown, depth: number): unknown => {
    if (depth > 256) return '[REDACTED:too_deep]';
    if (typeof v === 'string') return URL_LIKE.test(v) ? maskUriForAudit(masker, v, counts) : v;
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    if (v === null || typeof v !== 'object') return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const base = URL_LIKE.test(k)
        ? maskUriForAudit(masker, k, counts)
        : masker.maskText(k, counts, { json: false });
      // Two keys masked alike stay two keys.
      let key = base;
      for (let n = 2; key !== k && Object.hasOwn(out, key); n++) key = `${base}#${n}`;
      out[key] = walk(x, depth + 1);
    }
    return out;
  };
  try {
    return walk(masked, 0);
  } catch {
    return '[REDACTED:unmaskable]';
  }
}
