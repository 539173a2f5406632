import { describeType } from '../config/field-reader.js';
import { suggestKey } from '../diagnostics/suggest.js';
import { compileCustomPattern } from '../masking/custom-patterns.js';
import { builtInRules } from '../masking/detect.js';
import { parseFieldPattern } from '../masking/field-paths.js';
import type { BinaryContent, MaskForm, MaskingPolicy } from '../masking/policy.js';
import { BINARY_CONTENT, DEFAULT_MASKING_POLICY, MASK_FORMS } from '../masking/policy.js';
import type { TableReporter } from './parse-gatehouse-tables.js';
import { readBoolean, warnUnknownKey } from './parse-gatehouse-tables.js';

/** `[gatehouse_masking]` as one layer states it (keys it leaves out stay undefined). */
export type GatehouseMaskingLayer = Partial<MaskingPolicy>;

const KEYS = [
  'ip_addresses',
  'exempt_servers',
  'exempt_tools',
  'exempt_detectors',
  'fields',
  'patterns',
  'forms',
  'tokens',
  'binary_content',
  'result_budget_bytes',
  'result_budgets',
];

/** Smallest budget an admin may set: room for the notice that says what was cut. */
const MIN_RESULT_BUDGET = 4096;
const KIND = /^[a-z][a-z0-9_]{0,31}$/;

/** Every built-in detector id and kind (what `exempt_detectors` may name). */
export function knownDetectorNames(): string[] {
  const rules = builtInRules({ ipAddresses: true });
  return [...new Set([...rules.map((r) => r.id), ...rules.map((r) => r.kind)])];
}

/**
 * `[gatehouse_masking]`: masking is on for everything by default; this table is where an admin
 * (never a user) exempts servers, tools and detectors, names customer fields and patterns, and
 * picks partial forms and reversible tokens. A wrong value is an error (the layer fails
 * closed); a custom regex that could backtrack catastrophically is rejected with the reason.
 */
export function parseMaskingTable(raw: unknown, r: TableReporter): GatehouseMaskingLayer {
  const out: GatehouseMaskingLayer = {};
  if (raw === undefined) return out;
  const path = ['gatehouse_masking'];
  if (!r.isTable(raw, path)) return out;
  const strings = (key: string, value: unknown): string[] | null => {
    if (Array.isArray(value) && value.every((v) => typeof v === 'string' && v.trim() !== ''))
      return value as string[];
    r.error(
      [...path, key],
      `expected an array of non-empty strings, got ${describeType(value)}`,
      undefined,
      'wrong_type',
    );
    return null;
  };
  const customKinds = new Set(isRecord(raw.patterns) ? Object.keys(raw.patterns) : []);
  for (const [key, value] of Object.entries(raw)) {
    const at = [...path, key];
    switch (key) {
      case 'ip_addresses': {
        const v = readBoolean(value, at, r);
        if (v !== undefined) out.ipAddresses = v;
        break;
      }
      case 'exempt_servers':
      case 'exempt_tools': {
        const list = strings(key, value);
        if (!list) break;
        if (key === 'exempt_tools') {
          const bad = list.find((t) => !t.includes('/'));
          if (bad) {
            r.error(
              at,
              `"${bad}" is not SERVER/TOOL`,
              'write e.g. "docs/search_*" (globs allowed)',
              'invalid_value',
            );
            break;
          }
          out.exemptTools = list;
        } else out.exemptServers = list;
        break;
      }
      case 'exempt_detectors': {
        const list = strings(key, value);
        if (!list) break;
        const known = [...knownDetectorNames(), ...customKinds];
        const unknown = list.filter((d) => !known.includes(d));
        if (unknown.length > 0) {
          const guess = suggestKey(unknown[0] as string, known);
          r.error(
            at,
            `unknown detector "${unknown[0]}"`,
            guess
              ? `did you mean "${guess}"? (\`gatehouse mask --list-detectors\` lists them)`
              : '`gatehouse mask --list-detectors` lists the detector ids and kinds',
            'invalid_value',
          );
          break;
        }
        out.exemptDetectors = list;
        break;
      }
      case 'fields':
        out.fields = parseFields(value, at, r);
        break;
      case 'patterns':
        out.patterns = parsePatterns(value, at, r);
        break;
      case 'forms':
        out.forms = parseForms(value, at, r);
        break;
      case 'tokens':
        out.tokens = parseTokens(value, at, r);
        break;
      case 'binary_content':
        if (typeof value === 'string' && (BINARY_CONTENT as readonly string[]).includes(value))
          out.binaryContent = value as BinaryContent;
        else
          r.error(
            at,
            `expected one of ${BINARY_CONTENT.map((f) => `"${f}"`).join(', ')}, got ${describeType(value)}`,
            'media (default) lets real images, audio and video through and withholds other binary; pass lets all binary through; withhold withholds it all',
            'invalid_value',
          );
        break;
      case 'result_budget_bytes': {
        const bytes = budgetBytes(value, at, r);
        if (bytes !== null) out.resultBudgetBytes = bytes;
        break;
      }
      case 'result_budgets':
        out.resultBudgets = parseBudgets(value, at, r);
        break;
      default:
        warnUnknownKey(r, at, '[gatehouse_masking]', key, KEYS);
    }
  }
  return out;
}

/** A byte count for a result budget: an integer of at least MIN_RESULT_BUDGET. */
function budgetBytes(value: unknown, at: string[], r: TableReporter): number | null {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= MIN_RESULT_BUDGET)
    return value;
  r.error(
    at,
    `expected a whole number of bytes (at least ${MIN_RESULT_BUDGET}), got ${typeof value === 'number' ? String(value) : describeType(value)}`,
    'e.g. 1048576 for 1 MiB',
    typeof value === 'number' ? 'invalid_value' : 'wrong_type',
  );
  return null;
}

/** `[gatehouse_masking.result_budgets] "SERVER/TOOL" = bytes` (globs; `SERVER/*` for a server). */
function parseBudgets(
  value: unknown,
  at: string[],
  r: TableReporter,
): MaskingPolicy['resultBudgets'] {
  const out: MaskingPolicy['resultBudgets'] = [];
  if (!r.isTable(value, at)) return out;
  for (const [pattern, bytes] of Object.entries(value)) {
    if (!pattern.includes('/')) {
      r.error(
        [...at, pattern],
        `"${pattern}" is not SERVER/TOOL`,
        `write e.g. "${pattern}/*" for every tool of that server (globs allowed)`,
        'invalid_value',
      );
      continue;
    }
    const n = budgetBytes(bytes, [...at, pattern], r);
    if (n !== null) out.push({ pattern, bytes: n });
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** `fields = ["customer.email"]` (kind customer_data) or `[gatehouse_masking.fields] "a.b" = "kind"`. */
function parseFields(value: unknown, at: string[], r: TableReporter): MaskingPolicy['fields'] {
  const entries: [string, string, string[]][] = [];
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      if (typeof v === 'string') entries.push([v, 'customer_data', [...at, String(i)]]);
      else
        r.error(
          [...at, String(i)],
          `expected a field path string, got ${describeType(v)}`,
          undefined,
          'wrong_type',
        );
    });
  } else if (r.isTable(value, at)) {
    for (const [p, kind] of Object.entries(value)) {
      if (typeof kind !== 'string' || !KIND.test(kind)) {
        r.error(
          [...at, p],
          `expected a kind name (lower-case letters, digits, _), got ${describeType(kind)}`,
          'e.g. "customer.email" = "email"',
          'invalid_value',
        );
        continue;
      }
      entries.push([p, kind, [...at, p]]);
    }
  } else return [];
  const out: MaskingPolicy['fields'] = [];
  for (const [source, kind, where] of entries) {
    const pattern = parseFieldPattern(source);
    if ('error' in pattern) {
      r.error(
        where,
        `field path "${source}" ${pattern.error}`,
        'write a key (ssn), a dotted path (customer.email), * for one key, ** for any depth',
        'invalid_value',
      );
      continue;
    }
    out.push({ pattern, kind });
  }
  return out;
}

function parsePatterns(value: unknown, at: string[], r: TableReporter): MaskingPolicy['patterns'] {
  if (!r.isTable(value, at)) return [];
  const out: MaskingPolicy['patterns'] = [];
  for (const [kind, source] of Object.entries(value)) {
    if (typeof source !== 'string') {
      r.error(
        [...at, kind],
        `expected a regular expression string, got ${describeType(source)}`,
        undefined,
        'wrong_type',
      );
      continue;
    }
    const compiled = compileCustomPattern(kind, source);
    if ('error' in compiled) {
      r.error([...at, kind], `pattern ${compiled.error}`, undefined, 'invalid_value');
      continue;
    }
    out.push(compiled);
  }
  return out;
}

function parseForms(value: unknown, at: string[], r: TableReporter): Record<string, MaskForm> {
  const out: Record<string, MaskForm> = {};
  if (!r.isTable(value, at)) return out;
  for (const [kind, form] of Object.entries(value)) {
    if (typeof form === 'string' && (MASK_FORMS as readonly string[]).includes(form)) {
      out[kind] = form as MaskForm;
    } else {
      r.error(
        [...at, kind],
        `expected one of ${MASK_FORMS.map((f) => `"${f}"`).join(', ')}, got ${describeType(form)}`,
        "last4 keeps the last four characters (cards, phones); domain keeps an email's domain",
        'invalid_value',
      );
    }
  }
  return out;
}

function parseTokens(value: unknown, at: string[], r: TableReporter): MaskingPolicy['tokens'] {
  const out: MaskingPolicy['tokens'] = [];
  if (!r.isTable(value, at)) return out;
  for (const [kind, servers] of Object.entries(value)) {
    if (!KIND.test(kind)) {
      r.error(
        [...at, kind],
        `"${kind}" is not a kind name`,
        'use a detector kind such as email or phone, or a field/pattern kind',
        'invalid_value',
      );
      continue;
    }
    if (!Array.isArray(servers) || !servers.every((s) => typeof s === 'string' && s !== '')) {
      r.error(
        [...at, kind],
        `expected an array of server names (globs allowed) that may receive real ${kind} values, got ${describeType(servers)}`,
        'use [] to tokenise without giving any server the real value',
        'wrong_type',
      );
      continue;
    }
    out.push({ kind, servers: servers as string[] });
  }
  return out;
}

/** Layers combined: lists and named entries accumulate; a later layer's scalar wins. */
export function composeMaskingPolicy(layers: readonly GatehouseMaskingLayer[]): MaskingPolicy {
  const out: MaskingPolicy = {
    ...DEFAULT_MASKING_POLICY,
    exemptServers: [],
    exemptTools: [],
    exemptDetectors: [],
    fields: [],
    patterns: [],
    forms: {},
    tokens: [],
    resultBudgets: [],
  };
  for (const l of layers) {
    if (l.binaryContent !== undefined) out.binaryContent = l.binaryContent;
    if (l.resultBudgetBytes !== undefined) out.resultBudgetBytes = l.resultBudgetBytes;
    out.resultBudgets.push(...(l.resultBudgets ?? []));
    if (l.ipAddresses !== undefined) out.ipAddresses = l.ipAddresses;
    out.exemptServers.push(...(l.exemptServers ?? []));
    out.exemptTools.push(...(l.exemptTools ?? []));
    out.exemptDetectors.push(...(l.exemptDetectors ?? []));
    out.fields.push(...(l.fields ?? []));
    for (const p of l.patterns ?? []) {
      out.patterns = [...out.patterns.filter((x) => x.kind !== p.kind), p];
    }
    Object.assign(out.forms, l.forms ?? {});
    for (const t of l.tokens ?? []) {
      out.tokens = [...out.tokens.filter((x) => x.kind !== t.kind), t];
    }
  }
  return out;
}
