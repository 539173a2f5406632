import type { Diagnostic, SourceLocation } from '../diagnostics/diagnostic.js';

/** Locates a key relative to the table being read, e.g. `['args', 0]`. */
export type Locate = (path: readonly (string | number)[]) => {
  location: SourceLocation;
  snippet: string;
};

/** Describes a value's TOML type the way serde does in Codex's messages, without echoing strings. */
export function describeType(value: unknown): string {
  if (typeof value === 'string') return 'string';
  if (typeof value === 'boolean') return `boolean \`${value}\``;
  if (typeof value === 'number')
    return Number.isInteger(value) ? `integer \`${value}\`` : `floating point \`${value}\``;
  if (typeof value === 'bigint') return `integer \`${value}\``;
  if (value instanceof Date) return 'date-time';
  if (Array.isArray(value)) return 'sequence';
  if (value && typeof value === 'object') return 'map';
  return 'value';
}

/**
 * The type alone, never the value: for fields whose values may be secrets (`env`, headers,
 * `args`), a number or boolean written there must not be echoed in a diagnostic.
 */
export function describeKind(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'bigint')
    return typeof value === 'number' && !Number.isInteger(value) ? 'floating point' : 'integer';
  if (typeof value === 'boolean') return 'boolean';
  return describeType(value);
}

export function isPlainTable(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date)
  );
}

/**
 * Reads typed fields out of one TOML table and records a located diagnostic for every value of
 * the wrong type, so a single pass reports all mistakes in a file instead of the first one.
 */
export class FieldReader {
  constructor(
    private readonly table: Record<string, unknown>,
    /** Dotted path of the table, e.g. `mcp_servers.docs`. */
    readonly keyPrefix: string,
    private readonly locate: Locate,
    readonly diagnostics: Diagnostic[],
  ) {}

  /** Locates a field of this table (for nested readers). */
  locateField(path: readonly (string | number)[]): { location: SourceLocation; snippet: string } {
    return this.locate(path);
  }

  has(key: string): boolean {
    return this.table[key] !== undefined;
  }

  raw(key: string): unknown {
    return this.table[key];
  }

  keys(): string[] {
    return Object.keys(this.table);
  }

  error(
    path: readonly (string | number)[],
    message: string,
    hint?: string,
    code: Diagnostic['code'] = 'invalid_value',
  ): void {
    this.push('error', code, path, message, hint);
  }

  warn(
    path: readonly (string | number)[],
    message: string,
    hint?: string,
    code: Diagnostic['code'] = 'unknown_key',
  ): void {
    this.push('warning', code, path, message, hint);
  }

  private push(
    severity: Diagnostic['severity'],
    code: Diagnostic['code'],
    path: readonly (string | number)[],
    message: string,
    hint?: string,
  ): void {
    const { location, snippet } = this.locate(path);
    const suffix = path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');
    this.diagnostics.push({
      severity,
      code,
      message,
      key: `${this.keyPrefix}${suffix}`,
      location,
      snippet,
      ...(hint ? { hint } : {}),
    });
  }

  private wrongType(key: string, expected: string): null {
    this.error(
      [key],
      `invalid type: ${describeType(this.table[key])}, expected ${expected}`,
      undefined,
      'wrong_type',
    );
    return null;
  }

  /** `undefined` when absent, `null` when present but invalid (already reported). */
  string(key: string): string | null | undefined {
    const v = this.table[key];
    if (v === undefined) return undefined;
    return typeof v === 'string' ? v : this.wrongType(key, 'a string');
  }

  boolean(key: string): boolean | null | undefined {
    const v = this.table[key];
    if (v === undefined) return undefined;
    return typeof v === 'boolean' ? v : this.wrongType(key, 'a boolean');
  }

  number(key: string): number | null | undefined {
    const v = this.table[key];
    if (v === undefined) return undefined;
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    if (typeof v === 'bigint') return Number(v);
    return this.wrongType(key, 'a number');
  }

  stringArray(key: string): string[] | null | undefined {
    const v = this.table[key];
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) return this.wrongType(key, 'a sequence');
    let ok = true;
    v.forEach((item, i) => {
      if (typeof item !== 'string') {
        this.error(
          [key, i],
          `invalid type: ${describeKind(item)}, expected a string`,
          undefined,
          'wrong_type',
        );
        ok = false;
      }
    });
    return ok ? (v as string[]) : null;
  }

  stringMap(key: string): Record<string, string> | null | undefined {
    const v = this.table[key];
    if (v === undefined) return undefined;
    if (!isPlainTable(v)) return this.wrongType(key, 'a map');
    let ok = true;
    for (const [k, item] of Object.entries(v)) {
      if (typeof item !== 'string') {
        this.error(
          [key, k],
          `invalid type: ${describeKind(item)}, expected a string`,
          undefined,
          'wrong_type',
        );
        ok = false;
      }
    }
    return ok ? (v as Record<string, string>) : null;
  }

  subTable(key: string): Record<string, unknown> | null | undefined {
    const v = this.table[key];
    if (v === undefined) return undefined;
    return isPlainTable(v) ? v : this.wrongType(key, 'a map');
  }

  oneOf<T extends string>(key: string, allowed: readonly T[]): T | null | undefined {
    const v = this.string(key);
    if (v === undefined || v === null) return v;
    if ((allowed as readonly string[]).includes(v)) return v as T;
    this.error(
      [key],
      `unknown variant \`${v}\`, expected one of ${allowed.map((a) => `\`${a}\``).join(', ')}`,
      undefined,
      'invalid_value',
    );
    return null;
  }
}
