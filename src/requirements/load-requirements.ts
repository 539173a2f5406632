import { composeSchemaLayers } from './parse-schema-table.js';
import { existsSync } from 'node:fs';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { promoteWarnings } from '../diagnostics/diagnostic.js';
import { readSourceFile } from '../config/read-source.js';
import { parseTomlDocument } from '../config/toml-document.js';
import type { RequirementsLayer } from './parse-requirements.js';
import { parseRequirementsLayer } from './parse-requirements.js';
import type { RequirementSource, Requirements, ServerRule, ServerRuleSet } from './model.js';
import type { AuditRequirements } from './model.js';
import type { ToolPolicy, ToolRule } from '../policy/model.js';
import { NO_TOOL_POLICY } from '../policy/model.js';
import { composePluginGovernance } from './parse-plugins-table.js';
import { NO_AUDIT_REQUIREMENTS, REQUIREMENTS_ENV_VAR, SYSTEM_REQUIREMENTS_FILE } from './model.js';
import { composeMaskingPolicy } from './parse-masking-table.js';

/**
 * Requirement layers, lowest precedence first:
 *   1. `/etc/gatehouse/requirements.toml` — not read when any `--requirements` is given
 *   2. `$GATEHOUSE_REQUIREMENTS_TOML_BASE64` — the MDM-style channel
 *   3. each `--requirements FILE`, in order
 * `mcp_servers` is a union by server name; a higher layer's rule for a name REPLACES the lower
 * layer's rule whole (Codex merges key by key, which lets a partial override weaken a rule).
 */
export interface LoadRequirementsOptions {
  requirementFiles: string[];
  env: NodeJS.ProcessEnv;
  systemFile?: string;
  /** Warnings count as errors (and so fail closed). */
  strict?: boolean;
}

export interface LayerStatus {
  source: RequirementSource;
  status: 'loaded' | 'absent' | 'error' | 'skipped';
  note?: string;
}

export interface LoadedRequirements {
  requirements: Requirements;
  layers: LayerStatus[];
  diagnostics: Diagnostic[];
  /** Any error: every server must be disabled (fail closed). */
  invalid: boolean;
}

export function loadRequirements(options: LoadRequirementsOptions): LoadedRequirements {
  const systemFile = options.systemFile ?? SYSTEM_REQUIREMENTS_FILE;
  const diagnostics: Diagnostic[] = [];
  const layers: LayerStatus[] = [];
  const parsed: RequirementsLayer[] = [];

  const addText = (text: string, source: RequirementSource, file: string): void => {
    const doc = parseTomlDocument(text, file);
    if (!doc.ok) {
      diagnostics.push(doc.diagnostic);
      layers.push({ source, status: 'error' });
      return;
    }
    const result = parseRequirementsLayer(doc.doc, source);
    result.diagnostics = promoteWarnings(result.diagnostics, Boolean(options.strict));
    diagnostics.push(...result.diagnostics);
    parsed.push(result.layer);
    layers.push({
      source,
      status: result.diagnostics.some((d) => d.severity === 'error') ? 'error' : 'loaded',
    });
  };

  const systemSource: RequirementSource = { kind: 'system_file', path: systemFile };
  if (options.requirementFiles.length > 0) {
    const present = existsSync(systemFile);
    layers.push({
      source: systemSource,
      status: 'skipped',
      note: present
        ? 'this file EXISTS and is NOT enforced in this run: --requirements was given'
        : '--requirements was given',
    });
  } else {
    const read = readSourceFile(systemFile, 'requirements file');
    if (read.ok) addText(read.text, systemSource, systemFile);
    else if (read.missing) layers.push({ source: systemSource, status: 'absent' });
    else {
      diagnostics.push(read.diagnostic);
      layers.push({ source: systemSource, status: 'error' });
    }
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
      layers.push({ source: envSource, status: 'error' });
    } else addText(text, envSource, `env ${REQUIREMENTS_ENV_VAR}`);
  } else layers.push({ source: envSource, status: 'absent' });

  for (const file of options.requirementFiles) {
    const source: RequirementSource = { kind: 'flag_file', path: file };
    const read = readSourceFile(file, 'requirements file');
    if (read.ok) addText(read.text, source, file);
    else {
      diagnostics.push(read.diagnostic);
      layers.push({ source, status: 'error' });
    }
  }

  return {
    requirements: composeRequirementLayers(parsed),
    layers,
    diagnostics,
    invalid: diagnostics.some((d) => d.severity === 'error'),
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
    for (const c of p.categories) if (!policy.categories.includes(c)) policy.categories.push(c);
    for (const [key, rule] of p.tools) rules.set(key, rule); // same key: the higher layer's rule, whole
  }
  policy.rules = [...rules.values()];
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
  };
}

/** The layers to blame when requirements are invalid (for the `requirements_invalid` reason). */
export function invalidSources(loaded: LoadedRequirements): RequirementSource[] | null {
  if (!loaded.invalid) return null;
  const failed = loaded.layers.filter((l) => l.status === 'error').map((l) => l.source);
  return failed.length > 0 ? failed : loaded.layers.map((l) => l.source);
}
