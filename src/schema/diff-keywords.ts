/**
 * The keywords that constrain a value itself — type, required, enum, const, bounds, pattern,
 * format, not, text and hints — compared without descending into subschemas (that is
 * diff-json-schema.ts). Each records its findings through diff-findings.ts.
 */

import type { DiffState, Effect, Schema } from './diff-findings.js';
import {
  add,
  classify,
  covers,
  join,
  propertyNames,
  short,
  typesOf,
  where,
} from './diff-findings.js';
import { hasOwn, isSchemaObject, sameJson, sameText } from './json-values.js';

const TEXT_KEYWORDS = new Set(['description', 'title', '$comment']);
const VALUE_HINT_KEYWORDS = new Set(['default', 'examples', 'deprecated', 'readOnly', 'writeOnly']);
const LOWER_BOUNDS = [
  'minimum',
  'exclusiveMinimum',
  'minLength',
  'minItems',
  'minProperties',
  'minContains',
];
const UPPER_BOUNDS = [
  'maximum',
  'exclusiveMaximum',
  'maxLength',
  'maxItems',
  'maxProperties',
  'maxContains',
];
/** Keywords compared through `$ref` (definitions), not on their own. */
const DEFINITION_KEYWORDS = new Set(['$defs', 'definitions']);
const HANDLED = new Set([
  'type',
  'properties',
  'required',
  'enum',
  'const',
  'additionalProperties',
  'oneOf',
  'anyOf',
  'allOf',
  'items',
  'prefixItems',
  'pattern',
  'format',
  'multipleOf',
  'uniqueItems',
  'not',
  '$ref',
  ...LOWER_BOUNDS,
  ...UPPER_BOUNDS,
  ...TEXT_KEYWORDS,
  ...VALUE_HINT_KEYWORDS,
  ...DEFINITION_KEYWORDS,
]);

export function compareTypes(s: DiffState, b: Schema, a: Schema, path: string): void {
  const bt = typesOf(b);
  const at = typesOf(a);
  if (!bt && !at) return;
  const show = (t: Set<string> | null) => (t ? [...t].join('|') : 'any');
  if (!bt || !at) {
    const effect: Effect = bt ? 'widened' : 'narrowed';
    add(
      s,
      classify(effect, s.direction),
      join(path, 'type'),
      `${where(s, path)}: type ${effect} (${show(bt)} → ${show(at)})`,
      b.type,
      a.type,
    );
    return;
  }
  const removed = [...bt].filter((t) => !covers(at, t));
  const added = [...at].filter((t) => !covers(bt, t));
  if (removed.length > 0 && added.length > 0) {
    add(
      s,
      'breaking',
      join(path, 'type'),
      `${where(s, path)}: retyped (${show(bt)} → ${show(at)})`,
      b.type,
      a.type,
    );
  } else if (removed.length > 0) {
    add(
      s,
      classify('narrowed', s.direction),
      join(path, 'type'),
      `${where(s, path)}: type narrowed (${show(bt)} → ${show(at)})`,
      b.type,
      a.type,
    );
  } else if (added.length > 0) {
    add(
      s,
      classify('widened', s.direction),
      join(path, 'type'),
      `${where(s, path)}: type widened (${show(bt)} → ${show(at)})`,
      b.type,
      a.type,
    );
  }
}

export function stringList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

export function compareRequired(s: DiffState, b: Schema, a: Schema, path: string): void {
  const br = new Set(stringList(b.required));
  const ar = new Set(stringList(a.required));
  const bp = isSchemaObject(b.properties) ? b.properties : {};
  const ap = isSchemaObject(a.properties) ? a.properties : {};
  for (const name of ar) {
    // A new property that is required was reported as added; only existing ones here.
    const newProperty = !hasOwn(bp, name) && hasOwn(ap, name);
    if (br.has(name) || newProperty) continue;
    add(
      s,
      classify('narrowed', s.direction),
      join(path, 'required'),
      `${s.direction === 'input' ? 'parameter' : 'output field'} \`${qualifiedName(path, name)}\` became required`,
    );
  }
  for (const name of br) {
    if (ar.has(name) || !hasOwn(ap, name)) continue;
    add(
      s,
      classify('widened', s.direction),
      join(path, 'required'),
      s.direction === 'input'
        ? `parameter \`${qualifiedName(path, name)}\` became optional`
        : `output field \`${qualifiedName(path, name)}\` may now be absent`,
    );
  }
}

function qualifiedName(path: string, name: string): string {
  return [...propertyNames(path), name].join('.');
}

export function compareEnum(s: DiffState, b: Schema, a: Schema, path: string): void {
  if (!Array.isArray(b.enum) && !Array.isArray(a.enum)) return;
  if (!Array.isArray(b.enum) || !Array.isArray(a.enum)) {
    const effect: Effect = Array.isArray(b.enum) ? 'widened' : 'narrowed';
    add(
      s,
      classify(effect, s.direction),
      join(path, 'enum'),
      `${where(s, path)}: ${effect === 'narrowed' ? 'now restricted to' : 'no longer restricted to'} ${short(a.enum ?? b.enum)}`,
      b.enum,
      a.enum,
    );
    return;
  }
  const be = b.enum as unknown[];
  const ae = a.enum as unknown[];
  const removed = be.filter((v) => !ae.some((w) => sameJson(v, w)));
  const added = ae.filter((v) => !be.some((w) => sameJson(v, w)));
  if (removed.length > 0)
    add(
      s,
      classify('narrowed', s.direction),
      join(path, 'enum'),
      `${where(s, path)}: enum value${removed.length > 1 ? 's' : ''} ${removed.map(short).join(', ')} removed`,
      removed,
      undefined,
    );
  if (added.length > 0)
    add(
      s,
      classify('widened', s.direction),
      join(path, 'enum'),
      `${where(s, path)}: enum value${added.length > 1 ? 's' : ''} ${added.map(short).join(', ')} added`,
      undefined,
      added,
    );
}

export function compareConst(s: DiffState, b: Schema, a: Schema, path: string): void {
  const has = (x: Schema) => hasOwn(x, 'const');
  if (!has(b) && !has(a)) return;
  if (has(b) && has(a) && sameJson(b.const, a.const)) return;
  const effect: Effect = has(b) && has(a) ? 'changed' : has(a) ? 'narrowed' : 'widened';
  add(
    s,
    classify(effect, s.direction),
    join(path, 'const'),
    `${where(s, path)}: const ${effect === 'changed' ? 'changed' : effect === 'narrowed' ? 'added' : 'removed'} (${has(b) ? short(b.const) : 'none'} → ${has(a) ? short(a.const) : 'none'})`,
    b.const,
    a.const,
  );
}

export function compareBounds(s: DiffState, b: Schema, a: Schema, path: string): void {
  for (const key of [...LOWER_BOUNDS, ...UPPER_BOUNDS, 'multipleOf']) {
    const bv = b[key];
    const av = a[key];
    if (sameJson(bv, av)) continue;
    const lower = LOWER_BOUNDS.includes(key);
    let effect: Effect;
    if (typeof bv !== 'number' && typeof bv !== 'boolean' && bv !== undefined) effect = 'changed';
    else if (bv === undefined) effect = 'narrowed';
    else if (av === undefined) effect = 'widened';
    else if (typeof bv !== 'number' || typeof av !== 'number' || key === 'multipleOf')
      effect = 'changed';
    else effect = (lower ? av > bv : av < bv) ? 'narrowed' : 'widened';
    add(
      s,
      classify(effect, s.direction),
      join(path, key),
      `${where(s, path)}: ${key} ${short(bv ?? 'none')} → ${short(av ?? 'none')}`,
      bv,
      av,
    );
  }
  for (const key of ['pattern', 'format']) {
    const bv = b[key];
    const av = a[key];
    if (sameJson(bv, av)) continue;
    const effect: Effect = bv === undefined ? 'narrowed' : av === undefined ? 'widened' : 'changed';
    add(
      s,
      classify(effect, s.direction),
      join(path, key),
      `${where(s, path)}: ${key} ${bv === undefined ? 'added' : av === undefined ? 'removed' : 'changed'} (${short(bv ?? 'none')} → ${short(av ?? 'none')})`,
      bv,
      av,
    );
  }
  if (!sameJson(b.uniqueItems, a.uniqueItems)) {
    const effect: Effect = a.uniqueItems === true ? 'narrowed' : 'widened';
    add(
      s,
      classify(effect, s.direction),
      join(path, 'uniqueItems'),
      `${where(s, path)}: uniqueItems ${short(b.uniqueItems ?? false)} → ${short(a.uniqueItems ?? false)}`,
      b.uniqueItems,
      a.uniqueItems,
    );
  }
}

/** `not` (and `false`, which is `{not: {}}`): more excluded is narrower. */
export function compareNot(s: DiffState, b: Schema, a: Schema, path: string): void {
  if (sameJson(b.not, a.not)) return;
  const effect: Effect =
    b.not === undefined ? 'narrowed' : a.not === undefined ? 'widened' : 'changed';
  const describe = (x: Schema) =>
    sameJson(x.not, {}) ? 'rejects everything' : short(x.not ?? 'none');
  add(
    s,
    classify(effect, s.direction),
    join(path, 'not'),
    `${where(s, path)}: \`not\` ${describe(b)} → ${describe(a)}`,
    b.not,
    a.not,
  );
}

export function compareText(s: DiffState, b: Schema, a: Schema, path: string): void {
  for (const key of [...TEXT_KEYWORDS, ...VALUE_HINT_KEYWORDS]) {
    const bv = b[key];
    const av = a[key];
    if (sameJson(bv, av)) continue;
    const text = TEXT_KEYWORDS.has(key);
    const cosmetic = text && sameText(bv, av);
    add(
      s,
      cosmetic ? 'cosmetic' : 'risky',
      join(path, key),
      cosmetic
        ? `${where(s, path)}: ${key} whitespace changed`
        : `${where(s, path)}: ${key} ${bv === undefined ? 'added' : av === undefined ? 'removed' : 'changed'}${text ? ' (text the model reads: review it)' : ''}`,
      bv,
      av,
    );
  }
}

/** Keywords this differ does not model: any change is reported for a person to judge. */
export function compareRest(s: DiffState, b: Schema, a: Schema, path: string): void {
  const keys = new Set([...Object.keys(b), ...Object.keys(a)]);
  for (const key of keys) {
    if (HANDLED.has(key) || sameJson(b[key], a[key])) continue;
    add(
      s,
      'risky',
      join(path, key),
      `${where(s, path)}: \`${key}\` ${b[key] === undefined ? 'added' : a[key] === undefined ? 'removed' : 'changed'} (not classified automatically: review it)`,
      b[key],
      a[key],
    );
  }
}
