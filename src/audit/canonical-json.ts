/**
 * RFC 8785 (JSON Canonicalization Scheme): the byte form every audit hash is taken over, so
 * key order, whitespace and number spelling can never change a hash. Object keys are sorted by
 * UTF-16 code units; strings and numbers are serialised as ECMAScript's JSON.stringify does
 * (which is what RFC 8785 specifies). Values JSON cannot carry are refused, not dropped.
 */
export function canonicalJson(value: unknown): string {
  const state = { indexKeys: false };
  const sorted = sortedCopy(value, state, 0);
  // Objects with array-index keys ("9", "10") are ordered numerically by JavaScript whatever the
  // insertion order, so for them the copy cannot carry the order: serialise by hand.
  return state.indexKeys ? serialise(value) : JSON.stringify(sorted);
}

const INDEX_KEY = /^(?:0|[1-9]\d{0,9})$/;

/** A copy with every object's keys in RFC 8785 order; checks that everything is JSON. */
function sortedCopy(value: unknown, state: { indexKeys: boolean }, depth: number): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value))
        throw new TypeError(`canonical JSON: ${value} is not a JSON number`);
      return value;
    case 'object': {
      if (value === null) return null;
      if (depth > 512) throw new TypeError('canonical JSON: nested more than 512 levels');
      if (Array.isArray(value)) {
        const out = new Array<unknown>(value.length);
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          out[i] = item === undefined ? null : sortedCopy(item, state, depth + 1);
        }
        return out;
      }
      const record = value as Record<string, unknown>;
      // Default sort compares UTF-16 code units, which is the order RFC 8785 requires.
      const keys = Object.keys(record).sort();
      const out: Record<string, unknown> = {};
      for (const key of keys) {
        const item = record[key];
        if (item === undefined) continue;
        if (INDEX_KEY.test(key)) state.indexKeys = true;
        out[key] = sortedCopy(item, state, depth + 1);
      }
      return out;
    }
    default:
      throw new TypeError(`canonical JSON: a ${typeof value} is not JSON`);
  }
}

/** The reference serialiser: slower, but independent of JavaScript's key ordering. */
function serialise(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) {
    return `[${value.map((item: unknown) => (item === undefined ? 'null' : serialise(item))).join(',')}]`;
  }
  const record = value as Record<string, unknown>;
  const parts: string[] = [];
  for (const key of Object.keys(record).sort()) {
    if (record[key] !== undefined) parts.push(`${JSON.stringify(key)}:${serialise(record[key])}`);
  }
  return `{${parts.join(',')}}`;
}
