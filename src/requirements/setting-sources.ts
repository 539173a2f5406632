import type { SourceLocation } from '../diagnostics/diagnostic.js';
import type { TomlDocument } from '../config/toml-document.js';
import type { MaskingPolicy } from '../masking/policy.js';
import { DEFAULT_SCHEMA_POLICY } from '../schema/enforce.js';
import { describeSource } from './model.js';
import type { RequirementSource, Requirements } from './model.js';

/**
 * The effective `[gatehouse_masking]` and `[gatehouse_schema]` settings, each with where it was
 * set (`file:line` of every layer that wrote the key, lowest first) or `default`: an admin
 * reading `requirements check` must see which file to change, as for server and tool rules. Pure.
 */

export interface SettingSource {
  source: string;
  location: SourceLocation | null;
}

export interface SettingRow {
  table: 'gatehouse_masking' | 'gatehouse_schema';
  key: string;
  /** The effective value (lists and tables summarised to what they name, never secrets). */
  value: unknown;
  /** Layers that wrote the key, lowest first; empty: the built-in default applies. */
  setBy: SettingSource[];
}

type Documents = readonly { source: RequirementSource; doc: TomlDocument }[];

function writers(documents: Documents, table: string, key: string): SettingSource[] {
  return documents.flatMap(({ source, doc }) => {
    const t = doc.value[table];
    if (typeof t !== 'object' || t === null || !(key in t)) return [];
    return [{ source: describeSource(source), location: doc.locate([table, key]) }];
  });
}

function maskingValues(m: MaskingPolicy): Record<string, unknown> {
  return {
    ip_addresses: m.ipAddresses,
    exempt_servers: m.exemptServers,
    exempt_tools: m.exemptTools,
    exempt_detectors: m.exemptDetectors,
    fields: m.fields.map((f) => `${f.pattern.source} → ${f.kind}`),
    patterns: m.patterns.map((p) => p.kind),
    forms: m.forms,
    tokens: m.tokens.map((t) => `${t.kind} → ${t.servers.join(', ') || '(no server)'}`),
    binary_content: m.binaryContent,
    result_budget_bytes: m.resultBudgetBytes,
    result_budgets: m.resultBudgets.map((b) => `${b.pattern}: ${b.bytes}`),
  };
}

function schemaValues(r: Requirements['schema']): Record<string, unknown> {
  const d = DEFAULT_SCHEMA_POLICY;
  return {
    lock_path: r.lockPath?.value ?? null,
    lock: r.lock?.value ?? d.lock,
    on_breaking: r.onClass.breaking?.value ?? d.onClass.breaking,
    on_risky: r.onClass.risky?.value ?? d.onClass.risky,
    on_widening: r.onClass.widening?.value ?? d.onClass.widening,
    on_version: r.onClass.version?.value ?? d.onClass.version,
    on_cosmetic: r.onClass.cosmetic?.value ?? d.onClass.cosmetic,
  };
}

/** Every masking and schema setting, effective value and where it came from. */
export function settingRows(requirements: Requirements, documents: Documents): SettingRow[] {
  const rows: SettingRow[] = [];
  for (const [key, value] of Object.entries(maskingValues(requirements.masking)))
    rows.push({
      table: 'gatehouse_masking',
      key,
      value,
      setBy: writers(documents, 'gatehouse_masking', key),
    });
  for (const [key, value] of Object.entries(schemaValues(requirements.schema))) {
    // `on_drift` sets on_breaking and on_risky unless the class key itself is written.
    let setBy = writers(documents, 'gatehouse_schema', key);
    if (setBy.length === 0 && (key === 'on_breaking' || key === 'on_risky'))
      setBy = writers(documents, 'gatehouse_schema', 'on_drift');
    rows.push({ table: 'gatehouse_schema', key, value, setBy });
  }
  return rows;
}

/** `file:line` of the layer that decides (the last writer), or `default`. */
export function describeSetBy(row: SettingRow): string {
  if (row.setBy.length === 0) return 'default';
  return row.setBy
    .map((s) => (s.location ? `${s.location.file}:${s.location.line}` : s.source))
    .join(', ');
}

/** A value as one short cell of text. */
export function describeSettingValue(value: unknown): string {
  if (value === null) return '-';
  if (Array.isArray(value)) return value.length === 0 ? '[]' : value.join('; ');
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    return entries.length === 0 ? '{}' : entries.map(([k, v]) => `${k}=${String(v)}`).join(', ');
  }
  return String(value);
}
