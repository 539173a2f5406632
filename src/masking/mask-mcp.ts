import type { MaskCounts, Masker } from './engine.js';
import { MAX_JSON_DEPTH, MaskingError } from './engine.js';
import type { BinaryContent } from './policy.js';
import { allowedByAll, childSchemas, neutralNumber } from './schema-types.js';
import { isSecretName } from './mask-text.js';

/** The `_meta` key a masked result carries its redaction counts under. */
export const REDACTIONS_META_KEY = 'dev.gatehouse/redactions';

/** Text-like media types: bytes that are not UTF-8 are still read as text (latin1) and masked. */
const TEXT_MEDIA =
  /^(?:text\/|message\/|image\/svg|application\/(?:[a-z0-9.+-]*\+)?(?:json|xml|yaml|x-yaml|toml|javascript|x-sh|sql|x-ndjson|graphql|x-www-form-urlencoded|x-pem-file|pkcs8|x-x509)\b)/i;

/** Media types whose binary bytes may pass uninspected under `binary_content = "media"`. */
const MEDIA = /^(?:image|audio|video)\/(?!svg)/i;

/** The redaction count kind for binary content Gatehouse withheld because it cannot inspect it. */
export const BINARY_WITHHELD = 'binary_withheld';

/**
 * Params of a server→client message whose values are protocol plumbing, passed byte for byte:
 * the progress token (the client's own, or the one a server's request asks progress under) and
 * the id of a request being cancelled. Only at the top of the params (and of their `_meta`),
 * where the protocol puts them; the same key anywhere else is masked like everything else.
 */
const VERBATIM_KEYS: readonly string[] = ['progressToken', 'requestId'];

/**
 * Masks what an upstream returned for a request, in the shapes MCP defines: `tools/call`
 * (content items, embedded resources, `structuredContent` kept valid against `outputSchema`),
 * `resources/read` (contents, text and blobs decided by content), `prompts/get` (messages); every
 * other string and object key in those results, `_meta` and annotations included, is masked
 * too. The counts are per kind the larger of `structuredContent` and the rest (a server that
 * sends both sends each value twice). Throws MaskingError when it cannot mask safely (the caller
 * withholds the result).
 */
export function maskResult(
  masker: Masker,
  result: Record<string, unknown>,
  outputSchema: unknown,
  counts: MaskCounts,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const rest: MaskCounts = {};
  const structured: MaskCounts = {};
  for (const [key, value] of Object.entries(result)) {
    if (key === 'structuredContent')
      out[key] = maskStructured(masker, value, outputSchema, structured);
    else if (key === 'isError' && typeof value === 'boolean') out[key] = value;
    else out[maskKey(masker, key, rest, out)] = maskNode(masker, value, rest, 0);
  }
  for (const k of new Set([...Object.keys(rest), ...Object.keys(structured)]))
    counts[k] = (counts[k] ?? 0) + Math.max(rest[k] ?? 0, structured[k] ?? 0);
  return out;
}

/**
 * Masks any JSON value a server sent: every string (JSON text keeps its formatting), every
 * object key, base64 `blob`s and image/audio `data` decided by their bytes. Nothing is skipped.
 */
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
  if (Array.isArray(value))
    return joinAdjacentText(masker, value, counts).map((v) =>
      maskNode(masker, v, counts, depth + 1),
    );
  if (value === null || typeof value !== 'object') return value;
  const item = value as Record<string, unknown>;
  const binary = binaryField(item);
  let payload: unknown;
  if (binary) {
    const outcome = maskBinary(masker, item[binary] as string, mimeOf(item), counts);
    if (outcome.kind === 'withheld') return withheldItem(item, outcome.notice);
    payload = outcome.kind === 'masked' ? outcome.base64 : item[binary];
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(item)) {
    if (key === binary) out[key] = payload;
    else out[maskKey(masker, key, counts, out)] = maskNode(masker, v, counts, depth + 1);
  }
  return out;
}

function isTextItem(v: unknown): v is { type: 'text'; text: string } {
  return isObject(v) && v.type === 'text' && typeof v.text === 'string';
}

/**
 * Text content items side by side in one array (the content of one result, one prompt message
 * list): a value split across them (`ghp_…` ending one item, the rest starting the next) is
 * masked in the item where it starts and removed from the items after it
 * (`Masker.maskAdjacent`); everything inside one item is masked afterwards, as usual.
 */
function joinAdjacentText(masker: Masker, items: unknown[], counts: MaskCounts): unknown[] {
  let out: unknown[] | null = null;
  for (let i = 0; i < items.length;) {
    let j = i;
    while (j < items.length && isTextItem(items[j])) j += 1;
    if (j - i >= 2) {
      const run = items.slice(i, j) as { type: 'text'; text: string }[];
      const texts = run.map((t) => t.text);
      const edited = masker.maskAdjacent(texts, counts, (t) => t);
      edited.forEach((text, k) => {
        if (text === texts[k]) return;
        out ??= [...items];
        out[i + k] = { ...run[k], text };
      });
    }
    i = Math.max(j, i + 1);
  }
  return out ?? items;
}

/** The key of an object's base64 payload: a resource's `blob`, an image or audio item's `data`. */
function binaryField(item: Record<string, unknown>): 'blob' | 'data' | null {
  if (typeof item.blob === 'string') return 'blob';
  if (typeof item.data === 'string' && (item.type === 'image' || item.type === 'audio'))
    return 'data';
  return null;
}

function mimeOf(item: Record<string, unknown>): string {
  return typeof item.mimeType === 'string' ? item.mimeType : '';
}

/**
 * What a content item or resource whose bytes were withheld becomes: a text item (content) or
 * text contents under the same URI (resources), carrying the notice the model reads.
 */
function withheldItem(item: Record<string, unknown>, notice: string): Record<string, unknown> {
  if (item.type === 'image' || item.type === 'audio') return { type: 'text', text: notice };
  const out: Record<string, unknown> = { mimeType: 'text/plain', text: notice };
  if (typeof item.uri === 'string') out.uri = item.uri;
  return out;
}

/**
 * Masks an object key: a key is data too (an e-mail or a card used as a map key). Two keys that
 * mask alike get a numbered suffix rather than overwrite each other.
 */
export function maskKey(
  masker: Masker,
  key: string,
  counts: MaskCounts,
  taken: Record<string, unknown>,
): string {
  if (key.length < 6) return key; // nothing a detector finds is this short
  const masked = masker.maskText(key, counts, { json: false });
  if (masked === key || !Object.hasOwn(taken, masked)) return masked;
  for (let n = 2; ; n += 1) {
    const candidate = `${masked} (${n})`;
    if (!Object.hasOwn(taken, candidate)) return candidate;
  }
}

/** What became of a base64 payload. */
export type BinaryOutcome =
  { kind: 'same' } | { kind: 'masked'; base64: string } | { kind: 'withheld'; notice: string };

const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/**
 * A base64 payload, decided by its bytes, not only by its declared type: text-like bytes (valid
 * UTF-8 with few control characters, or any bytes under a text media type) are decoded, masked
 * and encoded again; bytes that cannot be inspected follow the admin's `binary_content` (media:
 * only real images, audio and video pass; pass; withhold). A payload that is not base64 at all is
 * withheld.
 */
export function maskBinary(
  masker: Masker,
  base64: string,
  mime: string,
  counts: MaskCounts,
  mode: BinaryContent = masker.policy.binaryContent,
): BinaryOutcome {
  if (base64.length === 0) return { kind: 'same' };
  const compact = base64.includes('\n') ? base64.replace(/\s+/g, '') : base64;
  if (compact.length % 4 === 1 || !BASE64.test(compact)) {
    counts[BINARY_WITHHELD] = (counts[BINARY_WITHHELD] ?? 0) + 1;
    return {
      kind: 'withheld',
      notice: `[withheld by Gatehouse: a ${mime || 'payload without a MIME type'} that is not valid base64]`,
    };
  }
  const bytes = Buffer.from(compact, 'base64');
  const text = readAsText(bytes, TEXT_MEDIA.test(mime));
  if (text !== null) {
    const before = countTotal(counts);
    const masked = maskTextContent(masker, text.text, counts);
    if (countTotal(counts) === before) return { kind: 'same' };
    return { kind: 'masked', base64: Buffer.from(masked, text.encoding).toString('base64') };
  }
  if (mode === 'pass' || (mode === 'media' && MEDIA.test(mime) && hasMediaMagic(bytes)))
    return { kind: 'same' };
  counts[BINARY_WITHHELD] = (counts[BINARY_WITHHELD] ?? 0) + 1;
  return {
    kind: 'withheld',
    notice: `[withheld by Gatehouse: ${bytes.length} bytes of binary ${mime || 'data without a MIME type'} that cannot be inspected for secrets or personal data. An admin can let such content through with [gatehouse_masking] binary_content = "pass".]`,
  };
}

/** Share of control characters above which UTF-8 bytes count as binary. */
const MAX_CONTROL_SHARE = 0.02;

/** The bytes as text when they are text (UTF-8, or latin1 under a text media type), else null. */
function readAsText(
  bytes: Buffer,
  textMedia: boolean,
): { text: string; encoding: 'utf8' | 'latin1' } | null {
  let text: string;
  let encoding: 'utf8' | 'latin1' = 'utf8';
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    if (!textMedia) return null;
    // latin1 maps every byte to one character, so unmasked bytes come back exact.
    text = bytes.toString('latin1');
    encoding = 'latin1';
  }
  if (textMedia) return { text, encoding };
  let control = 0;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c === 0) return null;
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d && c !== 0x0c) || c === 0x7f)
      control += 1;
  }
  return control > text.length * MAX_CONTROL_SHARE ? null : { text, encoding };
}

/** The signatures of common image, audio and video formats (a declared type must be true). */
function hasMediaMagic(b: Buffer): boolean {
  const ascii = (at: number, s: string) => b.toString('latin1', at, at + s.length) === s;
  return (
    ascii(0, '\x89PNG') ||
    (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) || // JPEG
    ascii(0, 'GIF87a') ||
    ascii(0, 'GIF89a') ||
    (ascii(0, 'RIFF') && (ascii(8, 'WEBP') || ascii(8, 'WAVE') || ascii(8, 'AVI '))) ||
    ascii(0, 'BM') ||
    ascii(0, 'II*\x00') ||
    ascii(0, 'MM\x00*') ||
    (b[0] === 0 && b[1] === 0 && b[2] === 1 && b[3] === 0) || // ICO
    ascii(4, 'ftyp') || // MP4, M4A, MOV, HEIC, AVIF
    ascii(0, 'ID3') ||
    (b[0] === 0xff && ((b[1] ?? 0) & 0xe0) === 0xe0) || // MPEG audio frame
    ascii(0, 'OggS') ||
    ascii(0, 'fLaC') ||
    (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) // WebM, Matroska
  );
}

/**
 * `structuredContent`: strings are masked in place (a string stays a string; a string holding
 * JSON gets the customer-field rules too); object keys are masked; base64 payloads are decided
 * by their bytes (a withheld one becomes a base64 text notice, so the shape stays valid); a
 * number or boolean under an admin's customer field becomes the string `[REDACTED:kind]` where
 * the schema allows a string, else null where it allows null, else a neutral value of its own
 * type (the schema's minimum or 0; false), so the result stays valid against `outputSchema`.
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
      return maskTextContent(masker, v, counts, depth);
    }
    if (Array.isArray(v)) {
      return (field ? v : joinAdjacentText(masker, v, counts)).map((x, i) =>
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
      const item = v as Record<string, unknown>;
      const binary = field ? null : binaryField(item);
      let payload: unknown;
      let withheld = false;
      if (binary) {
        const outcome = maskBinary(masker, item[binary] as string, mimeOf(item), counts);
        withheld = outcome.kind === 'withheld';
        payload =
          outcome.kind === 'withheld'
            ? Buffer.from(outcome.notice).toString('base64')
            : outcome.kind === 'masked'
              ? outcome.base64
              : item[binary];
      }
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(item)) {
        if (k === binary) {
          out[k] = payload;
          continue;
        }
        if (withheld && k === 'mimeType') {
          out[k] = 'text/plain';
          continue;
        }
        const childPath = [...path, k];
        out[maskKey(masker, k, counts, out)] = walk(
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
 * number that is a card, a finding across an escape), or the JSON carries more JSON inside a
 * string where the admin's customer-field rules must reach, the JSON is masked as data instead
 * and written back out, so the client always gets valid JSON.
 */
export function maskTextContent(
  masker: Masker,
  text: string,
  counts: MaskCounts,
  depth = 0,
): string {
  const local: MaskCounts = {};
  const masked = masker.maskText(text, local);
  const json = looksLikeJson(text);
  if (
    json &&
    depth < MAX_JSON_DEPTH &&
    ((masked !== text && !parses(masked)) ||
      (masker.policy.fields.length > 0 && text.includes('\\"')))
  ) {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
    if (data !== undefined && (masked !== text || holdsJsonString(data, 0))) {
      const again: MaskCounts = {};
      const out = JSON.stringify(maskStructured(masker, data, undefined, again), null, 2);
      if (masked !== text || Object.keys(again).length > 0) {
        merge(counts, again);
        return out;
      }
    }
  }
  merge(counts, local);
  return masked;
}

/** Whether a JSON value holds a string that is itself a JSON object or array. */
function holdsJsonString(v: unknown, depth: number): boolean {
  if (depth > MAX_JSON_DEPTH) return false;
  if (typeof v === 'string') return looksLikeJson(v) && parses(v);
  if (Array.isArray(v)) return v.some((x) => holdsJsonString(x, depth + 1));
  if (v !== null && typeof v === 'object')
    return Object.values(v).some((x) => holdsJsonString(x, depth + 1));
  return false;
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
 * Masks everything a server sends to the client outside results, whatever the method (logs,
 * progress, task status, resource updates, sampling and elicitation requests, notifications
 * nobody has defined yet, and the `initialize` answer): every string and key of the params.
 * A log's `data` is data: the admin's customer-field rules apply to it as to results. Only the
 * client's progress token and a cancelled request's id pass verbatim. Anything that cannot be
 * masked is replaced by a notice (fail closed).
 */
export function maskOutgoingMessage(
  masker: Masker,
  message: OutgoingMessage,
  counts: MaskCounts = {},
): OutgoingMessage {
  const params = message.params;
  if (params === undefined || params === null) return message;
  const p: Record<string, unknown> =
    typeof params === 'object' && !Array.isArray(params) ? (params as Record<string, unknown>) : {};
  const kept = plumbing(p);
  const metaKept = isObject(p._meta) ? plumbing(p._meta) : {};
  try {
    let out: unknown;
    if (message.method === 'notifications/message' && 'data' in p) {
      const { data, ...rest } = p;
      out = maskNode(masker, rest, counts, 0);
      (out as Record<string, unknown>).data = maskStructured(masker, data, undefined, counts);
    } else out = maskNode(masker, params, counts, 0);
    if (isObject(out)) {
      Object.assign(out, kept);
      if (Object.keys(metaKept).length > 0)
        out._meta = { ...(isObject(out._meta) ? out._meta : {}), ...metaKept };
    }
    return { ...message, params: out };
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    const notice = `[withheld by Gatehouse: could not be masked (${why})]`;
    return {
      ...message,
      params:
        message.method === 'notifications/message'
          ? { level: 'error', data: notice }
          : { ...kept, message: notice },
    };
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The plumbing keys of an object whose values are a string or number (see VERBATIM_KEYS). */
function plumbing(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of VERBATIM_KEYS) {
    const v = o[k];
    if (typeof v === 'string' || typeof v === 'number') out[k] = v;
  }
  return out;
}

/** Listings whose items are addressed by `name`: an item whose name holds a finding is withheld. */
const NAMED_LISTS: Readonly<Record<string, string>> = {
  'tools/list': 'tools',
  'prompts/list': 'prompts',
};

/**
 * Masks a result that is not content (`tools/list` descriptions, titles and schema defaults,
 * examples and enums; resource and prompt listings; completions; task states; anything else):
 * every string and key. A tool or prompt whose NAME holds a secret or personal data is left out
 * of the listing (its name is its address: a masked name could not be called), and named in
 * `withheld`. Schemas are masked only on their way to the client: the schema lock and the
 * policy saw what the server really sent.
 */
export function maskListing(
  masker: Masker,
  method: string,
  result: Record<string, unknown>,
  counts: MaskCounts,
  /**
   * The name the server itself used, when the gateway renamed it (`serve` rewrites names to
   * Codex's character set, which can hide an address from the detectors): both are checked.
   */
  rawNames: ReadonlyMap<string, string> = new Map(),
): { result: Record<string, unknown>; withheld: string[] } {
  const listKey = NAMED_LISTS[method];
  const withheld: string[] = [];
  let source = result;
  const list = listKey ? result[listKey] : undefined;
  const holdsFinding = (name: string, probe: MaskCounts) =>
    masker.maskText(name, probe, { json: false }) !== name;
  if (listKey && Array.isArray(list)) {
    const kept = list.filter((item) => {
      const name = (item as { name?: unknown } | null)?.name;
      if (typeof name !== 'string') return true;
      const probe: MaskCounts = {};
      const raw = rawNames.get(name);
      if (!holdsFinding(name, probe) && (raw === undefined || !holdsFinding(raw, probe)))
        return true;
      withheld.push(name);
      for (const [k, n] of Object.entries(probe)) counts[k] = (counts[k] ?? 0) + n;
      return false;
    });
    source = { ...result, [listKey]: kept };
  }
  return { result: maskNode(masker, source, counts, 0) as Record<string, unknown>, withheld };
}

/** What a result budget cut, for the audit trail and the notice. */
export interface BudgetReport {
  limit_bytes: number;
  /** Size of the (masked) result as the server sent it. */
  original_bytes: number;
  delivered_bytes: number;
  /** What was cut, in words (`content[0] text cut to 1000 of 5000 bytes`, …). */
  cut: string[];
}

function jsonBytes(v: unknown): number {
  return Buffer.byteLength(JSON.stringify(v) ?? '');
}

/** The longest prefix of `text` whose UTF-8 form fits in `bytes` (never a half character). */
function utf8Prefix(text: string, bytes: number): string {
  if (bytes <= 0) return '';
  const buf = Buffer.from(text);
  if (buf.length <= bytes) return text;
  let end = bytes;
  while (end > 0 && ((buf[end] ?? 0) & 0xc0) === 0x80) end -= 1;
  return buf.toString('utf8', 0, end);
}

/**
 * Keeps a content result within an admin's byte budget. A result that fits is untouched
 * (null). Otherwise: when the server sent both `structuredContent` and content, the text content
 * goes first (structured data over text dumps); then content or contents items are kept in
 * order while they fit, a text item cut at the budget, other items withheld; a result whose
 * `structuredContent` alone is over budget is withheld as a tool error. The model always reads
 * a notice saying what was cut; the report goes to the audit trail.
 */
export function applyResultBudget(
  result: Record<string, unknown>,
  limit: number,
  where: string,
): { result: Record<string, unknown>; report: BudgetReport } | null {
  const original = jsonBytes(result);
  if (original <= limit) return null;
  const cut: string[] = [];
  const notice = (what: string) =>
    `[Gatehouse cut this result: the server sent ${original} bytes, over the budget of ${limit} bytes for ${where}; ${what}. Ask for less (a narrower query, a page, a range), or an admin can raise [gatehouse_masking] result_budget_bytes / result_budgets.]`;
  const done = (out: Record<string, unknown>) => ({
    result: out,
    report: { limit_bytes: limit, original_bytes: original, delivered_bytes: jsonBytes(out), cut },
  });
  let out: Record<string, unknown> = { ...result };
  const listKey = Array.isArray(out.content)
    ? 'content'
    : Array.isArray(out.contents)
      ? 'contents'
      : null;
  if ('structuredContent' in out && out.structuredContent !== undefined) {
    if (jsonBytes(out.structuredContent) + 512 > limit) {
      cut.push(`structuredContent of ${jsonBytes(out.structuredContent)} bytes withheld`);
      return done({
        content: [
          {
            type: 'text',
            text: notice('the structured result alone is over budget, so it was withheld'),
          },
        ],
        isError: true,
      });
    }
    if (listKey === 'content') {
      const items = out.content as Record<string, unknown>[];
      const texts = items.filter((i) => i.type === 'text').length;
      if (texts > 0) {
        out.content = [
          ...items.filter((i) => i.type !== 'text'),
          {
            type: 'text',
            text: notice('the text content was left out; the full result is in structuredContent'),
          },
        ];
        cut.push(`${texts} text content item(s) left out in favour of structuredContent`);
        if (jsonBytes(out) <= limit) return done(out);
      }
    }
  }
  if (!listKey) {
    cut.push('result withheld: no content list to cut');
    return done({ content: [{ type: 'text', text: notice('it was withheld') }], isError: true });
  }
  const items = out[listKey] as Record<string, unknown>[];
  const kept: Record<string, unknown>[] = [];
  const reserve = 1024; // room for the notice
  out = { ...out, [listKey]: kept };
  let used = jsonBytes(out) + reserve;
  items.forEach((item, i) => {
    const size = jsonBytes(item) + 1;
    if (used + size <= limit) {
      kept.push(item);
      used += size;
      return;
    }
    if (typeof item.text === 'string') {
      const room = limit - used - (size - Buffer.byteLength(item.text));
      const text = utf8Prefix(item.text, Math.floor(room * 0.9));
      if (text.length > 0) {
        kept.push({ ...item, text });
        used += jsonBytes(kept[kept.length - 1]) + 1;
        cut.push(
          `${listKey}[${i}] text cut to ${Buffer.byteLength(text)} of ${Buffer.byteLength(item.text)} bytes`,
        );
        return;
      }
    }
    cut.push(`${listKey}[${i}] (${size - 1} bytes) withheld`);
  });
  const what = `${cut.join('; ')}`;
  kept.push(
    listKey === 'content'
      ? { type: 'text', text: notice(what) }
      : { uri: 'gatehouse:notice', mimeType: 'text/plain', text: notice(what) },
  );
  return done(out);
}
