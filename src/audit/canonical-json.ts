/**
 * RFC 8785 (JSON Canonicalization Scheme): the byte form every audit hash is taken over, so
 * key order, whitespace and number spelling can never change a hash. Object keys are sorted by
 * UTF-16 code units; strings and numbers are serialised as ECMAScript's JSON.stringify does
 * (which is what RFC 8785 specifies). Values JSON cannot carry are refused, not dropped.
 */
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value))
        throw new TypeError(`canonical JSON: ${value} is not a JSON number`);
      return JSON.stringify(value);
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record)
        .filter((k) => record[k] !== undefined)
        .sort(compareUtf16);
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON: a ${typeof value} is not JSON`);
  }
}

/** Array.prototype.sort's default order compares UTF-16 code units, which RFC 8785 requires. */
function compareUtf16(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
