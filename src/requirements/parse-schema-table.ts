/**
 * `[gatehouse_schema]` (Gatehouse-only; Codex ignores it): where the tool schema lock is, whether
 * every server must be in it, and what the gateway does with each class of drift. A wrong value
 * is an error (the layer then fails closed), never ignored.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { describeType } from '../config/field-reader.js';
import type { DriftAction } from '../schema/enforce.js';
import { DEFAULT_SCHEMA_POLICY, DRIFT_ACTIONS } from '../schema/enforce.js';
import type { ChangeClass } from '../schema/diff-json-schema.js';
import type { TableReporter } from './parse-gatehouse-tables.js';
import { warnUnknownKey } from './parse-gatehouse-tables.js';
import type { RequirementSource, SetBy } from './model.js';

/** `[gatehouse_schema]` keys one layer sets (`on_drift` already spread over breaking and risky). */
export interface GatehouseSchemaLayer {
  lockPath?: string;
  lock?: 'required' | 'optional';
  onClass: Partial<Record<ChangeClass, DriftAction>>;
}

/** The composed `[gatehouse_schema]`, each value with the layer that set it. */
export interface SchemaRequirements {
  /** Absolute path; when set it wins over `--lock` for the gateway. */
  lockPath: SetBy<string> | null;
  lock: SetBy<'required' | 'optional'> | null;
  onClass: Partial<Record<ChangeClass, SetBy<DriftAction>>>;
}

export const NO_SCHEMA_REQUIREMENTS: SchemaRequirements = {
  lockPath: null,
  lock: null,
  onClass: {},
};

const CLASS_KEYS: Record<string, ChangeClass> = {
  on_breaking: 'breaking',
  on_risky: 'risky',
  on_widening: 'widening',
  on_version: 'version',
  on_cosmetic: 'cosmetic',
};
const SCHEMA_KEYS = ['lock_path', 'lock', 'on_drift', ...Object.keys(CLASS_KEYS)];

export function parseSchemaTable(
  raw: unknown,
  r: TableReporter,
  source: RequirementSource,
): GatehouseSchemaLayer {
  const out: GatehouseSchemaLayer = { onClass: {} };
  if (raw === undefined) return out;
  const path = ['gatehouse_schema'];
  if (!r.isTable(raw, path)) return out;
  const action = (key: string, value: unknown): DriftAction | null => {
    if ((DRIFT_ACTIONS as readonly unknown[]).includes(value)) return value as DriftAction;
    r.error(
      [...path, key],
      `expected one of ${DRIFT_ACTIONS.map((a) => `"${a}"`).join(', ')}, got ${typeof value === 'string' ? JSON.stringify(value) : describeType(value)}`,
      undefined,
      'invalid_value',
    );
    return null;
  };
  for (const [key, value] of Object.entries(raw)) {
    const at = [...path, key];
    if (!SCHEMA_KEYS.includes(key)) {
      warnUnknownKey(r, at, '[gatehouse_schema]', key, SCHEMA_KEYS);
    } else if (key === 'lock_path') {
      if (typeof value !== 'string' || value.trim() === '') {
        r.error(
          at,
          `expected a non-empty file path, got ${describeType(value)}`,
          undefined,
          'wrong_type',
        );
      } else if (isAbsolute(value)) out.lockPath = value;
      else if (source.kind === 'env') {
        r.error(
          at,
          `a relative lock_path in ${source.name} has no directory to be relative to`,
          'write an absolute path',
          'invalid_value',
        );
      } else out.lockPath = resolve(dirname(source.path), value);
    } else if (key === 'lock') {
      if (value === 'required' || value === 'optional') out.lock = value;
      else
        r.error(
          at,
          `expected "required" or "optional", got ${typeof value === 'string' ? JSON.stringify(value) : describeType(value)}`,
          undefined,
          'invalid_value',
        );
    } else if (key === 'on_drift') {
      const a = action(key, value);
      if (a) {
        out.onClass.breaking ??= a;
        out.onClass.risky ??= a;
      }
    } else {
      const a = action(key, value);
      // A class key is more specific than on_drift, whichever comes first in the file.
      if (a) out.onClass[CLASS_KEYS[key] as ChangeClass] = a;
    }
  }
  return out;
}

/** Folds layers low → high: each key set by a higher layer wins. */
export function composeSchemaLayers(
  layers: readonly { source: RequirementSource; schema: GatehouseSchemaLayer }[],
): SchemaRequirements {
  const out: SchemaRequirements = { lockPath: null, lock: null, onClass: {} };
  for (const { source, schema } of layers) {
    if (schema.lockPath !== undefined) out.lockPath = { value: schema.lockPath, source };
    if (schema.lock !== undefined) out.lock = { value: schema.lock, source };
    for (const [cls, action] of Object.entries(schema.onClass))
      out.onClass[cls as ChangeClass] = { value: action, source };
  }
  return out;
}

/** The effective policy: the admin's settings over the defaults. */
export function schemaPolicyOf(req: SchemaRequirements) {
  return {
    lock: req.lock?.value ?? DEFAULT_SCHEMA_POLICY.lock,
    onClass: {
      breaking: req.onClass.breaking?.value ?? DEFAULT_SCHEMA_POLICY.onClass.breaking,
      risky: req.onClass.risky?.value ?? DEFAULT_SCHEMA_POLICY.onClass.risky,
      widening: req.onClass.widening?.value ?? DEFAULT_SCHEMA_POLICY.onClass.widening,
      version: req.onClass.version?.value ?? DEFAULT_SCHEMA_POLICY.onClass.version,
      cosmetic: req.onClass.cosmetic?.value ?? DEFAULT_SCHEMA_POLICY.onClass.cosmetic,
    },
  };
}
