import { describeType, isPlainTable } from '../config/field-reader.js';
import type { KeyPath } from '../config/toml-document.js';
import type { CredentialModel } from '../credentials/model.js';
import { CREDENTIAL_MODELS } from '../credentials/model.js';
import type { RequirementSource } from './model.js';
import type { TableReporter } from './parse-gatehouse-tables.js';
import { warnUnknownKey } from './parse-gatehouse-tables.js';

/**
 * `[gatehouse_credentials]` (Gatehouse-only; Codex ignores it): which credential models the
 * admin allows, for every server and per server. A server whose model is not allowed is
 * disabled with the rule named, like an identity mismatch.
 *
 *   [gatehouse_credentials]
 *   credential_model = ["user", "exchange", "none"]   # every server (optional)
 *   [gatehouse_credentials.servers."payments"]
 *   credential_model = "user"                          # one model, or a list
 */
export interface CredentialRule {
  allowed: CredentialModel[];
  source: RequirementSource;
  /** The key as written, for messages: `gatehouse_credentials.servers."payments".credential_model`. */
  key: string;
}

export interface CredentialRequirements {
  /** For servers without their own entry; null: any model. */
  everyServer: CredentialRule | null;
  servers: Map<string, CredentialRule>;
  /** Rules a user layer added over the admin's: a server must ALSO satisfy each. */
  narrowing: { server: string | null; rule: CredentialRule }[];
}

export const NO_CREDENTIAL_REQUIREMENTS: CredentialRequirements = {
  everyServer: null,
  servers: new Map(),
  narrowing: [],
};

export interface GatehouseCredentialsLayer {
  everyServer?: CredentialRule;
  servers: Map<string, CredentialRule>;
}

const KEYS = ['credential_model', 'servers'];

function readModels(value: unknown, at: KeyPath, r: TableReporter): CredentialModel[] | undefined {
  const list = typeof value === 'string' ? [value] : value;
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    list.some((v) => typeof v !== 'string' || !(CREDENTIAL_MODELS as string[]).includes(v))
  ) {
    r.error(
      at,
      `expected a credential model or a non-empty list of them (${CREDENTIAL_MODELS.map((m) => `"${m}"`).join(', ')}), got ${typeof value === 'string' ? JSON.stringify(value) : describeType(value)}`,
      'e.g. credential_model = "user" or credential_model = ["user", "exchange"]',
      'invalid_value',
    );
    return undefined;
  }
  return [...new Set(list as CredentialModel[])];
}

const keyText = (path: KeyPath) =>
  path.map((p, i) => (i > 0 && /[^A-Za-z0-9_-]/.test(String(p)) ? `"${p}"` : p)).join('.');

/** `[gatehouse_credentials]`; a wrong value is an error (the layer fails closed), never ignored. */
export function parseCredentialsTable(
  raw: unknown,
  r: TableReporter,
  source: RequirementSource,
): GatehouseCredentialsLayer {
  const out: GatehouseCredentialsLayer = { servers: new Map() };
  if (raw === undefined) return out;
  const path = ['gatehouse_credentials'];
  if (!r.isTable(raw, path)) return out;
  const rule = (at: KeyPath, value: unknown): CredentialRule | undefined => {
    const allowed = readModels(value, at, r);
    return allowed ? { allowed, source, key: keyText(at) } : undefined;
  };
  for (const [key, value] of Object.entries(raw)) {
    const at = [...path, key];
    if (key === 'credential_model') {
      const every = rule(at, value);
      if (every) out.everyServer = every;
    } else if (key === 'servers') {
      if (!isPlainTable(value)) {
        r.error(
          at,
          `invalid type: ${describeType(value)}, expected a table of servers ([gatehouse_credentials.servers."NAME"])`,
          undefined,
          'wrong_type',
        );
        continue;
      }
      for (const [name, entry] of Object.entries(value)) {
        const where = [...at, name];
        if (!r.isTable(entry, where)) continue;
        for (const [k, v] of Object.entries(entry)) {
          if (k !== 'credential_model') {
            warnUnknownKey(r, [...where, k], 'a server credential rule', k, ['credential_model']);
            continue;
          }
          const one = rule([...where, k], v);
          if (one) out.servers.set(name, one);
        }
        if (entry.credential_model === undefined)
          r.error(
            where,
            `missing \`credential_model\` in [${keyText(where)}]`,
            'e.g. credential_model = "user"',
            'missing_field',
          );
      }
    } else warnUnknownKey(r, at, '[gatehouse_credentials]', key, KEYS);
  }
  return out;
}

/** Layers composed: a higher layer's rule for the same server (or for every server) replaces. Pure. */
export function composeCredentials(
  layers: readonly { credentials: GatehouseCredentialsLayer }[],
): CredentialRequirements {
  const out: CredentialRequirements = { everyServer: null, servers: new Map(), narrowing: [] };
  for (const { credentials } of layers) {
    if (credentials.everyServer) out.everyServer = credentials.everyServer;
    for (const [name, rule] of credentials.servers) out.servers.set(name, rule);
  }
  return out;
}

/** A user layer over the admin's: its rules only narrow (a server must satisfy both). Pure. */
export function tightenCredentials(
  base: CredentialRequirements,
  layer: GatehouseCredentialsLayer,
): CredentialRequirements {
  const narrowing = [...base.narrowing];
  if (layer.everyServer) narrowing.push({ server: null, rule: layer.everyServer });
  for (const [server, rule] of layer.servers) narrowing.push({ server, rule });
  return { ...base, narrowing };
}

/** Whether any rule restricts credential models at all. */
export function restrictsCredentials(c: CredentialRequirements): boolean {
  return c.everyServer !== null || c.servers.size > 0 || c.narrowing.length > 0;
}

/**
 * The rules a server's model must satisfy: its own entry (or the every-server rule), then any
 * narrowing a user layer added. Pure.
 */
export function credentialRulesFor(c: CredentialRequirements, server: string): CredentialRule[] {
  const own = c.servers.get(server) ?? c.everyServer;
  return [
    ...(own ? [own] : []),
    ...c.narrowing.filter((n) => n.server === null || n.server === server).map((n) => n.rule),
  ];
}
