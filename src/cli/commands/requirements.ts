import { describeSecretRef } from '../../credentials/model.js';
import { maskUrl } from '../../masking/mask-text.js';
import { diagnosticToJson } from '../../diagnostics/diagnostic.js';
import { formatStatus } from '../../requirements/disabled-reason.js';
import type { ServerRuleSet } from '../../requirements/model.js';
import { describeSource, describeSources } from '../../requirements/model.js';
import { ExitCode } from '../exit-codes.js';
import type { ExitCodeValue } from '../exit-codes.js';
import { describeIdentity, serverGetJson } from '../format/server-view.js';
import { renderTable } from '../format/table.js';
import type { CliIo } from '../io.js';
import { loadOneServer, printDiagnostics } from '../report.js';
import type { GlobalOptions } from '../world.js';
import { identityAliases, overlappingIdentityRules } from '../../requirements/identity-overlap.js';
import { loadWorld } from '../world.js';
import type { World } from '../world.js';
import type { Diagnostic, SourceLocation } from '../../diagnostics/diagnostic.js';
import type { ReferenceCheck } from './requirements-references.js';
import { promoteWarnings } from '../../diagnostics/diagnostic.js';
import type { ToolRule } from '../../policy/model.js';
import { toolRuleLocation } from '../../requirements/rule-references.js';
import type { SettingRow } from '../../requirements/setting-sources.js';
import {
  describeSetBy,
  describeSettingValue,
  settingRows,
} from '../../requirements/setting-sources.js';
import { checkRuleReferences } from './requirements-references.js';
import { policyRevision } from '../../policy/revision.js';
import { pluginGovernanceJson, pluginGovernanceLines } from '../format/plugin-governance-view.js';
import { httpRequirementsJson } from '../../requirements/parse-http-table.js';
import { scopesJson, scopesLines } from '../format/scopes-view.js';

function ruleSetJson(set: ServerRuleSet | null): Record<string, unknown> {
  if (!set) return { restricted: false, deny_all: false, sources: [], rules: [] };
  return {
    restricted: true,
    deny_all: set.rules.size === 0,
    sources: set.sources.map(describeSource),
    rules: [...set.rules.values()].map((r) => ({
      name: r.name,
      form: r.form,
      identity: describeIdentity(r.identity),
      source: describeSource(r.source),
      file: r.location.file,
      line: r.location.line,
    })),
  };
}

function ruleRows(scope: string, set: ServerRuleSet): string[][] {
  return [...set.rules.values()].map((r) => [
    scope,
    r.name,
    describeIdentity(r.identity),
    `${r.location.file}:${r.location.line}`,
  ]);
}

function settingsJson(rows: readonly SettingRow[], table: SettingRow['table']) {
  return Object.fromEntries(
    rows
      .filter((r) => r.table === table)
      .map((r) => [
        r.key,
        {
          value: r.value,
          set_by:
            r.setBy.length === 0
              ? 'default'
              : r.setBy.map((s) => ({
                  source: s.source,
                  file: s.location?.file ?? null,
                  line: s.location?.line ?? null,
                })),
        },
      ]),
  );
}

function settingsLines(rows: readonly SettingRow[], table: SettingRow['table']): string[] {
  return [
    `${table}:`,
    renderTable(
      ['Setting', 'Value', 'Set by'],
      rows
        .filter((r) => r.table === table)
        .map((r) => [r.key, describeSettingValue(r.value), describeSetBy(r)]),
    ).trimEnd(),
  ];
}

/** What `requirements check` found, gathered once for the text and the JSON report. */
interface CheckFacts {
  world: World;
  diagnostics: Diagnostic[];
  errors: number;
  warnings: number;
  overlaps: ReturnType<typeof overlappingIdentityRules>;
  settings: SettingRow[];
  references: ReferenceCheck;
  ruleAt: (r: ToolRule) => SourceLocation | null;
  probe: boolean;
}

/** `requirements check`: validate every layer and show the effective rules with their sources. */
export async function runRequirementsCheck(
  global: GlobalOptions,
  opts: { json?: boolean; probe?: boolean },
  io: CliIo,
): Promise<ExitCodeValue> {
  const world = loadWorld(global, io);
  const loaded = world.requirements;
  // Names are checked against the configuration only when the layers themselves are valid.
  const references = loaded.invalid
    ? { diagnostics: [], notes: [], probed: {} }
    : await checkRuleReferences(world, opts, io);
  const diagnostics = [
    ...loaded.diagnostics,
    ...promoteWarnings(references.diagnostics, Boolean(global.strict)),
  ];
  const facts: CheckFacts = {
    world,
    diagnostics,
    errors: diagnostics.filter((d) => d.severity === 'error').length,
    warnings: diagnostics.filter((d) => d.severity === 'warning').length,
    // Reported, without changing the exit code: the strictest rules apply to an overlapping
    // server, so an overlap is not a hole, but it is usually a mistake in the identity rules.
    overlaps: overlappingIdentityRules(loaded.requirements),
    settings: settingRows(loaded.requirements, loaded.documents),
    references,
    ruleAt: (r) => toolRuleLocation(loaded.documents, r),
    probe: Boolean(opts.probe),
  };
  if (opts.json) io.stdout(`${JSON.stringify(checkJson(facts), null, 2)}\n`);
  else {
    printDiagnostics(io, diagnostics);
    io.stdout(`${checkText(facts).join('\n')}\n`);
  }
  return facts.errors > 0
    ? ExitCode.requirementsInvalid
    : facts.warnings > 0
      ? ExitCode.warnings
      : ExitCode.ok;
}

function policyJson(f: CheckFacts) {
  const policy = f.world.requirements.requirements.policy;
  return {
    revision: policyRevision(policy),
    read_only: policy.readOnly,
    default_approval: policy.defaultApproval,
    approval_wait_seconds: policy.approvalWaitSeconds,
    approval_ttl_seconds: policy.approvalTtlSeconds,
    approval_webhook: policy.approvalWebhook ? maskUrl(policy.approvalWebhook) : null,
    approval_webhook_format: policy.approvalWebhookFormat ?? 'json',
    approval_webhook_secret: policy.approvalWebhookSecret
      ? describeSecretRef(policy.approvalWebhookSecret)
      : null,
    approval_console_url: policy.approvalConsoleUrl ? maskUrl(policy.approvalConsoleUrl) : null,
    categories: policy.categories,
    tools: policy.rules.map((r) => ({
      key: r.key,
      allow: r.allow,
      effect: r.effect,
      category: r.category,
      approval: r.approval,
      source: describeSource(r.source),
      file: f.ruleAt(r)?.file ?? null,
      line: f.ruleAt(r)?.line ?? null,
    })),
  };
}

function auditJson(f: CheckFacts) {
  const audit = f.world.requirements.requirements.audit;
  return {
    fail_open: audit.failOpen?.value ?? false,
    store: audit.store ? maskUrl(audit.store.value) : null,
    checkpoint_every_records: audit.checkpointEveryRecords?.value ?? 1000,
    checkpoint_every_seconds: audit.checkpointEverySeconds?.value ?? 60,
    shared_appender: audit.sharedAppender?.value ?? true,
    witness: audit.witness?.value ?? null,
  };
}

function checkJson(f: CheckFacts): Record<string, unknown> {
  const loaded = f.world.requirements;
  const { mcpServers, plugins, pluginGovernance } = loaded.requirements;
  return {
    valid: f.errors === 0,
    fail_closed: f.errors > 0,
    admin_floor: loaded.adminFloor,
    layers: loaded.layers.map((l) => ({
      source: describeSource(l.source),
      kind: l.source.kind,
      status: l.status,
      role: l.role,
      effect: l.effect,
      ignored: l.ignored,
      note: l.note ?? null,
    })),
    identity_overlaps: f.overlaps.map((o) => ({
      servers: [o.first.name, o.second.name],
      certain: o.certain,
      detail: o.why,
    })),
    mcp_servers: ruleSetJson(mcpServers),
    plugins: Object.fromEntries([...plugins].map(([id, set]) => [id, ruleSetJson(set)])),
    gatehouse_policy: policyJson(f),
    gatehouse_audit: auditJson(f),
    gatehouse_masking: settingsJson(f.settings, 'gatehouse_masking'),
    gatehouse_schema: settingsJson(f.settings, 'gatehouse_schema'),
    gatehouse_plugins: pluginGovernanceJson(pluginGovernance),
    gatehouse_http: httpRequirementsJson(loaded.requirements.http, describeSource),
    gatehouse_scopes: scopesJson(loaded.requirements.policy),
    reference_notes: f.references.notes,
    ...(f.probe ? { probed: f.references.probed } : {}),
    diagnostics: f.diagnostics.map((d) => diagnosticToJson(d)),
  };
}

function layerLines(f: CheckFacts): string[] {
  const loaded = f.world.requirements;
  const out: string[] = [
    loaded.adminFloor
      ? 'Requirement layers (lowest precedence first; the admin layer is a floor, the others may only tighten it):'
      : 'Requirement layers (lowest precedence first; no admin-owned layer: each applies in full):',
  ];
  const effectLabel = { full: 'applied', tighten_only: 'tighten-only', none: '-' } as const;
  for (const l of loaded.layers) {
    out.push(
      `  ${l.status.padEnd(7)}  ${l.role.padEnd(5)}  ${effectLabel[l.effect].padEnd(12)}  ${describeSource(l.source)}${l.note ? `  (${l.note})` : ''}`,
    );
    for (const what of l.ignored) out.push(`      IGNORED (would loosen the admin layer): ${what}`);
  }
  out.push('');
  if (f.overlaps.length > 0) {
    out.push(
      'Identity overlaps: a server matching several allowlist rules gets the strictest of their tool rules; pin args or URLs to tell them apart:',
    );
    for (const o of f.overlaps) out.push(`  warning: ${o.why}`);
    out.push('');
  }
  return out;
}

function serverRuleLines(f: CheckFacts): string[] {
  const { mcpServers, plugins } = f.world.requirements.requirements;
  const out: string[] = [];
  if (f.errors > 0)
    out.push(
      'mcp_servers: rules with errors are left out below; until they are fixed no server is enabled',
    );
  else if (!mcpServers)
    out.push('mcp_servers: no rules: every configured server may run (unrestricted)');
  else if (mcpServers.rules.size === 0)
    out.push(
      `mcp_servers: EMPTY TABLE: every server is denied, plugin servers included (${describeSources(mcpServers.sources)})`,
    );
  else
    out.push(
      `mcp_servers: ${mcpServers.rules.size} rule(s); servers without a same-name matching rule are disabled`,
    );
  const rows = [
    ...(mcpServers ? ruleRows('mcp_servers', mcpServers) : []),
    ...[...plugins].flatMap(([id, set]) => ruleRows(`plugins."${id}"`, set)),
  ];
  for (const [id, set] of plugins)
    if (set.rules.size === 0)
      out.push(`plugins."${id}".mcp_servers: empty: every server of this plugin is denied`);
  if (rows.length > 0)
    out.push('', renderTable(['Scope', 'Server', 'Identity', 'Set by'], rows).trimEnd());
  return out;
}

function checkText(f: CheckFacts): string[] {
  const { policy, pluginGovernance } = f.world.requirements.requirements;
  const audit = auditJson(f);
  const out = [...layerLines(f), ...serverRuleLines(f)];
  out.push(
    '',
    `gatehouse_policy: revision ${policyRevision(policy)}; read_only = ${policy.readOnly}; default_approval = "${policy.defaultApproval}"; approvals wait ${policy.approvalWaitSeconds}s, valid ${policy.approvalTtlSeconds}s${policy.approvalWebhook ? `; webhook ${maskUrl(policy.approvalWebhook)} (${policy.approvalWebhookFormat ?? 'json'}, ${policy.approvalWebhookSecret ? `signed with the secret in ${describeSecretRef(policy.approvalWebhookSecret)}` : 'unsigned'})` : ''}`,
  );
  if (policy.rules.length > 0)
    out.push(
      renderTable(
        ['Tools', 'allow', 'effect', 'category', 'approval', 'Set by'],
        policy.rules.map((r) => {
          const at = f.ruleAt(r);
          return [
            r.key,
            r.allow === null ? '-' : String(r.allow),
            r.effect ?? '-',
            r.category ?? '-',
            r.approval ?? '-',
            at ? `${at.file}:${at.line}` : describeSource(r.source),
          ];
        }),
      ).trimEnd(),
    );
  out.push(
    `gatehouse_audit: fail_open = ${audit.fail_open}; store ${audit.store ?? '(each gateway: --audit, GATEHOUSE_AUDIT, or $GATEHOUSE_HOME/audit.db)'}; checkpoint every ${audit.checkpoint_every_records} records / ${audit.checkpoint_every_seconds}s; shared appender ${audit.shared_appender ? 'on' : 'off'}${audit.witness ? `; witness ${audit.witness}` : ''}`,
    ...pluginGovernanceLines(pluginGovernance),
    ...httpLines(f),
    ...scopesLines(policy),
    '',
    ...settingsLines(f.settings, 'gatehouse_masking'),
    ...settingsLines(f.settings, 'gatehouse_schema'),
    ...f.references.notes.map((note) => `note: ${note}`),
    '',
    f.errors > 0
      ? `INVALID: ${f.errors} error(s): Gatehouse disables every server until they are fixed (fail closed)`
      : f.warnings > 0
        ? `valid, with ${f.warnings} warning(s)`
        : f.overlaps.length > 0
          ? `valid; ${f.overlaps.length} identity overlap(s), see above`
          : 'valid',
  );
  return out;
}

/** `requirements explain NAME`: the decision for one server and the rule behind it. */
export function runRequirementsExplain(
  global: GlobalOptions,
  name: string,
  opts: { json?: boolean },
  io: CliIo,
): ExitCodeValue {
  const loaded = loadOneServer(global, name, io);
  if ('exit' in loaded) return loaded.exit;
  const { world, decision: d, codex, code } = loaded;
  if (opts.json) {
    io.stdout(`${JSON.stringify(serverGetJson(d, codex), null, 2)}\n`);
    return code;
  }
  const s = d.server;
  const lines = [`${s.name}: ${formatStatus(d.enabled, d.disabledReason)}`];
  const t = s.transport;
  lines.push(
    `  identity: ${t.type === 'stdio' ? `command ${JSON.stringify(t.command)} with ${t.args.length} arg(s)` : `url ${JSON.stringify(maskUrl(t.url))}`}`,
  );
  lines.push(`  defined in: ${s.origins.map((o) => `${o.file}:${o.location.line}`).join(', ')}`);
  const set = d.governedBy;
  if (d.disabledReason) {
    lines.push(`  reason: ${d.disabledReason.code}`, `  why: ${d.disabledReason.detail}`);
    const rule = d.disabledReason.rule;
    if (rule)
      lines.push(
        `  rule: ${describeIdentity(rule.identity)}`,
        `  set by: ${rule.location.file}:${rule.location.line}`,
      );
  } else if (d.allowedBy) {
    lines.push(
      `  allowed by: ${describeIdentity(d.allowedBy.identity)}`,
      `  set by: ${d.allowedBy.location.file}:${d.allowedBy.location.line}`,
    );
  } else if (!set) {
    lines.push('  no requirements restrict this server');
  }
  const aliases = identityAliases(s.name, s.transport, world.requirements.requirements);
  if (aliases.length > 0)
    lines.push(
      `  tool rules: its identity also satisfies the allowlist rule(s) for ${aliases.map((a) => `'${a}'`).join(', ')}; their gatehouse_policy.tools rules apply too (strictest wins)`,
    );
  if (codex)
    lines.push(
      `  Codex (${world.codex?.file}): ${formatStatus(codex.enabled, codex.disabledReason)}`,
    );
  io.stdout(`${lines.join('\n')}\n`);
  return code;
}

/** `[gatehouse_http]` as the text output shows it (nothing when the requirements set none). */
function httpLines(f: CheckFacts): string[] {
  const http = Object.entries(
    httpRequirementsJson(f.world.requirements.requirements.http, describeSource),
  );
  return http.length === 0
    ? []
    : [
        `gatehouse_http (serve/run --http; flags may only narrow these): ${http.map(([k, v]) => `${k} = ${JSON.stringify(v.value)} (${v.set_by})`).join('; ')}`,
      ];
}
