/**
 * Just enough JSON Schema reading to keep a masked `structuredContent` valid against the tool's
 * `outputSchema`: which JSON types a schema allows at a place, and the subschemas for a child.
 * Unknown or unreadable schema parts allow anything (the masking is then the plain one).
 */

import { isSchemaObject as isObject, resolveLocalRef } from '../schema/json-values.js';

export type JsonType = 'string' | 'number' | 'integer' | 'boolean' | 'null' | 'object' | 'array';
const ALL: readonly JsonType[] = [
  'string',
  'number',
  'integer',
  'boolean',
  'null',
  'object',
  'array',
];

/** Follows local `$ref`s, at most 32 hops (cycles end there); one that does not resolve allows anything. */
function deref(schema: unknown, root: unknown): unknown {
  let s = schema;
  for (let hops = 0; hops < 32 && isObject(s) && typeof s.$ref === 'string'; hops += 1) {
    const target = resolveLocalRef(root, s.$ref);
    if (target === undefined) return true;
    s = target;
  }
  return s;
}

/** The types a schema allows (approximate: allOf intersects, anyOf/oneOf unite). */
export function allowedTypes(schema: unknown, root: unknown, depth = 0): Set<JsonType> {
  const s = deref(schema, root);
  if (s === false) return new Set();
  if (!isObject(s) || depth > 16) return new Set(ALL);
  let types = new Set<JsonType>(ALL);
  if (typeof s.type === 'string') types = new Set([s.type as JsonType]);
  else if (Array.isArray(s.type)) types = new Set(s.type as JsonType[]);
  if (types.has('number')) types.add('integer');
  if ('const' in s) types = intersect(types, new Set([typeOf(s.const)]));
  if (Array.isArray(s.enum)) types = intersect(types, new Set(s.enum.map(typeOf)));
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = s[key];
    if (Array.isArray(branches) && branches.length > 0) {
      const union = new Set<JsonType>();
      for (const b of branches) for (const t of allowedTypes(b, root, depth + 1)) union.add(t);
      types = intersect(types, union);
    }
  }
  if (Array.isArray(s.allOf)) {
    for (const b of s.allOf) types = intersect(types, allowedTypes(b, root, depth + 1));
  }
  return types;
}

/** The subschemas that apply to a child of an object (by key) or an array (by index). */
export function childSchemas(
  schema: unknown,
  root: unknown,
  key: string | number,
  depth = 0,
): unknown[] {
  const s = deref(schema, root);
  if (!isObject(s) || depth > 16) return [];
  const out: unknown[] = [];
  if (typeof key === 'string') {
    const props = s.properties;
    if (isObject(props) && key in props) out.push(props[key]);
    else if (s.additionalProperties !== undefined) out.push(s.additionalProperties);
  } else {
    const prefix = Array.isArray(s.prefixItems)
      ? s.prefixItems
      : Array.isArray(s.items)
        ? s.items
        : null;
    if (prefix && key < prefix.length) out.push(prefix[key]);
    else if (prefix && Array.isArray(s.items)) out.push(s.additionalItems ?? true);
    else if (s.items !== undefined && !Array.isArray(s.items)) out.push(s.items);
  }
  for (const k of ['allOf', 'anyOf', 'oneOf'] as const) {
    const branches = s[k];
    if (Array.isArray(branches))
      for (const b of branches) out.push(...childSchemas(b, root, key, depth + 1));
  }
  return out;
}

/** Types allowed by every one of `schemas` (none given: anything). */
export function allowedByAll(schemas: readonly unknown[], root: unknown): Set<JsonType> {
  let types = new Set<JsonType>(ALL);
  for (const s of schemas) types = intersect(types, allowedTypes(s, root));
  return types;
}

/**
 * A number the schemas accept, as close to 0 as their bounds allow (0 when unbounded): what a
 * masked number becomes when the schema allows neither a string nor null.
 */
export function neutralNumber(schemas: readonly unknown[], root: unknown): number {
  let lo = -Infinity;
  let hi = Infinity;
  let loOpen = false;
  let hiOpen = false;
  let integer = false;
  for (const raw of schemas) {
    const s = deref(raw, root);
    if (!isObject(s)) continue;
    if (
      s.type === 'integer' ||
      (Array.isArray(s.type) && !s.type.includes('number') && s.type.includes('integer'))
    )
      integer = true;
    if (typeof s.minimum === 'number' && s.minimum >= lo) [lo, loOpen] = [s.minimum, false];
    if (typeof s.exclusiveMinimum === 'number' && s.exclusiveMinimum >= lo)
      [lo, loOpen] = [s.exclusiveMinimum, true];
    if (typeof s.maximum === 'number' && s.maximum <= hi) [hi, hiOpen] = [s.maximum, false];
    if (typeof s.exclusiveMaximum === 'number' && s.exclusiveMaximum <= hi)
      [hi, hiOpen] = [s.exclusiveMaximum, true];
  }
  const fits = (n: number) =>
    (loOpen ? n > lo : n >= lo) && (hiOpen ? n < hi : n <= hi) && (!integer || Number.isInteger(n));
  const candidates = [
    0,
    lo,
    hi,
    Math.ceil(lo),
    Math.floor(hi),
    Math.floor(lo) + 1,
    Math.ceil(hi) - 1,
  ];
  if (Number.isFinite(lo) && Number.isFinite(hi)) candidates.push((lo + hi) / 2);
  return candidates.find((n) => Number.isFinite(n) && fits(n)) ?? 0;
}

function typeOf(v: unknown): JsonType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v as JsonType;
}

function intersect(a: Set<JsonType>, b: Set<JsonType>): Set<JsonType> {
  const out = new Set<JsonType>();
  for (const t of a) if (b.has(t) || (t === 'integer' && b.has('number'))) out.add(t);
  return out;
}
