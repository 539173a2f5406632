/**
 * Semantic comparison of two JSON Schemas (draft 2020-12 and earlier), as a client of an MCP
 * tool experiences them. Pure and bounded: `$ref` cycles are followed once, and the work is
 * capped (a schema too large or too deep to compare is reported as one risky change — never
 * silently as "no change").
 *
 * Direction matters. For an input schema (what the client sends) a change that accepts fewer
 * values is breaking and one that accepts more is widening; for an output schema (what the
 * client receives) it is the other way round, except that a removed field is breaking both ways.
 */

import { hasOwn, isSchemaObject, resolveLocalRef, sameJson, sameText } from './json-values.js';

export type ChangeClass = 'breaking' | 'widening' | 'risky' | 'cosmetic';

/** Most severe first: the order changelogs and enforcement use. */
export const CHANGE_CLASSES: readonly ChangeClass[] = ['breaking', 'risky', 'widening', 'cosmetic'];

export type Direction = 'input' | 'output';

export interface SchemaFinding {
  class: ChangeClass;
  /** JSON-pointer-like path inside the item, e.g. `inputSchema/properties/path`. */
  path: string;
  summary: string;
  before?: unknown;
  after?: unknown;
}

export interface DiffLimits {
  /** Schema nodes compared before giving up (and reporting one risky change). */
  maxSteps: number;
  maxDepth: number;
  /** Changes listed before the rest is summarised as one risky change (a changelog stays readable). */
  maxFindings: number;
}

export const DEFAULT_LIMITS: DiffLimits = { maxSteps: 50_000, maxDepth: 128, maxFindings: 1000 };

type Schema = Record<string, unknown>;
type Effect = 'narrowed' | 'widened' | 'changed';

class BudgetExceeded extends Error {}
class TooManyFindings extends Error {}

interface State {
  rootBefore: unknown;
  rootAfter: unknown;
  direction: Direction;
  findings: SchemaFinding[];
  steps: number;
  limits: DiffLimits;
  visitedRefs: Set<string>;
}

const short = (v: unknown): string => {
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = String(v);
  }
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
};

function classify(effect: Effect, direction: Direction): ChangeClass {
  if (effect === 'changed') return 'breaking';
  if (direction === 'input') return effect === 'narrowed' ? 'breaking' : 'widening';
  return effect === 'widened' ? 'breaking' : 'widening';
}

function add(
  s: State,
  cls: ChangeClass,
  path: string,
  summary: string,
  before?: unknown,
  after?: unknown,
): void {
  if (s.findings.length >= s.limits.maxFindings) throw new TooManyFindings();
  s.findings.push({
    class: cls,
    path,
    summary,
    ...(before !== undefined ? { before } : {}),
    ...(after !== undefined ? { after } : {}),
  });
}

const join = (path: string, key: string | number) =>
  `${path}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;

/** The property names along a path (`…/properties/a/properties/b` → a, b). */
function propertyNames(path: string): string[] {
  return [...path.matchAll(/properties\/([^/]+)/g)].map((m) =>
    (m[1] ?? '').replace(/~1/g, '/').replace(/~0/g, '~'),
  );
}

/** What a human calls the place: `parameter a.b`, `output field items`, or the whole input. */
function where(s: State, path: string): string {
  const props = propertyNames(path);
  if (props.length === 0) return s.direction === 'input' ? 'the input' : 'the output';
  return `${s.direction === 'input' ? 'parameter' : 'output field'} \`${props.join('.')}\``;
}

function typesOf(schema: Schema): Set<string> | null {
  const t = schema.type;
  if (typeof t === 'string') return new Set([t]);
  if (Array.isArray(t)) return new Set(t.filter((x): x is string => typeof x === 'string'));
  return null;
}

/** `integer` values are also `number` values. */
function covers(types: Set<string>, type: string): boolean {
  return types.has(type) || (type === 'integer' && types.has('number'));
}

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

function step(s: State, depth: number): void {
  s.steps++;
  if (s.steps > s.limits.maxSteps || depth > s.limits.maxDepth) throw new BudgetExceeded();
}

/** Boolean schemas as objects: `true` accepts anything, `false` nothing. */
function asSchema(v: unknown): Schema | null {
  if (v === true) return {};
  if (v === false) return { not: {} };
  return isSchemaObject(v) ? v : null;
}

function compare(s: State, before: unknown, after: unknown, path: string, depth: number): void {
  step(s, depth);
  if (sameJson(before, after)) return;
  const b = asSchema(before);
  const a = asSchema(after);
  if (!b || !a) {
    add(
      s,
      'risky',
      path,
      `${where(s, path)}: schema is not a JSON Schema object and changed (${short(before)} → ${short(after)})`,
      before,
      after,
    );
    return;
  }
  if (typeof b.$ref === 'string' || typeof a.$ref === 'string') {
    compareRefs(s, b, a, path, depth);
    return;
  }
  compareKeywords(s, b, a, path, depth);
}

function compareRefs(s: State, b: Schema, a: Schema, path: string, depth: number): void {
  const target = (root: unknown, schema: Schema): unknown =>
    typeof schema.$ref === 'string' ? resolveLocalRef(root, schema.$ref) : schema;
  const bt = target(s.rootBefore, b);
  const at = target(s.rootAfter, a);
  if (bt === undefined || at === undefined) {
    if (b.$ref !== a.$ref)
      add(
        s,
        'risky',
        join(path, '$ref'),
        `${where(s, path)}: reference changed to one Gatehouse cannot resolve (${short(b.$ref)} → ${short(a.$ref)})`,
        b.$ref,
        a.$ref,
      );
  } else {
    const key = `${String(b.$ref ?? path)}\u0000${String(a.$ref ?? path)}`;
    if (!s.visitedRefs.has(key)) {
      s.visitedRefs.add(key);
      compare(s, bt, at, path, depth + 1);
    }
  }
  // Keywords beside a $ref apply too (2020-12).
  const rest = (x: Schema) => Object.fromEntries(Object.entries(x).filter(([k]) => k !== '$ref'));
  const br = typeof b.$ref === 'string' ? rest(b) : {};
  const ar = typeof a.$ref === 'string' ? rest(a) : {};
  if (Object.keys(br).length > 0 || Object.keys(ar).length > 0)
    compareKeywords(s, br, ar, path, depth + 1);
}

function compareKeywords(s: State, b: Schema, a: Schema, path: string, depth: number): void {
  compareTypes(s, b, a, path);
  compareProperties(s, b, a, path, depth);
  compareRequired(s, b, a, path);
  compareEnum(s, b, a, path);
  compareConst(s, b, a, path);
  compareAdditional(s, b, a, path, depth);
  for (const key of ['oneOf', 'anyOf', 'allOf'] as const)
    compareBranches(s, b, a, key, path, depth);
  compareItems(s, b, a, path, depth);
  compareBounds(s, b, a, path);
  compareNot(s, b, a, path);
  compareText(s, b, a, path);
  compareRest(s, b, a, path);
}

function compareTypes(s: State, b: Schema, a: Schema, path: string): void {
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

function stringList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function compareProperties(s: State, b: Schema, a: Schema, path: string, depth: number): void {
  const bp = isSchemaObject(b.properties) ? b.properties : {};
  const ap = isSchemaObject(a.properties) ? a.properties : {};
  const aRequired = stringList(a.required);
  const noun = s.direction === 'input' ? 'parameter' : 'output field';
  for (const name of Object.keys(bp)) {
    const at = join(join(path, 'properties'), name);
    if (!hasOwn(ap, name)) {
      add(
        s,
        'breaking',
        at,
        `${noun} \`${propertyNames(at).join('.')}\` removed`,
        bp[name],
        undefined,
      );
    } else compare(s, bp[name], ap[name], at, depth + 1);
  }
  for (const name of Object.keys(ap)) {
    if (hasOwn(bp, name)) continue;
    const at = join(join(path, 'properties'), name);
    const required = aRequired.includes(name);
    if (s.direction === 'input' && required)
      add(
        s,
        'breaking',
        at,
        `required parameter \`${propertyNames(at).join('.')}\` added`,
        undefined,
        ap[name],
      );
    else
      add(
        s,
        'widening',
        at,
        `${required ? 'required' : 'optional'} ${noun} \`${propertyNames(at).join('.')}\` added`,
        undefined,
        ap[name],
      );
  }
}

function compareRequired(s: State, b: Schema, a: Schema, path: string): void {
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

function compareEnum(s: State, b: Schema, a: Schema, path: string): void {
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

function compareConst(s: State, b: Schema, a: Schema, path: string): void {
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

function compareAdditional(s: State, b: Schema, a: Schema, path: string, depth: number): void {
  const bv = b.additionalProperties;
  const av = a.additionalProperties;
  if (sameJson(bv, av)) return;
  const closed = (v: unknown) => v === false;
  const open = (v: unknown) => v === undefined || v === true;
  const at = join(path, 'additionalProperties');
  if (closed(av) && !closed(bv)) {
    add(
      s,
      classify('narrowed', s.direction),
      at,
      `${where(s, path)}: additionalProperties closed (unknown fields now rejected)`,
      bv,
      av,
    );
  } else if (closed(bv) && !closed(av)) {
    add(
      s,
      classify('widened', s.direction),
      at,
      `${where(s, path)}: additionalProperties opened`,
      bv,
      av,
    );
  } else if (open(bv) || open(av)) {
    const effect: Effect = open(bv) ? 'narrowed' : 'widened';
    add(
      s,
      classify(effect, s.direction),
      at,
      `${where(s, path)}: additionalProperties ${open(bv) ? 'now constrained' : 'no longer constrained'}`,
      bv,
      av,
    );
  } else compare(s, bv, av, at, depth + 1);
}

function compareBranches(
  s: State,
  b: Schema,
  a: Schema,
  key: 'oneOf' | 'anyOf' | 'allOf',
  path: string,
  depth: number,
): void {
  const bb = Array.isArray(b[key]) ? (b[key] as unknown[]) : null;
  const ab = Array.isArray(a[key]) ? (a[key] as unknown[]) : null;
  if (!bb && !ab) return;
  const at = join(path, key);
  // More allOf branches = more constraints (narrower); more oneOf/anyOf branches = wider.
  const addEffect: Effect = key === 'allOf' ? 'narrowed' : 'widened';
  const removeEffect: Effect = key === 'allOf' ? 'widened' : 'narrowed';
  if (!bb || !ab) {
    add(
      s,
      classify(bb ? removeEffect : addEffect, s.direction),
      at,
      `${where(s, path)}: \`${key}\` ${bb ? 'removed' : 'added'}`,
      b[key],
      a[key],
    );
    return;
  }
  const unmatchedB = bb.map((_, i) => i).filter((i) => !ab.some((x) => sameJson(bb[i], x)));
  const unmatchedA = ab.map((_, i) => i).filter((i) => !bb.some((x) => sameJson(ab[i], x)));
  // Pair what changed in place (same count of unmatched on both sides), so a field changed
  // inside a branch is reported as that, not as "branch removed + branch added".
  const pairs = Math.min(unmatchedB.length, unmatchedA.length);
  for (let p = 0; p < pairs; p++) {
    const bi = unmatchedB[p] as number;
    const ai = unmatchedA[p] as number;
    compare(s, bb[bi], ab[ai], join(at, ai), depth + 1);
  }
  for (const i of unmatchedB.slice(pairs))
    add(
      s,
      classify(removeEffect, s.direction),
      join(at, i),
      `${where(s, path)}: \`${key}\` branch ${i} removed (${short(bb[i])})`,
      bb[i],
      undefined,
    );
  for (const i of unmatchedA.slice(pairs))
    add(
      s,
      classify(addEffect, s.direction),
      join(at, i),
      `${where(s, path)}: \`${key}\` branch ${i} added (${short(ab[i])})`,
      undefined,
      ab[i],
    );
}

function compareItems(s: State, b: Schema, a: Schema, path: string, depth: number): void {
  const bi = b.items;
  const ai = a.items;
  // Draft 4–7 tuples: `items` as an array is what 2020-12 calls prefixItems.
  const tuple = (x: Schema) =>
    Array.isArray(x.prefixItems) ? x.prefixItems : Array.isArray(x.items) ? x.items : null;
  const bt = tuple(b);
  const at = tuple(a);
  if (bt || at) {
    const base = join(
      path,
      Array.isArray(a.prefixItems) || Array.isArray(b.prefixItems) ? 'prefixItems' : 'items',
    );
    const btl = bt ?? [];
    const atl = at ?? [];
    for (let i = 0; i < Math.max(btl.length, atl.length); i++) {
      if (i >= atl.length)
        add(
          s,
          'breaking',
          join(base, i),
          `${where(s, path)}: tuple position ${i} removed`,
          btl[i],
          undefined,
        );
      else if (i >= btl.length)
        add(
          s,
          classify('narrowed', s.direction),
          join(base, i),
          `${where(s, path)}: tuple position ${i} added`,
          undefined,
          atl[i],
        );
      else compare(s, btl[i], atl[i], join(base, i), depth + 1);
    }
  }
  const single = (x: unknown) => (Array.isArray(x) ? undefined : x);
  const bs = single(bi);
  const as = single(ai);
  if (bs === undefined && as === undefined) return;
  if (bs === undefined || as === undefined) {
    const effect: Effect = bs === undefined ? 'narrowed' : 'widened';
    add(
      s,
      classify(effect, s.direction),
      join(path, 'items'),
      `${where(s, path)}: item schema ${bs === undefined ? 'added' : 'removed'}`,
      bs,
      as,
    );
    return;
  }
  compare(s, bs, as, `${join(path, 'items')}`, depth + 1);
}

function compareBounds(s: State, b: Schema, a: Schema, path: string): void {
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
function compareNot(s: State, b: Schema, a: Schema, path: string): void {
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

function compareText(s: State, b: Schema, a: Schema, path: string): void {
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
function compareRest(s: State, b: Schema, a: Schema, path: string): void {
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

/**
 * Every semantic change between two schemas, in document order. Schemas that differ only in
 * key order, array order of sets (`required`, `enum`, `type`) or unused definitions yield none.
 */
export function diffJsonSchema(
  before: unknown,
  after: unknown,
  direction: Direction,
  path = '',
  limits: DiffLimits = DEFAULT_LIMITS,
): SchemaFinding[] {
  const state: State = {
    rootBefore: before,
    rootAfter: after,
    direction,
    findings: [],
    steps: 0,
    limits,
    visitedRefs: new Set(),
  };
  try {
    compare(state, before, after, path, 0);
  } catch (err) {
    if (err instanceof TooManyFindings) {
      state.findings.push({
        class: 'risky',
        path,
        summary: `more than ${limits.maxFindings} changes: the rest were not listed or classified, review it by hand`,
      });
      return state.findings;
    }
    if (!(err instanceof BudgetExceeded) && !(err instanceof RangeError)) throw err;
    add(
      state,
      'risky',
      path,
      `schema too large or too deeply nested to compare in detail (stopped after ${state.steps} steps): treated as changed, review it by hand`,
    );
  }
  return state.findings;
}
