/**
 * The shared vocabulary of the schema differ: change classes, findings, limits, and the state a
 * comparison carries with the helpers that record a finding and name where it is.
 */

/**
 * `version`: only the server's own version moved (serverInfo.version, or the npx package's version
 * with a new integrity). Its own class so that `npx …@latest` servers do not go dark on every
 * patch release: what they offer is still compared tool by tool, and any change there is classed
 * on its own.
 */
export type ChangeClass = 'breaking' | 'widening' | 'risky' | 'version' | 'cosmetic';

/** Most severe first: the order changelogs and enforcement use. */
export const CHANGE_CLASSES: readonly ChangeClass[] = [
  'breaking',
  'risky',
  'widening',
  'version',
  'cosmetic',
];

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

export type Schema = Record<string, unknown>;
export type Effect = 'narrowed' | 'widened' | 'changed';

/** Too many findings to list: the rest are summarised as one risky change. */
export class TooManyFindings extends Error {}

/** What one comparison carries: both roots (for `$ref`), the direction, findings and budget. */
export interface DiffState {
  rootBefore: unknown;
  rootAfter: unknown;
  direction: Direction;
  findings: SchemaFinding[];
  steps: number;
  limits: DiffLimits;
  visitedRefs: Set<string>;
}

/** A value as a finding quotes it: JSON, cut at 60 characters so a changelog stays readable. */
export const short = (v: unknown): string => {
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = String(v);
  }
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
};

/** Whether narrowing or widening breaks clients depends on which way the data flows. */
export function classify(effect: Effect, direction: Direction): ChangeClass {
  if (effect === 'changed') return 'breaking';
  if (direction === 'input') return effect === 'narrowed' ? 'breaking' : 'widening';
  return effect === 'widened' ? 'breaking' : 'widening';
}

/** Records one finding; past `maxFindings` the comparison stops (the caller summarises). */
export function add(
  s: DiffState,
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

/** Appends a JSON-pointer segment, escaped (`~` and `/`). */
export const join = (path: string, key: string | number) =>
  `${path}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;

/** The property names along a path (`…/properties/a/properties/b` → a, b). */
export function propertyNames(path: string): string[] {
  return [...path.matchAll(/properties\/([^/]+)/g)].map((m) =>
    (m[1] ?? '').replace(/~1/g, '/').replace(/~0/g, '~'),
  );
}

/** What a human calls the place: `parameter a.b`, `output field items`, or the whole input. */
export function where(s: DiffState, path: string): string {
  const props = propertyNames(path);
  if (props.length === 0) return s.direction === 'input' ? 'the input' : 'the output';
  return `${s.direction === 'input' ? 'parameter' : 'output field'} \`${props.join('.')}\``;
}

/** The schema's `type` as a set (order is not a change); null when it does not say. */
export function typesOf(schema: Schema): Set<string> | null {
  const t = schema.type;
  if (typeof t === 'string') return new Set([t]);
  if (Array.isArray(t)) return new Set(t.filter((x): x is string => typeof x === 'string'));
  return null;
}

/** `integer` values are also `number` values. */
export function covers(types: Set<string>, type: string): boolean {
  return types.has(type) || (type === 'integer' && types.has('number'));
}
