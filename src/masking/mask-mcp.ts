import type { MaskCounts, Masker } from './engine.js';
import { MAX_JSON_DEPTH, MaskingError } from './engine.js';
import { allowedByAll, childSchemas, neutralNumber } from './schema-types.js';
import { isSecretName } from './mask-text.js';

/** The `_meta` key a masked result carries its redaction counts under. */
export const REDACTIONS_META_KEY = 'dev.gatehouse/redactions';

/** Text-like media types whose base64 `blob`s are decoded and masked. */
const TEXT_MEDIA =
  /^(?:text\/|application\/(?:[a-z0-9.+-]*\+)?(?:json|xml|yaml|x-yaml|toml|javascript|x-sh|sql|x-ndjson|graphql)\b)/i;

/** Keys of MCP objects that name a type, not data. */
const STRUCTURAL_KEYS = new Set(['type', 'mimeType', 'role', 'annotations', '_meta']);

/**
 * Masks what an upstream returned for a request, in the shapes MCP defines: `tools/call`
 * (content items, embedded resources, `structuredContent` kept valid against `outputSchema`),
 * `resources/read` (contents, text and text-like blobs), `prompts/get` (messages); any other
 * string in those results is masked too. Images and audio pass as they are. Throws
 * MaskingError when it cannot mask safely (the caller withholds the result).
 */
export function maskResult(
  masker: Masker,
  result: Record<string, unknown>,
  outputSchema: unknown,
  counts: MaskCounts,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(result)) {
    if (key === '_meta') out[key] = value;
    else if (key === 'structuredContent')
      out[key] = maskStructured(masker, value, outputSchema, counts);
    else out[key] = maskNode(masker, value, counts, 0);
  }
  return out;
}

/** Masks any JSON value: content items by their type, other strings as text. */
export function maskNode(
  masker: Masker,
  value: unknown,
  counts: MaskCounts,
  depth: number,
): unknown {
  if (depth > MAX_JSON_DEPTH) {
    throw new MaskingError(`result nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  if (typeof value === 'string') return maskTextContent(masker, value, counts);
  if (Array.isArray(value)) return value.map((v) => maskNode(masker, v, counts, depth + 1));
  if (value === null || typeof value !== 'object') return value;
  const item = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const type = typeof item.type === 'string' ? item.type : null;
  for (const [key, v] of Object.entries(item)) {
    if (STRUCTURAL_KEYS.has(key) && typeof v !== 'object') out[key] = v;
    else if (key === '_meta' || key === 'annotations') out[key] = v;
    else if (key === 'data' && (type === 'image' || type === 'audio')) out[key] = v;
    else if (key === 'blob' && typeof v === 'string') out[key] = maskBlob(masker, v, item, counts);
    else out[key] = maskNode(masker, v, counts, depth + 1);
  }
  return out;
}

/** A base64 blob: masked when its media type is text-like; binary passes unchanged. */
function maskBlob(
  masker: Masker,
  blob: string,
  item: Record<string, unknown>,
  counts: MaskCounts,
): string {
  const mime = typeof item.mimeType === 'string' ? item.mimeType : '';
  if (!TEXT_MEDIA.test(mime)) return blob;
  const bytes = Buffer.from(blob, 'base64');
  let text: string;
  let encoding: 'utf8' | 'latin1' = 'utf8';
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    // Not UTF-8: latin1 maps every byte to one character, so unmasked bytes come back exact.
    text = bytes.toString('latin1');
    encoding = 'latin1';
  }
  const before = countTotal(counts);
  const masked = maskTextContent(masker, text, counts);
  if (countTotal(counts) === before) return blob;
  return Buffer.from(masked, encoding).toString('base64');
}

/**
 * `structuredContent`: strings are masked in place (a string stays a string); a number or
 * boolean under an admin's customer field becomes the string `[REDACTED:kind]` where the
 * schema allows a string, else null where it allows null, else a neutral value of its own type
 * (the schema's minimum or 0; false), so the result stays valid against `outputSchema`.
 */
export function maskStructured(
  masker: Masker,
  value: unknown,
  schema: unknown,
  counts: MaskCounts,
): unknown {
  const root = schema;
  const walk = (
    v: unknown,
    schemas: unknown[],
    path: string[],
    field: string | null,
    depth: number,
  ): unknown => {
    if (depth > MAX_JSON_DEPTH) {
      throw new MaskingError(`structuredContent nested deeper than ${MAX_JSON_DEPTH} levels`);
    }
    if (typeof v === 'string') {
      if (field && v.length > 0) {
        counts[field] = (counts[field] ?? 0) + 1;
        return masker.replacement(field, v);
      }
      return masker.maskText(v, counts, { json: false });
    }
    if (Array.isArray(v)) {
      return v.map((x, i) =>
        walk(
          x,
          schemas.flatMap((s) => childSchemas(s, root, i)),
          path,
          field,
          depth + 1,
        ),
      );
    }
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        const childPath = [...path, k];
        out[k] = walk(
          x,
          schemas.flatMap((s) => childSchemas(s, root, k)),
          childPath,
          field ?? masker.fieldKind(childPath),
          depth + 1,
        );
      }
      return out;
    }
    if (v === null || v === undefined) return v;
    if (!field && typeof v === 'number') field = numberKind(masker, v);
    if (!field) return v;
    counts[field] = (counts[field] ?? 0) + 1;
    const allowed = allowedByAll(schemas, root);
    if (allowed.has('string')) return masker.replacement(field, String(v));
    if (allowed.has('null')) return null;
    if (typeof v === 'number') return neutralNumber(schemas, root);
    return false;
  };
  return walk(value, schema === undefined ? [] : [schema], [], null, 0);
}

/** A number that is itself personal data (a card number sent as a JSON number): its kind. */
function numberKind(masker: Masker, n: number): string | null {
  const text = String(n);
  if (text.length < 9) return null;
  const whole = masker
    .findings(text, { json: false })
    .find((f) => f.start === 0 && f.end === text.length);
  return whole ? whole.kind : null;
}

/**
 * Masks a text; a JSON text keeps its formatting. If masking in place would break the JSON (a
 * number that is a card, a finding across an escape), the JSON is masked as data instead and
 * written back out, so the client always gets valid JSON.
 */
export function maskTextContent(masker: Masker, text: string, counts: MaskCounts): string {
  const local: MaskCounts = {};
  const masked = masker.maskText(text, local);
  if (masked !== text && looksLikeJson(text) && !parses(masked)) {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
    if (data !== undefined) {
      const again: MaskCounts = {};
      const out = JSON.stringify(maskStructured(masker, data, undefined, again), null, 2);
      merge(counts, again);
      return out;
    }
  }
  merge(counts, local);
  return masked;
}

function looksLikeJson(text: string): boolean {
  const c = text.trimStart()[0];
  return c === '{' || c === '[';
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function merge(into: MaskCounts, from: MaskCounts): void {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
}

function countTotal(counts: MaskCounts): number {
  let n = 0;
  for (const k in counts) n += counts[k] ?? 0;
  return n;
}

/** Adds the counts to a result's `_meta` (only when something was masked). */
export function withRedactionMeta(
  result: Record<string, unknown>,
  counts: MaskCounts,
): Record<string, unknown> {
  if (Object.keys(counts).length === 0) return result;
  const meta = (result._meta as Record<string, unknown> | undefined) ?? {};
  return { ...result, _meta: { ...meta, [REDACTIONS_META_KEY]: { ...counts } } };
}

/**
 * Masks a value for the audit trail: everything `maskStructured` masks, plus any value under a
 * secret-named key (`password`, `api_key`, `token`, …) however short or plain it is.
 */
export function maskForAudit(masker: Masker, value: unknown, counts: MaskCounts = {}): unknown {
  const walk = (v: unknown, depth: number): unknown => {
    if (depth > MAX_JSON_DEPTH) return '[REDACTED:too_deep]';
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    if (v === null || typeof v !== 'object') return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (isSecretName(k) && (typeof x === 'string' || typeof x === 'number') && !isMask(x)) {
        counts.secret_field = (counts.secret_field ?? 0) + 1;
        out[k] = '[REDACTED:secret_field]';
      } else out[k] = walk(x, depth + 1);
    }
    return out;
  };
  try {
    return walk(maskStructured(masker, value, undefined, counts), 0);
  } catch {
    return '[REDACTED:unmaskable]'; // the audit keeps the keyed hash of the raw value
  }
}

function isMask(v: unknown): boolean {
  return typeof v === 'string' && /^(?:\[REDACTED:[a-z0-9_]+\]|⟦[a-z0-9_]+:[0-9a-f]+⟧)$/.test(v);
}

/** A notification or request a server sends toward the client (logs, progress, sampling, …). */
export interface OutgoingMessage {
  method: string;
  params?: unknown;
}

/**
 * Masks what a server sends to the client outside results: log data, progress messages, the
 * messages of a sampling request, an elicitation's message. Anything that cannot be masked is
 * replaced by a notice (fail closed); other messages pass as they are.
 */
export function maskOutgoingMessage(masker: Masker, message: OutgoingMessage): OutgoingMessage {
  const params = message.params;
  if (params === null || typeof params !== 'object') return message;
  const p = params as Record<string, unknown>;
  const keys =
    message.method === 'notifications/message'
      ? ['data']
      : message.method === 'notifications/progress'
        ? ['message']
        : message.method === 'sampling/createMessage'
          ? ['messages', 'systemPrompt']
          : message.method === 'elicitation/create'
            ? ['message']
            : [];
  if (keys.length === 0) return message;
  const out: Record<string, unknown> = { ...p };
  for (const key of keys) {
    if (!(key in p)) continue;
    try {
      out[key] = maskNode(masker, p[key], {}, 0);
    } catch (err) {
      out[key] =
        `[withheld by Gatehouse: could not be masked (${err instanceof Error ? err.message : String(err)})]`;
    }
  }
  return { ...message, params: out };
}
