/**
 * JSON values and local JSON-Schema references, compared and resolved without assumptions
 * about key order: shared by the schema differ and by masking (which reads `outputSchema`).
 */

type JsonObject = Record<string, unknown>;

export const hasOwn = (o: object, key: string): boolean =>
  Object.prototype.hasOwnProperty.call(o, key);

export const isSchemaObject = (v: unknown): v is JsonObject =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Key-order-insensitive deep equality of JSON values (bounded depth: deeper means unequal). */
export function sameJson(a: unknown, b: unknown, depth = 0): boolean {
  if (a === b) return true;
  if (depth > 1000) return false;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i], depth + 1)) return false;
    return true;
  }
  const ak = Object.keys(a);
  const bo = b as Record<string, unknown>;
  if (ak.length !== Object.keys(bo).length) return false;
  for (const k of ak) {
    if (!hasOwn(bo, k)) return false;
    if (!sameJson((a as Record<string, unknown>)[k], bo[k], depth + 1)) return false;
  }
  return true;
}

/** Text that differs only in whitespace is a cosmetic change; anything else can steer a model. */
export function sameText(a: unknown, b: unknown): boolean {
  const norm = (v: unknown) => (typeof v === 'string' ? v.replace(/\s+/g, ' ').trim() : v);
  return norm(a) === norm(b);
}

/** Resolves a local `$ref` (`#`, `#/$defs/x`, `#/definitions/x`, any JSON pointer) or null. */
export function resolveLocalRef(root: unknown, ref: string): unknown {
  if (!ref.startsWith('#')) return undefined;
  const pointer = (() => {
    try {
      return decodeURIComponent(ref.slice(1));
    } catch {
      return null;
    }
  })();
  if (pointer === null) return undefined;
  if (pointer === '') return root;
  if (!pointer.startsWith('/')) return undefined;
  let node: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) node = node[Number(key)];
    else if (isSchemaObject(node) && hasOwn(node, key)) node = node[key];
    else return undefined;
  }
  return node;
}
