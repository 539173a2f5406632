import type { RequirementsLayer } from './parse-requirements.js';
import type { Requirements, ServerRule, ServerRuleSet } from './model.js';
import { describeSource } from './model.js';
import type { ChangeClass } from '../schema/diff-json-schema.js';
import type { DriftAction } from '../schema/enforce.js';
import { DEFAULT_SCHEMA_POLICY, DRIFT_ACTIONS } from '../schema/enforce.js';
import { tightenHttp } from './parse-http-table.js';
import { tightenScopes } from './parse-scopes-table.js';
import { tightenCredentials } from './parse-credentials-table.js';
import { NO_SCOPES } from '../policy/scope.js';

/**
 * A layer the governed user controls (the env channel, a `--requirements` file, a system file
 * that is not admin-owned) over an admin-owned layer: it may only tighten. Every setting is
 * composed toward the stricter side; a setting that would loosen, or whose stricter side is not
 * well defined, is ignored and reported. Pure.
 */
export interface TightenResult {
  requirements: Requirements;
  /** Settings of the layer that were ignored, each with why (shown by `requirements check`). */
  ignored: string[];
}

const CHECKPOINT_RECORDS_DEFAULT = 1000;
const CHECKPOINT_SECONDS_DEFAULT = 60;

/** Same identity rule, structurally (regexes by their expression; the source does not count). */
function sameIdentity(a: ServerRule, b: ServerRule): boolean {
  const strip = (r: ServerRule) =>
    JSON.stringify(r.identity, (key, value: unknown) => (key === 'regex' ? undefined : value));
  return strip(a) === strip(b);
}

/**
 * An allowlist under a user table: only names both allow remain; a name both allow must satisfy
 * both identity rules (the user's joins `also`). A name only the user allows is ignored.
 */
function intersectRuleSets(
  base: ServerRuleSet,
  layer: Map<string, ServerRule>,
  layerSource: RequirementsLayer['source'],
  scope: string,
  ignored: string[],
): ServerRuleSet {
  const rules = new Map<string, ServerRule>();
  for (const [name, rule] of base.rules) {
    const user = layer.get(name);
    if (!user) continue; // the user's table leaves it out: removed (a tightening)
    rules.set(
      name,
      sameIdentity(rule, user) ? rule : { ...rule, also: [...(rule.also ?? []), user] },
    );
  }
  for (const name of layer.keys())
    if (!base.rules.has(name))
      ignored.push(
        `[${scope}.${name}]: the admin's allowlist has no '${name}'; a user layer cannot add a server`,
      );
  return { rules, sources: [...base.sources, layerSource] };
}

const driftRank = (a: DriftAction) => DRIFT_ACTIONS.indexOf(a);

/** Applies one non-admin layer on top of `base` (the admin's requirements so far), tightening only. */
export function tightenRequirements(base: Requirements, layer: RequirementsLayer): TightenResult {
  const ignored: string[] = [];
  const ignore = (key: string, why: string) => ignored.push(`${key}: ${why}`);
  const source = layer.source;

  // mcp_servers: a user table restricts an unrestricted admin; otherwise intersects.
  let mcpServers = base.mcpServers;
  if (layer.mcpServers) {
    mcpServers = base.mcpServers
      ? intersectRuleSets(base.mcpServers, layer.mcpServers, source, 'mcp_servers', ignored)
      : { rules: new Map(layer.mcpServers), sources: [source] };
  }
  const plugins = new Map(base.plugins);
  for (const [id, rules] of layer.plugins) {
    const own = base.plugins.get(id);
    const scope = `plugins."${id}".mcp_servers`;
    if (own) plugins.set(id, intersectRuleSets(own, rules, source, scope, ignored));
    else if (base.mcpServers)
      // The admin restricts servers and has no table for this plugin: its servers are disabled;
      // a plugin table from the user would enable them.
      ignore(
        `[${scope}]`,
        "the admin's [mcp_servers] governs this plugin's servers (none allowed); a user layer cannot allow them",
      );
    else plugins.set(id, { rules: new Map(rules), sources: [source] });
  }

  // [gatehouse_audit]
  const audit = { ...base.audit };
  const a = layer.audit;
  if (a.failOpen === false) audit.failOpen = { value: false, source };
  else if (a.failOpen === true && audit.failOpen?.value !== true)
    ignore('gatehouse_audit.fail_open = true', 'would forward calls the audit could not record');
  if (a.store !== undefined) {
    if (!audit.store) audit.store = { value: a.store, source };
    else if (audit.store.value !== a.store)
      ignore(
        'gatehouse_audit.store',
        `the admin's store (${describeSource(audit.store.source)}) stays`,
      );
  }
  if (a.checkpointEveryRecords !== undefined) {
    const now = audit.checkpointEveryRecords?.value ?? CHECKPOINT_RECORDS_DEFAULT;
    if (a.checkpointEveryRecords <= now)
      audit.checkpointEveryRecords = { value: a.checkpointEveryRecords, source };
    else
      ignore('gatehouse_audit.checkpoint_every_records', `only a value ≤ ${now} is a tightening`);
  }
  if (a.checkpointEverySeconds !== undefined) {
    const now = audit.checkpointEverySeconds?.value ?? CHECKPOINT_SECONDS_DEFAULT;
    if (a.checkpointEverySeconds <= now)
      audit.checkpointEverySeconds = { value: a.checkpointEverySeconds, source };
    else
      ignore('gatehouse_audit.checkpoint_every_seconds', `only a value ≤ ${now} is a tightening`);
  }
  if (a.sharedAppender !== undefined) {
    if (!audit.sharedAppender) audit.sharedAppender = { value: a.sharedAppender, source };
    else if (audit.sharedAppender.value !== a.sharedAppender)
      ignore('gatehouse_audit.shared_appender', "the admin's setting stays");
  }

  // [gatehouse_policy]: scalars toward the stricter side; tool rules join as tightening rules.
  const policy = {
    ...base.policy,
    categories: [...base.policy.categories],
    tighteningRules: [...(base.policy.tighteningRules ?? [])],
  };
  const p = layer.policy;
  if (p.readOnly === true && !policy.readOnly) {
    policy.readOnly = true;
    policy.readOnlySource = source;
  } else if (p.readOnly === false && policy.readOnly)
    ignore('gatehouse_policy.read_only = false', 'the admin turned read-only mode on');
  if (p.defaultApproval === 'gatehouse') policy.defaultApproval = 'gatehouse';
  else if (p.defaultApproval === 'client' && policy.defaultApproval === 'gatehouse')
    ignore(
      'gatehouse_policy.default_approval = "client"',
      'the admin has Gatehouse approve what no rule covers',
    );
  if (p.approvalWaitSeconds !== undefined) {
    if (p.approvalWaitSeconds <= policy.approvalWaitSeconds)
      policy.approvalWaitSeconds = p.approvalWaitSeconds;
    else
      ignore(
        'gatehouse_policy.approval_wait_seconds',
        `only a value ≤ ${policy.approvalWaitSeconds} is a tightening`,
      );
  }
  if (p.approvalTtlSeconds !== undefined) {
    if (p.approvalTtlSeconds <= policy.approvalTtlSeconds)
      policy.approvalTtlSeconds = p.approvalTtlSeconds;
    else
      ignore(
        'gatehouse_policy.approval_ttl_seconds',
        `only a value ≤ ${policy.approvalTtlSeconds} is a tightening`,
      );
  }
  // The webhook's format, secret and console link go with it: the user's apply only where the
  // admin set no webhook (so a user cannot unsign or reshape the admin's notices).
  const adminHook = base.policy.approvalWebhook !== null;
  if (p.approvalWebhook !== undefined) {
    if (!adminHook) policy.approvalWebhook = p.approvalWebhook;
    else if (policy.approvalWebhook !== p.approvalWebhook)
      ignore('gatehouse_policy.approval_webhook', "the admin's webhook stays");
  }
  for (const [key, field] of [
    ['approval_webhook_format', 'approvalWebhookFormat'],
    ['approval_webhook_secret', 'approvalWebhookSecret'],
    ['approval_console_url', 'approvalConsoleUrl'],
  ] as const) {
    if (p[field] === undefined) continue;
    if (!adminHook) Object.assign(policy, { [field]: p[field] });
    else ignore(`gatehouse_policy.${key}`, "it goes with the admin's webhook, which stays");
  }
  for (const c of p.categories) if (!policy.categories.includes(c)) policy.categories.push(c);
  policy.tighteningRules.push(...p.tools.values());
  // [gatehouse_scopes]: scopes can be turned on and narrowed, never off or widened.
  policy.scopes = tightenScopes(base.policy.scopes ?? NO_SCOPES, layer.scopes, source, ignore);

  // [gatehouse_schema]
  const schema = { ...base.schema, onClass: { ...base.schema.onClass } };
  const s = layer.schema;
  if (s.lockPath !== undefined) {
    if (!schema.lockPath) schema.lockPath = { value: s.lockPath, source };
    else if (schema.lockPath.value !== s.lockPath)
      ignore('gatehouse_schema.lock_path', "the admin's lock stays");
  }
  if (s.lock === 'required') schema.lock = { value: 'required', source };
  else if (s.lock === 'optional' && schema.lock?.value === 'required')
    ignore('gatehouse_schema.lock = "optional"', 'the admin requires every server in the lock');
  for (const [cls, action] of Object.entries(s.onClass) as [ChangeClass, DriftAction][]) {
    const now = schema.onClass[cls]?.value ?? DEFAULT_SCHEMA_POLICY.onClass[cls];
    if (driftRank(action) <= driftRank(now)) schema.onClass[cls] = { value: action, source };
    else ignore(`gatehouse_schema.on_${cls} = "${action}"`, `looser than "${now}"`);
  }

  // [gatehouse_masking]: more masking applies; exemptions, forms and tokens do not.
  const masking = {
    ...base.masking,
    fields: [...base.masking.fields],
    patterns: [...base.masking.patterns],
  };
  const m = layer.masking;
  if (m.ipAddresses === true) masking.ipAddresses = true;
  else if (m.ipAddresses === false && masking.ipAddresses)
    ignore('gatehouse_masking.ip_addresses = false', 'the admin masks IP addresses');
  masking.fields.push(...(m.fields ?? []));
  for (const pattern of m.patterns ?? []) {
    if (masking.patterns.some((x) => x.kind === pattern.kind))
      ignore(
        `gatehouse_masking pattern "${pattern.kind}"`,
        "the admin's pattern of that kind stays",
      );
    else masking.patterns.push(pattern);
  }
  for (const [key, list] of [
    ['exempt_servers', m.exemptServers],
    ['exempt_tools', m.exemptTools],
    ['exempt_detectors', m.exemptDetectors],
  ] as const)
    if (list && list.length > 0) ignore(`gatehouse_masking.${key}`, 'an exemption would mask less');
  if (m.forms && Object.keys(m.forms).length > 0)
    ignore('gatehouse_masking forms', 'which form is stricter is not defined; the admin’s stay');
  if (m.tokens && m.tokens.length > 0)
    ignore('gatehouse_masking tokens', 'a token rule sends real values to servers');

  // [gatehouse_approvals]: another approver key or an in-band category lets more calls through.
  if (layer.approvals.approvers && layer.approvals.approvers.length > 0)
    ignore('gatehouse_approvals.approvers', 'an approver key the admin did not list could approve');
  if (layer.approvals.inBandCategories && layer.approvals.inBandCategories.length > 0)
    ignore(
      'gatehouse_approvals.in_band_categories',
      "the client's own answer would approve those categories",
    );

  // [gatehouse_plugins]: a policy of what may be installed; a user's version is not composed.
  if (Object.values(layer.pluginGovernance).some((v) => v !== undefined))
    ignore('[gatehouse_plugins]', 'the plugin policy is the admin’s alone');

  // [gatehouse_identity]: which issuer and which tokens vouch for a caller is the admin's alone.
  if (Object.values(layer.identity).some((v) => v !== undefined))
    ignore('[gatehouse_identity]', 'who may vouch for callers is the admin’s alone');

  // [gatehouse_telemetry]: the admin's fleet setting; a user sets the OTEL_* variables instead.
  if (Object.values(layer.telemetry ?? {}).some((v) => v !== undefined))
    ignore('[gatehouse_telemetry]', 'the admin’s setting; set the OTEL_* variables instead');

  return {
    requirements: {
      mcpServers,
      plugins,
      audit,
      policy,
      schema,
      masking,
      pluginGovernance: base.pluginGovernance,
      approvals: base.approvals,
      // [gatehouse_http]: lists only narrow, the admin's TLS files stay, limits only go down.
      http: tightenHttp(base.http, layer.http, source, ignore),
      identity: base.identity,
      ...(base.telemetry ? { telemetry: base.telemetry } : {}),
      // [gatehouse_credentials]: a user layer's rules only narrow (a server must satisfy both).
      credentials: tightenCredentials(base.credentials, layer.credentials),
    },
    ignored,
  };
}
