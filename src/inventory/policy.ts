import type { PluginGovernance } from '../requirements/parse-plugins-table.js';
import { describeSource } from '../requirements/model.js';
import { findAllowedSource } from './marketplace-source.js';
import type {
  Finding,
  FindingSeverity,
  Inventory,
  InventoryMarketplace,
  InventoryPlugin,
  InventoryServer,
  ManifestProblem,
  Risk,
} from './model.js';

/**
 * The plugin approval policy applied to an inventory: pure, one finding per rule and subject.
 * Installed plugins are what agents use now, so their breaches are errors (violations, exit
 * 15 in `inventory check`); plugins only available for install get the same checks as
 * warnings, so an admin sees what approving them would mean.
 */
export const FINDING_RULES = [
  'requirements_invalid',
  'marketplace_source_not_allowed',
  'marketplace_source_unknown',
  'plugin_marketplace_not_allowed',
  'plugin_not_approved',
  'plugin_version_not_approved',
  'hooks_not_reviewed',
  'remote_server_not_allowlisted',
  'install_policy_not_allowed',
  'auth_policy_not_allowed',
  'installed_but_not_available',
  'plugin_contents_unknown',
  'manifest_path_escapes_root',
  'manifest_unreadable',
  'credential_model_not_allowed',
] as const;
export type FindingRule = (typeof FINDING_RULES)[number];

const SEVERITY_ORDER: Record<FindingSeverity, number> = { error: 0, warning: 1, info: 2 };

function finding(
  rule: FindingRule,
  severity: FindingSeverity,
  subject: Finding['subject'],
  message: string,
  fix: string,
): Finding {
  return { rule, severity, subject, message, fix };
}

function manifestFindings(
  kind: 'plugin' | 'marketplace',
  id: string,
  problems: readonly ManifestProblem[],
  severity: FindingSeverity = 'error',
): Finding[] {
  return problems.map((p) =>
    p.kind === 'escape'
      ? finding(
          'manifest_path_escapes_root',
          severity,
          { kind, id },
          `${p.file}: ${p.message}; it was not followed`,
          `do not install it; ask its publisher to keep every path inside the ${kind} directory`,
        )
      : finding(
          'manifest_unreadable',
          'warning',
          { kind, id },
          `${p.file}: ${p.message}`,
          'fix or reinstall the files; until then what they declare is not in this inventory',
        ),
  );
}

function marketplaceFindings(m: InventoryMarketplace, policy: PluginGovernance): Finding[] {
  const out = manifestFindings('marketplace', m.name, m.manifest_problems);
  if (!policy.allowedSources) return out;
  const subject = { kind: 'marketplace' as const, id: m.name };
  const remove = `codex plugin marketplace remove ${m.name}`;
  if (!m.marketplace_source) {
    out.push(
      finding(
        'marketplace_source_unknown',
        'error',
        subject,
        `the source of marketplace ${m.name} is not known, so it cannot be checked against [gatehouse_plugins.allowed_sources]`,
        `run the inventory where \`codex\` can list it, or remove it: ${remove}`,
      ),
    );
    return out;
  }
  const found = findAllowedSource(m.marketplace_source, policy.allowedSources);
  if (found.rule === null) {
    const why = found.why.length > 0 ? ` (${found.why.join('; ')})` : ' (the table is empty)';
    out.push(
      finding(
        'marketplace_source_not_allowed',
        'error',
        subject,
        `marketplace ${m.name} comes from ${m.marketplace_source.source_type} ${m.marketplace_source.source}, which no allowed source matches${why}`,
        `remove it (${remove}) or add an entry to [gatehouse_plugins.allowed_sources] that matches it`,
      ),
    );
  }
  return out;
}

function pluginFindings(p: InventoryPlugin, policy: PluginGovernance): Finding[] {
  const severity: FindingSeverity = p.installed ? 'error' : 'warning';
  const out = manifestFindings('plugin', p.id, p.manifest_problems, severity);
  const subject = { kind: 'plugin' as const, id: p.id };
  const state = p.installed ? 'installed' : 'available for install';
  const remove = `codex plugin remove ${p.id}`;
  const version = p.version ?? '(unknown version)';
  const offered = p.install_policy !== 'NOT_AVAILABLE';

  if (p.installed && p.install_policy === 'NOT_AVAILABLE') {
    out.push(
      finding(
        'installed_but_not_available',
        'warning',
        subject,
        `${p.id} is installed, but its marketplace no longer offers it (installPolicy NOT_AVAILABLE)`,
        `review why it is still installed, or remove it: ${remove}`,
      ),
    );
  }
  if (policy.allowedSources && p.installed) {
    const src = p.marketplace_source;
    const found = src ? findAllowedSource(src, policy.allowedSources) : null;
    if (!found || found.rule === null) {
      out.push(
        finding(
          'plugin_marketplace_not_allowed',
          'error',
          subject,
          src
            ? `${p.id} is installed from marketplace ${p.marketplace} (${src.source_type} ${src.source}), which no allowed source matches`
            : `${p.id} is installed from marketplace ${p.marketplace}, whose source is not known`,
          `remove it (${remove}), or allow its marketplace in [gatehouse_plugins.allowed_sources]`,
        ),
      );
    }
  }
  const policies = [
    [
      'install_policy_not_allowed',
      'installPolicy',
      p.install_policy,
      policy.allowedInstallPolicies,
      'allowed_install_policies',
    ],
    [
      'auth_policy_not_allowed',
      'authPolicy',
      p.auth_policy,
      policy.allowedAuthPolicies,
      'allowed_auth_policies',
    ],
  ] as const;
  for (const [rule, field, value, allowed, key] of policies) {
    if (!allowed || (!p.installed && !offered)) continue;
    if (value !== null && allowed.value.includes(value)) continue;
    out.push(
      finding(
        rule,
        severity,
        subject,
        `${p.id} (${state}) has ${field} ${value ?? '(unknown)'}; allowed: ${allowed.value.join(', ')} (${describeSource(allowed.source)})`,
        p.installed
          ? `remove it (${remove}) or add ${value ?? 'its policy'} to [gatehouse_plugins] ${key}`
          : `do not install it, or add ${value ?? 'its policy'} to [gatehouse_plugins] ${key}`,
      ),
    );
  }
  const approval = policy.approved?.get(p.id) ?? null;
  if (policy.approved && p.installed) {
    if (!approval) {
      out.push(
        finding(
          'plugin_not_approved',
          'error',
          subject,
          `${p.id} ${version} is installed but not in [gatehouse_plugins.approved]`,
          `review it, then add approved."${p.id}" = ["${p.version ?? 'VERSION'}"]; or remove it: ${remove}`,
        ),
      );
    } else if (
      approval.versions !== '*' &&
      (p.version === null || !approval.versions.includes(p.version))
    ) {
      out.push(
        finding(
          'plugin_version_not_approved',
          'error',
          subject,
          `${p.id} ${version} is installed; approved versions: ${approval.versions.join(', ')} (${describeSource(approval.source)})`,
          `review ${version} and add it to approved."${p.id}", or install an approved version`,
        ),
      );
    }
  }
  const reviewed =
    approval !== null &&
    approval.versions !== '*' &&
    p.version !== null &&
    approval.versions.includes(p.version);
  if (
    policy.hooksRequireReview?.value &&
    p.hooks.length > 0 &&
    !reviewed &&
    (p.installed || offered)
  ) {
    const events = [...new Set(p.hooks.map((h) => h.event))].join(', ');
    out.push(
      finding(
        'hooks_not_reviewed',
        severity,
        subject,
        `${p.id} ${version} (${state}) bundles ${p.hooks.length} hook(s) (${events}) and this version is not approved by an explicit version in [gatehouse_plugins.approved]`,
        `review its hooks, then add approved."${p.id}" = ["${p.version ?? 'VERSION'}"] ("*" does not count as a review)`,
      ),
    );
  }
  if (policy.remoteServersRequireAllowlist?.value && (p.installed || offered)) {
    for (const s of p.mcp_servers.filter((x) => x.remote && !x.allowed_by)) {
      const url = 'url' in s.identity ? s.identity.url : '';
      out.push(
        finding(
          'remote_server_not_allowlisted',
          severity,
          subject,
          `${p.id} (${state}) bundles remote MCP server ${s.name} (${url}), which no server requirement allows`,
          `add [plugins."${p.id}".mcp_servers.${s.name}.identity] url = "${url}" to requirements, or ${p.installed ? `remove the plugin: ${remove}` : 'do not install it'}`,
        ),
      );
    }
  }
  const needsContents =
    policy.hooksRequireReview?.value || policy.remoteServersRequireAllowlist?.value;
  if (needsContents && !p.contents_known && (p.installed || offered)) {
    out.push(
      finding(
        'plugin_contents_unknown',
        severity,
        subject,
        `the files of ${p.id} could not be read, so its hooks and bundled servers cannot be checked`,
        'run the inventory on the machine where it is installed, or fix the problems listed for it',
      ),
    );
  }
  return out;
}

/** Every finding for an inventory under a plugin policy, most severe first. Pure. */
export function evaluateInventory(
  inventory: Inventory,
  policy: PluginGovernance,
  requirements: { invalid: boolean } = { invalid: false },
): Finding[] {
  const out: Finding[] = [];
  if (requirements.invalid) {
    out.push(
      finding(
        'requirements_invalid',
        'error',
        { kind: 'requirements', id: 'requirements' },
        'the requirements could not be read or are malformed: every server is disabled and the plugin policy cannot be trusted',
        'fix the errors printed on stderr (gatehouse requirements check)',
      ),
    );
  }
  for (const m of inventory.marketplaces) out.push(...marketplaceFindings(m, policy));
  for (const p of inventory.plugins) out.push(...pluginFindings(p, policy));
  for (const s of inventory.servers)
    if (s.credential_violation)
      out.push(
        finding(
          'credential_model_not_allowed',
          'error',
          { kind: 'server', id: s.name },
          `${s.name}: ${s.credential_violation}`,
          `declare the required model in [mcp_servers.${s.name}.gatehouse_credentials], or change [gatehouse_credentials] in the requirements`,
        ),
      );
  return out.sort(
    (a, b) =>
      SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
      (a.subject.id < b.subject.id ? -1 : a.subject.id > b.subject.id ? 1 : 0) ||
      (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0),
  );
}

function worst(findings: readonly Finding[], kind: string, id: string): FindingSeverity | null {
  let best: FindingSeverity | null = null;
  for (const f of findings) {
    if (f.subject.kind !== kind || f.subject.id !== id) continue;
    if (best === null || SEVERITY_ORDER[f.severity] < SEVERITY_ORDER[best]) best = f.severity;
  }
  return best;
}

/** How a plugin is grouped in the report: a violation, worth a look (hooks, remote servers), or fine. */
export function pluginRisk(p: InventoryPlugin, findings: readonly Finding[]): Risk {
  const w = worst(findings, 'plugin', p.id);
  if (w === 'error') return 'violation';
  if (
    w === 'warning' ||
    p.hooks.length > 0 ||
    p.mcp_servers.some((s) => s.remote) ||
    !p.contents_known
  )
    return 'review';
  return 'ok';
}

export function marketplaceRisk(m: InventoryMarketplace, findings: readonly Finding[]): Risk {
  const w = worst(findings, 'marketplace', m.name);
  return w === 'error' ? 'violation' : w === 'warning' ? 'review' : 'ok';
}

/** A server refused by requirements, or a remote one no rule names, is worth a look. */
export function serverRisk(s: InventoryServer, findings: readonly Finding[]): Risk {
  const w = worst(findings, 'server', s.name);
  if (w === 'error') return 'violation';
  const refused =
    s.disabled_reason_code !== null &&
    !['user', 'unsupported_auth'].includes(s.disabled_reason_code);
  if (w === 'warning' || refused || (s.remote && s.enabled && !s.allowed_by)) return 'review';
  return 'ok';
}
