import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { buildInventory } from '../../inventory/build.js';
import { collectPlugins } from '../../inventory/collect.js';
import { inventoryDigest } from '../../inventory/digest.js';
import type {
  Finding,
  Inventory,
  InventoryMarketplace,
  InventoryPlugin,
  InventoryServer,
  Risk,
} from '../../inventory/model.js';
import { INVENTORY_SCHEMA_VERSION } from '../../inventory/model.js';
import {
  evaluateInventory,
  marketplaceRisk,
  pluginRisk,
  serverRisk,
} from '../../inventory/policy.js';
import { invalidSources } from '../../requirements/load-requirements.js';
import { renderDiagnostic } from '../../diagnostics/diagnostic.js';
import { ExitCode } from '../exit-codes.js';
import type { ExitCodeValue } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { reportLoadProblems } from '../report.js';
import type { GlobalOptions, World } from '../world.js';
import { codexHomeDir, loadWorld } from '../world.js';

export interface InventoryOptions {
  json?: boolean;
  /** Read saved `codex … --json` outputs from this directory instead of running codex. */
  from?: string;
  /** The codex executable (default: `codex` on PATH). */
  codex?: string;
}

export interface TakenInventory {
  world: World;
  inventory: Inventory;
  findings: Finding[];
  sha256: string;
  /** 0; 4 when the requirements are invalid; 3 when a config file is (the rest is still listed). */
  code: ExitCodeValue;
}

/**
 * Loads everything and takes the inventory: config layers as `mcp list` reads them plus
 * Codex's own layers, plugins from codex (or saved output, or disk), manifests, and the plugin
 * policy. Config errors do not stop it: they are printed and listed as notices, and the rest
 * is still reported.
 */
export async function takeInventory(
  global: GlobalOptions,
  opts: InventoryOptions,
  io: CliIo,
  quiet = false,
): Promise<TakenInventory> {
  const world = loadWorld(global, io, true);
  const loaded = quiet
    ? world.requirements.invalid
      ? ExitCode.requirementsInvalid
      : ExitCode.ok
    : reportLoadProblems(io, world);
  const configBroken = world.config.diagnostics.some((d) => d.severity === 'error');
  const code = loaded === ExitCode.ok && configBroken ? ExitCode.configInvalid : loaded;
  const codexHome = codexHomeDir(global, io);
  const progress = io.isTTY && !opts.json && !quiet;
  if (progress) io.stderr(opts.from ? 'reading saved codex output…' : 'asking codex for plugins…');
  const savedDir = opts.from ? resolve(io.cwd, opts.from) : null;
  const collected = await collectPlugins({
    codexHome,
    env: io.env,
    cwd: io.cwd,
    ...(savedDir ? { savedDir } : {}),
    ...(opts.codex ? { codexBinary: opts.codex } : {}),
  });
  if (progress) io.stderr('\r\x1b[2K');
  const inventory = buildInventory({
    decisions: world.decisions,
    configSources: world.config.sources,
    collected,
    codexHome,
    savedDir,
    requirements: world.requirements.requirements,
    invalidSources: invalidSources(world.requirements),
    env: io.env,
  });
  for (const d of world.config.diagnostics.filter((x) => x.severity === 'error'))
    inventory.notices.push({
      severity: 'error',
      subject: 'config',
      message: renderDiagnostic(d).split('\n')[0] ?? d.message,
      file: d.location?.file ?? null,
    });
  const findings = evaluateInventory(inventory, world.requirements.requirements.pluginGovernance, {
    invalid: world.requirements.invalid,
  });
  return { world, inventory, findings, sha256: inventoryDigest(inventory), code };
}

function withRisk(inv: Inventory, findings: readonly Finding[]) {
  return {
    servers: inv.servers.map((s) => ({ ...s, risk: serverRisk(s, findings) })),
    marketplaces: inv.marketplaces.map((m) => ({ ...m, risk: marketplaceRisk(m, findings) })),
    plugins: inv.plugins.map((p) => ({ ...p, risk: pluginRisk(p, findings) })),
  };
}

function counts(findings: readonly Finding[]) {
  return {
    errors: findings.filter((f) => f.severity === 'error').length,
    warnings: findings.filter((f) => f.severity === 'warning').length,
    info: findings.filter((f) => f.severity === 'info').length,
  };
}

/** `gatehouse inventory --json`: the documented, versioned shape (docs/cli.md). */
export function inventoryJson(t: TakenInventory): Record<string, unknown> {
  const inv = t.inventory;
  return {
    schema_version: INVENTORY_SCHEMA_VERSION,
    sha256: t.sha256,
    generated_at: new Date().toISOString(),
    host: hostname(),
    sources: inv.sources,
    summary: {
      servers: inv.servers.length,
      marketplaces: inv.marketplaces.length,
      plugins: inv.plugins.length,
      installed_plugins: inv.plugins.filter((p) => p.installed).length,
      ...counts(t.findings),
    },
    ...withRisk(inv, t.findings),
    findings: t.findings,
    notices: inv.notices,
  };
}

const RISK_TITLES: Record<Risk, string> = {
  violation: 'VIOLATIONS',
  review: 'NEEDS REVIEW',
  ok: 'OK',
};

function pluginLines(p: InventoryPlugin): string[] {
  const state = p.installed
    ? p.enabled
      ? 'installed, enabled'
      : 'installed, disabled'
    : 'available';
  const src = p.marketplace_source
    ? ` (${p.marketplace_source.source_type} ${p.marketplace_source.source})`
    : '';
  const lines = [
    `plugin ${p.id} ${p.version ?? '?'}  ${state}  marketplace ${p.marketplace}${src}`,
    `  policy: install ${p.install_policy ?? '?'}, auth ${p.auth_policy ?? '?'}`,
  ];
  if (!p.contents_known) lines.push('  contents: unknown (files not readable here)');
  else {
    const events = [...new Set(p.hooks.map((h) => h.event))];
    lines.push(
      `  hooks: ${p.hooks.length === 0 ? 'none' : `${p.hooks.length} (${events.join(', ')})`}  skills: ${p.skills.length === 0 ? 'none' : p.skills.map((s) => s.name).join(', ')}`,
    );
    for (const s of p.mcp_servers) {
      const id =
        'url' in s.identity ? s.identity.url : [s.identity.command, ...s.identity.args].join(' ');
      lines.push(
        `  server ${s.name}: ${s.remote ? 'REMOTE' : 'local'} ${id}  ${s.allowed_by ? `allowed by ${s.allowed_by}` : s.allowed ? 'not governed by a rule' : `refused (${s.disabled_reason_code})`}`,
      );
    }
  }
  return lines;
}

function marketplaceLines(m: InventoryMarketplace): string[] {
  const src = m.marketplace_source
    ? `${m.marketplace_source.source_type} ${m.marketplace_source.source}`
    : 'source unknown';
  return [`marketplace ${m.name}  ${src}${m.manifest ? `  (${m.manifest})` : ''}`];
}

function serverLines(s: InventoryServer): string[] {
  const id =
    'url' in s.identity ? s.identity.url : [s.identity.command, ...s.identity.args].join(' ');
  const from = s.plugin_id
    ? `plugin ${s.plugin_id}`
    : `${s.origin.kind} ${s.origin.file}${s.origin.line ? `:${s.origin.line}` : ''}`;
  return [
    `server ${s.name}  ${s.remote ? 'REMOTE' : 'local'} ${s.transport} ${id}  ${s.status}`,
    `  from ${from}${s.allowed_by ? `; allowed by ${s.allowed_by}` : ''}`,
    ...(s.wrapped_by ?? []).map(
      (w) =>
        `  through Gatehouse: gatehouse run ${s.name} in ${w.kind} ${w.file}${w.line ? `:${w.line}` : ''}`,
    ),
  ];
}

function findingLines(f: Finding): string[] {
  return [
    `  ${f.severity === 'error' ? '✗' : f.severity === 'warning' ? '!' : 'i'} ${f.rule}: ${f.message}`,
    `    fix: ${f.fix}`,
  ];
}

/** The human report: every item grouped by risk, each with its findings beneath it. */
export function renderInventory(t: TakenInventory): string {
  const inv = t.inventory;
  const out: string[] = [];
  const how =
    inv.sources.plugins === 'codex_cli'
      ? `codex CLI (${inv.sources.codex_binary})`
      : inv.sources.plugins === 'saved'
        ? `saved output in ${inv.sources.saved_dir}`
        : 'Codex config and manifests on disk (codex not found)';
  out.push(
    `Inventory of ${hostname()} — codex home ${inv.sources.codex_home}; plugins from ${how}`,
  );
  out.push(`sha256 ${t.sha256}`);
  const groups: Record<Risk, string[][]> = { violation: [], review: [], ok: [] };
  const about = (kind: string, id: string) =>
    t.findings.filter((f) => f.subject.kind === kind && f.subject.id === id).flatMap(findingLines);
  for (const p of inv.plugins)
    groups[pluginRisk(p, t.findings)].push([...pluginLines(p), ...about('plugin', p.id)]);
  for (const m of inv.marketplaces)
    groups[marketplaceRisk(m, t.findings)].push([
      ...marketplaceLines(m),
      ...about('marketplace', m.name),
    ]);
  for (const s of inv.servers) groups[serverRisk(s, t.findings)].push(serverLines(s));
  const general = t.findings.filter(
    (f) => f.subject.kind === 'requirements' || f.subject.kind === 'inventory',
  );
  if (general.length > 0) groups.violation.unshift(general.flatMap(findingLines));
  for (const risk of ['violation', 'review', 'ok'] as const) {
    const items = groups[risk];
    if (items.length === 0) continue;
    out.push('', `${RISK_TITLES[risk]} (${items.length})`);
    for (const lines of items) out.push(...lines.map((l) => `  ${l}`));
  }
  if (inv.servers.length + inv.plugins.length + inv.marketplaces.length === 0)
    out.push('', 'No MCP servers, plugins or marketplaces found.');
  if (inv.notices.length > 0) {
    out.push('', 'Not fully read:');
    for (const n of inv.notices)
      out.push(`  ${n.severity}: ${n.subject}: ${n.message}${n.file ? ` (${n.file})` : ''}`);
  }
  const c = counts(t.findings);
  out.push(
    '',
    `${inv.servers.length} server(s), ${inv.plugins.length} plugin(s) (${inv.plugins.filter((p) => p.installed).length} installed), ${inv.marketplaces.length} marketplace(s); ${c.errors} violation(s), ${c.warnings} warning(s)`,
  );
  return `${out.join('\n')}\n`;
}

export async function runInventory(
  global: GlobalOptions,
  opts: InventoryOptions,
  io: CliIo,
): Promise<ExitCodeValue> {
  const taken = await takeInventory(global, opts, io);
  if (opts.json) io.stdout(`${JSON.stringify(inventoryJson(taken), null, 2)}\n`);
  else io.stdout(renderInventory(taken));
  return taken.code;
}

/** `inventory check`: the findings only, exit 15 on any violation (for CI and fleet checks). */
export async function runInventoryCheck(
  global: GlobalOptions,
  opts: InventoryOptions,
  io: CliIo,
): Promise<ExitCodeValue> {
  const taken = await takeInventory(global, opts, io);
  const c = counts(taken.findings);
  if (opts.json) {
    io.stdout(
      `${JSON.stringify(
        {
          schema_version: INVENTORY_SCHEMA_VERSION,
          sha256: taken.sha256,
          ok: c.errors === 0,
          summary: c,
          findings: taken.findings,
          notices: taken.inventory.notices,
        },
        null,
        2,
      )}\n`,
    );
  } else {
    for (const f of taken.findings)
      io.stdout(
        `${f.severity}  ${f.rule}  ${f.subject.kind} ${f.subject.id}\n  ${f.message}\n  fix: ${f.fix}\n`,
      );
    for (const n of taken.inventory.notices.filter((x) => x.severity !== 'info'))
      io.stderr(`note: ${n.subject}: ${n.message}\n`);
    const inv = taken.inventory;
    io.stdout(
      `${c.errors === 0 ? 'no violations' : `${c.errors} violation(s)`}, ${c.warnings} warning(s): ${inv.plugins.length} plugin(s), ${inv.marketplaces.length} marketplace(s), ${inv.servers.length} server(s) checked\n`,
    );
  }
  // Invalid requirements first (nothing can be judged), then violations, then unread config.
  if (taken.code === ExitCode.requirementsInvalid) return taken.code;
  return c.errors > 0 ? ExitCode.inventoryViolations : taken.code;
}
