import { composeTelemetry } from './parse-telemetry-table.js';
import { composeSchemaLayers } from './parse-schema-table.js';
import { composeHttpLayers } from './parse-http-table.js';
import { existsSync, realpathSync } from 'node:fs';
import type { Ownership } from './file-ownership.js';
import { requirementsFileOwnership } from './file-ownership.js';
import { tightenRequirements } from './tighten-requirements.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { promoteWarnings } from '../diagnostics/diagnostic.js';
import { readSourceFile } from '../config/read-source.js';
import { parseTomlDocument } from '../config/toml-document.js';
import type { TomlDocument } from '../config/toml-document.js';
import type { RequirementsLayer } from './parse-requirements.js';
import { parseRequirementsLayer } from './parse-requirements.js';
import type { RequirementSource, Requirements, ServerRule, ServerRuleSet } from './model.js';
import type { AuditRequirements } from './model.js';
import type { ToolPolicy, ToolRule } from '../policy/model.js';
import { NO_TOOL_POLICY } from '../policy/model.js';
import { composePluginGovernance } from './parse-plugins-table.js';
import {
  describeSource,
  NO_AUDIT_REQUIREMENTS,
  REQUIREMENTS_ENV_VAR,
  SYSTEM_REQUIREMENTS_FILE,
} from './model.js';
import { composeMaskingPolicy } from './parse-masking-table.js';
import { composeApprovals } from './parse-approvals-table.js';
import { composeIdentity } from './parse-identity-table.js';
import { composeScopes } from './parse-scopes-table.js';
import { composeCredentials } from './parse-credentials-table.js';

/**
 * Requirement layers, lowest precedence first:
 *   1. `/etc/gatehouse/requirements.toml` — the system file
 *   2. `$GATEHOUSE_REQUIREMENTS_TOML_BASE64` — the MDM-style channel
 *   3. each `--requirements FILE`, in order
 *
 * When the system file is admin-owned (see `requirementsFileOwnership`: the user running
 * Gatehouse cannot change it), it is a floor: every other layer is under the governed user's
 * control (their environment, their flags, the `env` table of their Codex entry) and may only
 * TIGHTEN it (`tightenRequirements`); what would loosen is ignored and reported. Without an
 * admin-owned system file (a single developer), layers compose as they always did:
 * `mcp_servers` is a union by server name; a higher layer's rule for a name REPLACES the lower
 * layer's rule whole (Codex merges key by key, which lets a partial override weaken a rule), and
 * `--requirements` skips the system file.
 */
export interface LoadRequirementsOptions {
  requirementFiles: string[];
  env: NodeJS.ProcessEnv;
  systemFile?: string;
  /** Warnings count as errors (and so fail closed). */
  strict?: boolean;
  /** Decides whether the system file is admin-owned (tests inject it; default: stat + access). */
  ownership?: (path: string) => Ownership;
}

/** Who controls a layer: the admin (a floor) or the governed user (tightens only, over a floor). */
export type LayerRole = 'admin' | 'user';

/**
 * How a layer took effect: `full` (composed as written), `tighten_only` (over an admin layer:
 * its loosening settings are in `ignored`), or `none` (absent, skipped or unreadable).
 */
export type LayerEffect = 'full' | 'tighten_only' | 'none';

export interface LayerStatus {
  source: RequirementSource;
  status: 'loaded' | 'absent' | 'error' | 'skipped';
  note?: string;
  role: LayerRole;
  effect: LayerEffect;
  /** Settings of a tighten-only layer that were ignored, each with why. */
  ignored: string[];
}

export interface LoadedRequirements {
  requirements: Requirements;
  layers: LayerStatus[];
  diagnostics: Diagnostic[];
  /** Any error: every server must be disabled (fail closed). */
  invalid: boolean;
  /** True when an admin-owned layer is the floor (the others only tighten). */
  adminFloor: boolean;
  /** Each parsed layer's document, lowest first: where a setting or rule was written. */
  documents: { source: RequirementSource; doc: TomlDocument }[];
}

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return a === b;
  }
}

export function loadRequirements(options: LoadRequirementsOptions): LoadedRequirements {
  const systemFile = options.systemFile ?? SYSTEM_REQUIREMENTS_FILE;
  const ownership = options.ownership ?? ((path: string) => requirementsFileOwnership(path));
  const diagnostics: Diagnostic[] = [];
  const layers: LayerStatus[] = [];
  const parsed: { layer: RequirementsLayer; status: LayerStatus }[] = [];
  const documents: LoadedRequirements['documents'] = [];

  const addText = (text: string, source: RequirementSource, file: string, role: LayerRole) => {
    const doc = parseTomlDocument(text, file);
    if (!doc.ok) {
      diagnostics.push(doc.diagnostic);
      layers.push({ source, status: 'error', role, effect: 'none', ignored: [] });
      return;
    }
    documents.push({ source, doc: doc.doc });
    const result = parseRequirementsLayer(doc.doc, source);
    result.diagnostics = promoteWarnings(result.diagnostics, Boolean(options.strict));
    diagnostics.push(...result.diagnostics);
    const status: LayerStatus = {
      source,
      status: result.diagnostics.some((d) => d.severity === 'error') ? 'error' : 'loaded',
      role,
      effect: 'full',
      ignored: [],
    };
    parsed.push({ layer: result.layer, status });
    layers.push(status);
  };

  const systemSource: RequirementSource = { kind: 'system_file', path: systemFile };
  const read = readSourceFile(systemFile, 'requirements file');
  const owner = read.ok ? ownership(systemFile) : null;
  const adminFile = owner?.adminOwned === true;
  const flagFiles = options.requirementFiles.filter((f) => !(adminFile && sameFile(f, systemFile)));
  if (flagFiles.length > 0 && !adminFile) {
    const present = existsSync(systemFile);
    layers.push({
      source: systemSource,
      status: 'skipped',
      note: present
        ? `this file EXISTS and is NOT enforced in this run: --requirements was given and the file is not admin-owned (${owner?.why ?? 'unreadable'})`
        : '--requirements was given',
      role: 'user',
      effect: 'none',
      ignored: [],
    });
  } else if (read.ok) {
    addText(read.text, systemSource, systemFile, adminFile ? 'admin' : 'user');
    const last = layers[layers.length - 1] as LayerStatus;
    last.note = adminFile
      ? `admin-owned (${owner?.why}): a floor the other layers may only tighten`
      : `not admin-owned (${owner?.why}): a layer like any other, not a floor`;
  } else if (read.missing)
    layers.push({
      source: systemSource,
      status: 'absent',
      role: 'admin',
      effect: 'none',
      ignored: [],
    });
  else {
    diagnostics.push(read.diagnostic);
    layers.push({
      source: systemSource,
      status: 'error',
      role: 'admin',
      effect: 'none',
      ignored: [],
    });
  }

  const encoded = options.env[REQUIREMENTS_ENV_VAR];
  const envSource: RequirementSource = { kind: 'env', name: REQUIREMENTS_ENV_VAR };
  if (encoded !== undefined && encoded.trim() !== '') {
    const text = decodeBase64(encoded);
    if (text === null) {
      diagnostics.push({
        severity: 'error',
        code: 'base64_invalid',
        message: `${REQUIREMENTS_ENV_VAR} is not valid base64-encoded UTF-8`,
        key: REQUIREMENTS_ENV_VAR,
        hint: `set it to the output of: base64 -w0 requirements.toml`,
      });
      layers.push({
        source: envSource,
        status: 'error',
        role: 'user',
        effect: 'none',
        ignored: [],
      });
    } else addText(text, envSource, `env ${REQUIREMENTS_ENV_VAR}`, 'user');
  } else
    layers.push({ source: envSource, status: 'absent', role: 'user', effect: 'none', ignored: [] });

  for (const file of flagFiles) {
    const source: RequirementSource = { kind: 'flag_file', path: file };
    const flagRead = readSourceFile(file, 'requirements file');
    if (flagRead.ok) addText(flagRead.text, source, file, 'user');
    else {
      diagnostics.push(flagRead.diagnostic);
      layers.push({ source, status: 'error', role: 'user', effect: 'none', ignored: [] });
    }
  }

  const admin = parsed.filter((p) => p.status.role === 'admin');
  let requirements: Requirements;
  if (admin.length === 0) requirements = composeRequirementLayers(parsed.map((p) => p.layer));
  else {
    requirements = composeRequirementLayers(admin.map((p) => p.layer));
    for (const p of parsed) {
      if (p.status.role === 'admin') continue;
      const tightened = tightenRequirements(requirements, p.layer);
      requirements = tightened.requirements;
      p.status.effect = 'tighten_only';
      p.status.ignored = tightened.ignored;
      for (const what of tightened.ignored)
        diagnostics.push(
          ...promoteWarnings(
            [
              {
                severity: 'warning',
                code: 'loosening_ignored',
                message: `${describeSource(p.layer.source)}: ${what}`,
                hint: `this layer is not admin-owned, so it may only tighten ${describeSource(admin[0]?.layer.source as RequirementSource)}; ask the admin to change that file`,
              },
            ],
            Boolean(options.strict),
          ),
        );
    }
  }

  return {
    requirements,
    layers,
    diagnostics,
    invalid: diagnostics.some((d) => d.severity === 'error'),
    adminFloor: admin.length > 0,
    documents,
  };
}

function decodeBase64(value: string): string | null {
  const compact = value.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 === 1) return null;
  const text = Buffer.from(compact, 'base64').toString('utf8');
  return text.includes('\uFFFD') ? null : text;
}

function composeRuleSets(
  tables: { rules: Map<string, ServerRule>; source: RequirementSource }[],
): ServerRuleSet | null {
  if (tables.length === 0) return null;
  const rules = new Map<string, ServerRule>();
  for (const table of tables) for (const [name, rule] of table.rules) rules.set(name, rule);
  return { rules, sources: tables.map((t) => t.source) };
}

/** Folds layers low → high: union by name, same-name rules replaced whole. Pure. */
export function composeRequirementLayers(layers: readonly RequirementsLayer[]): Requirements {
  const top = layers.flatMap((l) =>
    l.mcpServers ? [{ rules: l.mcpServers, source: l.source }] : [],
  );
  const pluginIds = new Set(layers.flatMap((l) => [...l.plugins.keys()]));
  const plugins = new Map<string, ServerRuleSet>();
  for (const id of pluginIds) {
    const set = composeRuleSets(
      layers.flatMap((l) => {
        const rules = l.plugins.get(id);
        return rules ? [{ rules, source: l.source }] : [];
      }),
    );
    if (set) plugins.set(id, set);
  }
  const audit: AuditRequirements = { ...NO_AUDIT_REQUIREMENTS };
  for (const layer of layers) {
    const a = layer.audit;
    if (a.failOpen !== undefined) audit.failOpen = { value: a.failOpen, source: layer.source };
    if (a.store !== undefined) audit.store = { value: a.store, source: layer.source };
    if (a.checkpointEveryRecords !== undefined)
      audit.checkpointEveryRecords = { value: a.checkpointEveryRecords, source: layer.source };
    if (a.checkpointEverySeconds !== undefined)
      audit.checkpointEverySeconds = { value: a.checkpointEverySeconds, source: layer.source };
    if (a.sharedAppender !== undefined)
      audit.sharedAppender = { value: a.sharedAppender, source: layer.source };
    if (a.witness !== undefined) audit.witness = { value: a.witness, source: layer.source };
  }
  const policy: ToolPolicy = { ...NO_TOOL_POLICY, categories: [], rules: [] };
  const rules = new Map<string, ToolRule>();
  for (const layer of layers) {
    const p = layer.policy;
    if (p.readOnly !== undefined) {
      policy.readOnly = p.readOnly;
      policy.readOnlySource = layer.source;
    }
    if (p.defaultApproval !== undefined) policy.defaultApproval = p.defaultApproval;
    if (p.approvalWaitSeconds !== undefined) policy.approvalWaitSeconds = p.approvalWaitSeconds;
    if (p.approvalTtlSeconds !== undefined) policy.approvalTtlSeconds = p.approvalTtlSeconds;
    if (p.approvalWebhook !== undefined) policy.approvalWebhook = p.approvalWebhook;
    if (p.approvalWebhookFormat !== undefined)
      policy.approvalWebhookFormat = p.approvalWebhookFormat;
    if (p.approvalWebhookSecret !== undefined)
      policy.approvalWebhookSecret = p.approvalWebhookSecret;
    if (p.approvalConsoleUrl !== undefined) policy.approvalConsoleUrl = p.approvalConsoleUrl;
    for (const c of p.categories) if (!policy.categories.includes(c)) policy.categories.push(c);
    for (const [key, rule] of p.tools) rules.set(key, rule); // same key: the higher layer's rule, whole
  }
  policy.rules = [...rules.values()];
  policy.scopes = composeScopes(layers.map((l) => ({ source: l.source, scopes: l.scopes })));
  const masking = composeMaskingPolicy(layers.map((l) => l.masking));
  const pluginGovernance = composePluginGovernance(
    layers.map((l) => ({ source: l.source, plugins: l.pluginGovernance })),
  );
  return {
    mcpServers: composeRuleSets(top),
    plugins,
    audit,
    policy,
    masking,
    pluginGovernance,
    schema: composeSchemaLayers(layers),
    approvals: composeApprovals(layers),
    http: composeHttpLayers(layers),
    identity: composeIdentity(layers),
    telemetry: composeTelemetry(layers),
    credentials: composeCredentials(layers),
  };
}

/** The layers to blame when requirements are invalid (for the `requirements_invalid` reason). */
export function invalidSources(loaded: LoadedRequirements): RequirementSource[] | null {
  if (!loaded.invalid) return null;
  const failed = loaded.layers.filter((l) => l.status === 'error').map((l) => l.source);
  return failed.length > 0 ? failed : loaded.layers.map((l) => l.source);
}
