import { describeType } from '../config/field-reader.js';
import { suggestKey } from '../diagnostics/suggest.js';
import type { ApproverKey } from '../approval/signed-grant.js';
import { keyFingerprint, parsePublicKeyText } from '../approval/signed-grant.js';
import { HUMAN_APPROVAL_CATEGORIES } from '../policy/model.js';
import type { RequirementSource } from './model.js';
import type { TableReporter } from './parse-gatehouse-tables.js';
import { warnUnknownKey } from './parse-gatehouse-tables.js';

/**
 * `[gatehouse_approvals]` (Gatehouse-only; Codex ignores it): who may grant approvals that the
 * requester cannot forge, and which human-approval categories may be approved in-band.
 *
 *   [gatehouse_approvals]
 *   approvers = [
 *     { name = "bob", public_key = "ed25519:BASE64" },
 *     { name = "carol", public_key = "ed25519:BASE64", os_users = ["carol", "cw"] },
 *     { name = "dave", public_key = "ed25519:BASE64", subjects = ["00u1dave"] },
 *     { name = "team-gateway", public_key = "ed25519:BASE64", gateway = true, groups = ["approvers"] },
 *   ]
 *   in_band_categories = ["production_state"]
 */
export interface GatehouseApprovalsLayer {
  approvers?: ApproverKey[];
  inBandCategories?: string[];
}

/** The composed table: the approver keys and the categories an admin allowed in-band. */
export interface ApprovalRequirements {
  /** Empty: no keys listed (two_person calls cannot be approved). */
  approvers: ApproverKey[];
  inBandCategories: string[];
  /** The layers the approvers came from (what `requirements check` can show). */
  sources: RequirementSource[];
}

export const NO_APPROVAL_REQUIREMENTS: ApprovalRequirements = {
  approvers: [],
  inBandCategories: [],
  sources: [],
};

const KEYS = ['approvers', 'in_band_categories'];
const APPROVER_KEYS = ['name', 'public_key', 'os_users', 'subjects', 'gateway', 'groups'];
const NAME = /^[A-Za-z0-9._@-]{1,64}$/;

/** `[gatehouse_approvals]`; a wrong value is an error (the layer fails closed), never ignored. */
export function parseApprovalsTable(raw: unknown, r: TableReporter): GatehouseApprovalsLayer {
  const out: GatehouseApprovalsLayer = {};
  if (raw === undefined) return out;
  const path = ['gatehouse_approvals'];
  if (!r.isTable(raw, path)) return out;
  for (const [key, value] of Object.entries(raw)) {
    const at = [...path, key];
    if (key === 'approvers') {
      const list = parseApprovers(value, at, r);
      if (list) out.approvers = list;
    } else if (key === 'in_band_categories') {
      const known: readonly string[] = HUMAN_APPROVAL_CATEGORIES;
      if (!Array.isArray(value) || value.some((c) => typeof c !== 'string' || !known.includes(c)))
        r.error(
          at,
          `expected a list of human-approval categories (${known.join(', ')}), got ${JSON.stringify(value)}`,
          'e.g. in_band_categories = ["production_state"]; leave it out to keep every such approval out-of-band',
          'invalid_value',
        );
      else out.inBandCategories = value as string[];
    } else warnUnknownKey(r, at, '[gatehouse_approvals]', key, KEYS);
  }
  return out;
}

function parseApprovers(value: unknown, at: (string | number)[], r: TableReporter) {
  if (!Array.isArray(value)) {
    r.error(
      at,
      `invalid type: ${describeType(value)}, expected a list of { name = "…", public_key = "ed25519:…" }`,
      'run `gatehouse approvals keygen --name NAME` and paste the line it prints',
      'wrong_type',
    );
    return null;
  }
  const out: ApproverKey[] = [];
  let ok = true;
  value.forEach((entry: unknown, i) => {
    const here = [...at, i];
    if (!r.isTable(entry, here)) {
      ok = false;
      return;
    }
    for (const key of Object.keys(entry)) {
      if (APPROVER_KEYS.includes(key)) continue;
      ok = false;
      const guess = suggestKey(key, APPROVER_KEYS);
      r.error(
        [...here, key],
        `unknown key \`${key}\` in an approver`,
        guess ? `did you mean \`${guess}\`?` : `known keys: ${APPROVER_KEYS.join(', ')}`,
        'unknown_key',
      );
    }
    const name = entry.name;
    if (typeof name !== 'string' || !NAME.test(name)) {
      ok = false;
      r.error(
        [...here, 'name'],
        name === undefined
          ? 'an approver needs `name` (the person, as audit records name them)'
          : 'expected a name of 1–64 letters, digits, . _ @ -',
        undefined,
        name === undefined ? 'missing_field' : 'invalid_value',
      );
      return;
    }
    const parsed = parsePublicKeyText(entry.public_key);
    if ('error' in parsed) {
      ok = false;
      r.error(
        [...here, 'public_key'],
        entry.public_key === undefined ? 'an approver needs `public_key`' : parsed.error,
        'run `gatehouse approvals keygen --name NAME` on the approver’s account and paste the line it prints',
        entry.public_key === undefined ? 'missing_field' : 'invalid_value',
      );
      return;
    }
    let osUsers = [name];
    if (entry.os_users !== undefined) {
      if (
        !Array.isArray(entry.os_users) ||
        entry.os_users.some((u) => typeof u !== 'string' || !NAME.test(u))
      ) {
        ok = false;
        r.error(
          [...here, 'os_users'],
          'expected a list of OS user names (the accounts this person logs in as)',
          undefined,
          'invalid_value',
        );
        return;
      }
      osUsers = [...new Set([name, ...(entry.os_users as string[])])];
    }
    let subjects: string[] | undefined;
    if (entry.subjects !== undefined) {
      if (
        !Array.isArray(entry.subjects) ||
        entry.subjects.some((u) => typeof u !== 'string' || !/^[\x21-\x7e]{1,200}$/.test(u))
      ) {
        ok = false;
        r.error(
          [...here, 'subjects'],
          'expected a list of identity-provider subjects (the `sub` claims this person signs in with)',
          undefined,
          'invalid_value',
        );
        return;
      }
      subjects = [...new Set(entry.subjects as string[])];
    }
    const gateway = gatewayEntry(entry, here, subjects, r);
    if (gateway === 'error') {
      ok = false;
      return;
    }
    const fingerprint = keyFingerprint(parsed.key);
    const clash = out.find((a) => a.fingerprint === fingerprint || a.name === name);
    if (clash) {
      ok = false;
      r.error(
        here,
        clash.name === name
          ? `approver '${name}' is listed twice in this file`
          : `this public key is already listed for '${clash.name}': one key is one person`,
        'keep one entry per person and key',
        'duplicate_definition',
      );
      return;
    }
    out.push({
      name,
      osUsers: gateway ? [] : osUsers,
      ...(gateway ? { gateway } : subjects ? { subjects } : {}),
      publicKey: parsed.key,
      fingerprint,
      text: (entry.public_key as string).trim(),
    });
  });
  return ok ? out : null;
}

/**
 * `gateway = true`: a team gateway's key, which signs for the people it authenticated; then
 * `subjects` and `groups` say who may approve through it (at least one person or group: a
 * gateway key that anyone may use would make every signed-in user an approver).
 */
function gatewayEntry(
  entry: Record<string, unknown>,
  here: (string | number)[],
  subjects: string[] | undefined,
  r: TableReporter,
): { subjects: string[]; groups: string[] } | null | 'error' {
  if (entry.gateway === undefined || entry.gateway === false) {
    if (entry.groups === undefined) return null;
    r.error(
      [...here, 'groups'],
      '`groups` is only for a gateway key (gateway = true): who may approve through it',
      'a person’s key names the person with `subjects` / `os_users`',
      'invalid_value',
    );
    return 'error';
  }
  if (entry.gateway !== true) {
    r.error([...here, 'gateway'], 'expected true or false', undefined, 'wrong_type');
    return 'error';
  }
  if (entry.os_users !== undefined) {
    r.error(
      [...here, 'os_users'],
      'a gateway key is not a person: it has no OS users',
      'remove `os_users`; list who may approve through it with `subjects` / `groups`',
      'invalid_value',
    );
    return 'error';
  }
  const groups = entry.groups;
  if (
    groups !== undefined &&
    (!Array.isArray(groups) || groups.some((g) => typeof g !== 'string' || g === ''))
  ) {
    r.error(
      [...here, 'groups'],
      'expected a list of group names (the identity provider’s groups claim)',
      undefined,
      'invalid_value',
    );
    return 'error';
  }
  const out = { subjects: subjects ?? [], groups: [...new Set((groups ?? []) as string[])] };
  if (out.subjects.length === 0 && out.groups.length === 0) {
    r.error(
      here,
      'a gateway key needs `subjects` or `groups`: who may approve through it',
      'e.g. groups = ["approvers"]',
      'missing_field',
    );
    return 'error';
  }
  return out;
}

/** Layers an admin owns (a system file); the others are the governed user's. */
function adminOwned(source: RequirementSource): boolean {
  return source.kind === 'system_file' || source.kind === 'codex_file';
}

/**
 * Folds layers: approvers are unioned by name (a higher layer's entry replaces a same-name one).
 * Listing an approver loosens two_person, so when any admin-owned layer (a system file) exists,
 * only admin-owned layers may list approvers or in-band categories; the user's own layers
 * (--requirements, the env channel) count only where no system file exists (then the user is
 * their own admin). A key listed under two names across layers keeps the first. Pure.
 */
export function composeApprovals(
  layers: readonly { source: RequirementSource; approvals: GatehouseApprovalsLayer }[],
): ApprovalRequirements {
  const anyAdmin = layers.some((l) => adminOwned(l.source));
  const byName = new Map<string, ApproverKey>();
  const inBand = new Set<string>();
  const sources: RequirementSource[] = [];
  for (const { source, approvals } of layers) {
    if (anyAdmin && !adminOwned(source)) continue;
    if (approvals.approvers) {
      for (const a of approvals.approvers) {
        const other = [...byName.values()].find(
          (b) => b.fingerprint === a.fingerprint && b.name !== a.name,
        );
        if (!other) byName.set(a.name, a);
      }
      sources.push(source);
    }
    for (const c of approvals.inBandCategories ?? []) inBand.add(c);
  }
  return { approvers: [...byName.values()], inBandCategories: [...inBand], sources };
}
