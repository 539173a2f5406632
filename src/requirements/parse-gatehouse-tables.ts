import { isAbsolute } from 'node:path';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { suggestKey } from '../diagnostics/suggest.js';
import { describeType, isPlainTable } from '../config/field-reader.js';
import type { KeyPath } from '../config/toml-document.js';
import type { ApprovalLevel, Effect, ToolRule } from '../policy/model.js';
import { APPROVAL_LEVELS, EFFECTS, HUMAN_APPROVAL_CATEGORIES } from '../policy/model.js';
import type { RequirementSource } from './model.js';
import { readAudienceList } from './parse-scopes-table.js';
import type { WebhookFormat } from '../approval/webhook.js';
import { WEBHOOK_FORMATS } from '../approval/webhook.js';
import type { SecretRef } from '../credentials/model.js';
import { readSecretRef } from '../credentials/parse-credentials.js';

/**
 * The Gatehouse-only tables of requirements.toml (`[gatehouse_policy]`, `[gatehouse_audit]`),
 * which Codex ignores. Parsed by the requirements layer parser through this small reporter.
 */
export interface TableReporter {
  isTable(value: unknown, path: KeyPath): value is Record<string, unknown>;
  error(path: KeyPath, message: string, hint?: string, code?: Diagnostic['code']): void;
  warn(path: KeyPath, message: string, hint?: string, code?: Diagnostic['code']): void;
}

/** A boolean key's value, or undefined after reporting the wrong type (the layer fails closed). */
export function readBoolean(value: unknown, at: KeyPath, r: TableReporter): boolean | undefined {
  if (typeof value === 'boolean') return value;
  r.error(
    at,
    `invalid type: ${describeType(value)}, expected true or false`,
    undefined,
    'wrong_type',
  );
  return undefined;
}

/** Warns about a key a Gatehouse table does not know, suggesting the closest known one. */
export function warnUnknownKey(
  r: TableReporter,
  at: KeyPath,
  where: string,
  key: string,
  known: readonly string[],
): void {
  const guess = suggestKey(key, [...known]);
  r.warn(
    at,
    `unknown key \`${key}\` in ${where}`,
    guess ? `did you mean \`${guess}\`?` : `known keys: ${known.join(', ')}`,
  );
}

/** `[gatehouse_policy]` as one layer states it: read-only mode, extra categories, tool rules by key. */
export interface GatehousePolicyLayer {
  readOnly?: boolean;
  defaultApproval?: 'client' | 'gatehouse';
  approvalWaitSeconds?: number;
  approvalTtlSeconds?: number;
  approvalWebhook?: string;
  /** The webhook's shape, secret reference and console link (they go with the webhook). */
  approvalWebhookFormat?: WebhookFormat;
  approvalWebhookSecret?: SecretRef;
  approvalConsoleUrl?: string;
  categories: string[];
  tools: Map<string, ToolRule>;
}

function isHttpUrl(value: unknown): value is string {
  try {
    return typeof value === 'string' && ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

/** `[gatehouse_audit]` keys one layer sets. */
export type GatehouseAuditLayer = Partial<{
  failOpen: boolean;
  store: string;
  checkpointEveryRecords: number;
  checkpointEverySeconds: number;
  sharedAppender: boolean;
  witness: string;
}>;

const POLICY_KEYS = [
  'read_only',
  'default_approval',
  'approval_wait_seconds',
  'approval_ttl_seconds',
  'approval_webhook',
  'approval_webhook_format',
  'approval_webhook_secret',
  'approval_console_url',
  'categories',
  'tools',
];
const RULE_FIELDS = ['allow', 'effect', 'category', 'approval', 'subjects', 'groups'];
const AUDIT_KEYS = [
  'fail_open',
  'store',
  'checkpoint_every_records',
  'checkpoint_every_seconds',
  'shared_appender',
  'witness',
];

/**
 * `[gatehouse_policy]`: `read_only`, `categories` (names beyond the built-in ones), and
 * `[gatehouse_policy.tools."SERVER/TOOL"]` rules. Any wrong value is an error (fail closed).
 */
export function parsePolicyTable(
  raw: unknown,
  r: TableReporter,
  source: RequirementSource,
): GatehousePolicyLayer {
  const out: GatehousePolicyLayer = { categories: [], tools: new Map() };
  if (raw === undefined) return out;
  const path = ['gatehouse_policy'];
  if (!r.isTable(raw, path)) return out;
  for (const key of Object.keys(raw)) {
    if (!POLICY_KEYS.includes(key)) {
      const guess = suggestKey(key, POLICY_KEYS);
      r.warn(
        [...path, key],
        `unknown key \`${key}\` in [gatehouse_policy]`,
        guess ? `did you mean \`${guess}\`?` : `known keys: ${POLICY_KEYS.join(', ')}`,
      );
    }
  }
  if (raw.read_only !== undefined) {
    if (typeof raw.read_only === 'boolean') out.readOnly = raw.read_only;
    else
      r.error(
        [...path, 'read_only'],
        `invalid type: ${describeType(raw.read_only)}, expected true or false`,
        undefined,
        'wrong_type',
      );
  }
  if (raw.default_approval !== undefined) {
    if (raw.default_approval === 'client' || raw.default_approval === 'gatehouse')
      out.defaultApproval = raw.default_approval;
    else
      r.error(
        [...path, 'default_approval'],
        `expected "client" or "gatehouse", got ${JSON.stringify(raw.default_approval)}`,
        undefined,
        'invalid_value',
      );
  }
  for (const [key, field] of [
    ['approval_wait_seconds', 'approvalWaitSeconds'],
    ['approval_ttl_seconds', 'approvalTtlSeconds'],
  ] as const) {
    const value = raw[key];
    if (value === undefined) continue;
    if (typeof value === 'number' && Number.isFinite(value) && value > 0) out[field] = value;
    else
      r.error(
        [...path, key],
        `expected a number of seconds > 0, got ${describeType(value)}`,
        undefined,
        'invalid_value',
      );
  }
  for (const [key, field] of [
    ['approval_webhook', 'approvalWebhook'],
    ['approval_console_url', 'approvalConsoleUrl'],
  ] as const) {
    if (raw[key] === undefined) continue;
    if (isHttpUrl(raw[key])) out[field] = raw[key];
    else r.error([...path, key], 'expected an http:// or https:// URL', undefined, 'invalid_value');
  }
  const format = raw.approval_webhook_format;
  if (format !== undefined) {
    if ((WEBHOOK_FORMATS as readonly unknown[]).includes(format))
      out.approvalWebhookFormat = format as WebhookFormat;
    else
      r.error(
        [...path, 'approval_webhook_format'],
        `expected ${WEBHOOK_FORMATS.map((f) => `"${f}"`).join(', ')}, got ${JSON.stringify(format)}`,
        undefined,
        'invalid_value',
      );
  }
  if (raw.approval_webhook_secret !== undefined) {
    const secret = readSecretRef(
      r,
      [...path, 'approval_webhook_secret'],
      raw.approval_webhook_secret,
    );
    if (secret) out.approvalWebhookSecret = secret;
  }
  if (raw.categories !== undefined) {
    const list = raw.categories;
    if (
      !Array.isArray(list) ||
      list.some((c) => typeof c !== 'string' || !/^[a-z][a-z0-9_]*$/.test(c))
    ) {
      r.error(
        [...path, 'categories'],
        'expected a list of category names (lower-case letters, digits, _)',
        'e.g. categories = ["pii_exports"]',
        'wrong_type',
      );
    } else out.categories = list as string[];
  }
  const known = [...HUMAN_APPROVAL_CATEGORIES, ...out.categories];
  const tools = raw.tools;
  if (tools === undefined) return out;
  if (!isPlainTable(tools)) {
    r.error(
      [...path, 'tools'],
      `invalid type: ${describeType(tools)}, expected a table of "SERVER/TOOL" rules`,
      undefined,
      'wrong_type',
    );
    return out;
  }
  for (const [key, entry] of Object.entries(tools)) {
    const at = [...path, 'tools', key];
    const slash = key.indexOf('/');
    if (slash <= 0 || slash === key.length - 1 || key.indexOf('/', slash + 1) >= 0) {
      r.error(
        at,
        `rule key "${key}" must be "SERVER/TOOL" (each may be a glob with * and ?)`,
        'e.g. [gatehouse_policy.tools."payments/*"]',
        'invalid_value',
      );
      continue;
    }
    if (!r.isTable(entry, at)) continue;
    const rule: ToolRule = {
      key,
      server: key.slice(0, slash),
      tool: key.slice(slash + 1),
      allow: null,
      effect: null,
      category: null,
      approval: null,
      source,
    };
    let bad = false;
    for (const [field, value] of Object.entries(entry)) {
      const fieldAt = [...at, field];
      if (field === 'allow') {
        if (typeof value === 'boolean') rule.allow = value;
        else {
          bad = true;
          r.error(
            fieldAt,
            `expected true or false, got ${describeType(value)}`,
            undefined,
            'wrong_type',
          );
        }
      } else if (field === 'effect') {
        if ((EFFECTS as readonly unknown[]).includes(value)) rule.effect = value as Effect;
        else {
          bad = true;
          r.error(
            fieldAt,
            `unknown effect ${JSON.stringify(value)}: expected one of ${EFFECTS.join(', ')}`,
            undefined,
            'invalid_value',
          );
        }
      } else if (field === 'category') {
        if (typeof value === 'string' && known.includes(value)) rule.category = value;
        else {
          bad = true;
          r.error(
            fieldAt,
            `unknown category ${JSON.stringify(value)}: expected one of ${known.join(', ')}`,
            'declare your own in this file: [gatehouse_policy] categories = ["…"]',
            'invalid_value',
          );
        }
      } else if (field === 'approval') {
        if ((APPROVAL_LEVELS as readonly unknown[]).includes(value))
          rule.approval = value as ApprovalLevel;
        else {
          bad = true;
          r.error(
            fieldAt,
            `unknown approval ${JSON.stringify(value)}: expected one of ${APPROVAL_LEVELS.join(', ')}`,
            undefined,
            'invalid_value',
          );
        }
      } else if (field === 'subjects' || field === 'groups') {
        const list = readAudienceList(field, value, fieldAt, r);
        if (!list) bad = true;
        else rule.audience = { ...(rule.audience ?? { subjects: [], groups: [] }), [field]: list };
      } else {
        const guess = suggestKey(field, RULE_FIELDS);
        r.warn(
          fieldAt,
          `unknown key \`${field}\` in a tool rule`,
          guess ? `did you mean \`${guess}\`?` : `known keys: ${RULE_FIELDS.join(', ')}`,
        );
      }
    }
    if (
      !bad &&
      rule.allow === null &&
      !rule.effect &&
      !rule.category &&
      !rule.approval &&
      !rule.audience
    ) {
      r.warn(
        at,
        `tool rule "${key}" sets nothing`,
        `set allow, effect, category, approval, or subjects / groups`,
      );
    }
    const a = rule.audience;
    if (!bad && a && a.subjects.length === 0 && a.groups.length === 0)
      r.warn(
        at,
        `tool rule "${key}" has an audience that names nobody`,
        'as written, nobody may see or use the tools it matches; list subjects or groups',
      );
    if (!bad) out.tools.set(key, rule);
  }
  return out;
}

/** `[gatehouse_audit]`: a wrong value is an error (the layer then fails closed), never ignored. */
export function parseAuditTable(raw: unknown, r: TableReporter): GatehouseAuditLayer {
  const out: GatehouseAuditLayer = {};
  if (raw === undefined) return out;
  const path = ['gatehouse_audit'];
  if (!r.isTable(raw, path)) return out;
  for (const [key, value] of Object.entries(raw)) {
    const at = [...path, key];
    if (!AUDIT_KEYS.includes(key)) {
      warnUnknownKey(r, at, '[gatehouse_audit]', key, AUDIT_KEYS);
    } else if (key === 'fail_open') {
      const v = readBoolean(value, at, r);
      if (v !== undefined) out.failOpen = v;
    } else if (key === 'shared_appender') {
      const v = readBoolean(value, at, r);
      if (v !== undefined) out.sharedAppender = v;
    } else if (key === 'witness') {
      if (typeof value === 'string' && value.trim() !== '' && isAbsolute(value))
        out.witness = value;
      else
        r.error(
          at,
          `expected an absolute file path (the JSONL file every checkpoint is also appended to, e.g. "/var/lib/gatehouse/witness.jsonl")`,
          undefined,
          'wrong_type',
        );
    } else if (key === 'store') {
      if (typeof value === 'string' && value.trim() !== '') out.store = value;
      else
        r.error(
          at,
          `expected a non-empty string: a postgres:// URL or a SQLite file path`,
          undefined,
          'wrong_type',
        );
    } else {
      const ok =
        typeof value === 'number' &&
        Number.isFinite(value) &&
        value >= 1 &&
        (key !== 'checkpoint_every_records' || Number.isInteger(value));
      if (!ok) {
        r.error(
          at,
          `expected a ${key === 'checkpoint_every_records' ? 'whole number' : 'number'} ≥ 1, got ${describeType(value)}`,
          undefined,
          'invalid_value',
        );
      } else if (key === 'checkpoint_every_records') out.checkpointEveryRecords = value;
      else out.checkpointEverySeconds = value;
    }
  }
  return out;
}
