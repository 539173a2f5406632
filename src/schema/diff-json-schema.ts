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

import type {
  DiffLimits,
  DiffState,
  Direction,
  Effect,
  Schema,
  SchemaFinding,
} from './diff-findings.js';
import {
  DEFAULT_LIMITS,
  TooManyFindings,
  add,
  classify,
  join,
  propertyNames,
  short,
  where,
} from './diff-findings.js';
import {
  compareBounds,
  compareConst,
  compareEnum,
  compareNot,
  compareRequired,
  compareRest,
  compareText,
  compareTypes,
  stringList,
} from './diff-keywords.js';
import { hasOwn, isSchemaObject, resolveLocalRef, sameJson } from './json-values.js';

export type { ChangeClass, DiffLimits, Direction, SchemaFinding } from './diff-findings.js';
export { CHANGE_CLASSES, DEFAULT_LIMITS } from './diff-findings.js';

class BudgetExceeded extends Error {}

function step(s: DiffState, depth: number): void {
  s.steps++;
  if (s.steps > s.limits.maxSteps || depth > s.limits.maxDepth) throw new BudgetExceeded();
}

/** Boolean schemas as objects: `true` accepts anything, `false` nothing. */
function asSchema(v: unknown): Schema | null {
  if (v === true) return {};
  if (v === false) return { not: {} };
  return isSchemaObject(v) ? v : null;
}

function compare(s: DiffState, before: unknown, after: unknown, path: string, depth: number): void {
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

function compareRefs(s: DiffState, b: Schema, a: Schema, path: string, depth: number): void {
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

function compareKeywords(s: DiffState, b: Schema, a: Schema, path: string, depth: number): void {
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

function compareProperties(s: DiffState, b: Schema, a: Schema, path: string, depth: number): void {
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

function compareAdditional(s: DiffState, b: Schema, a: Schema, path: string, depth: number): void {
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
  s: DiffState,
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

function compareItems(s: DiffState, b: Schema, a: Schema, path: string, depth: number): void {
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
  const state: DiffState = {
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
