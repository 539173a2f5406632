import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { describeAuditSpec } from '../../audit/open-store.js';
import { serverWithDefaults } from '../../config/mcp-server.js';
import type { ClientReport, Finding } from '../../connect/doctor.js';
import type { SettingReach } from '../../connect/launch-environment.js';
import {
  gatehouseSettingsReach,
  launchTransport,
  launchedSettings,
} from '../../connect/launch-environment.js';
import { probeServer } from '../../gateway/probe.js';

/**
 * `doctor --launch`: starts each governed entry exactly as its client would (Codex's environment
 * filtering included), runs MCP initialize + tools/list within a timeout, and checks that the
 * Gatehouse settings given here reach that gateway: every GATEHOUSE_* variable, the home, and the
 * audit store (which must receive the session's records). Each problem is a finding with its fix.
 */
export interface LaunchReport {
  client: string;
  file: string;
  server: string;
  state: string;
  tools: number | null;
  detail: string;
  settings: SettingReach[];
  home: string;
  audit: { intended: string; launched: string; written: boolean | null };
}

function mtimeMs(path: string): number | null {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

/** Waits (bounded) for a file to appear or change: the gateway may hand records to an appender. */
async function changedSince(path: string, before: number | null, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    const now = mtimeMs(path);
    if (now !== null && (before === null || now > before)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function launchGoverned(
  clients: readonly ClientReport[],
  ctx: {
    env: NodeJS.ProcessEnv;
    cwd: string;
    audit: string | undefined;
    /** The admin's `[gatehouse_audit] store`: the launched gateway honours it too. */
    adminStore: string | undefined;
    home: string;
  },
  reported: readonly Finding[],
  timeoutMs: number,
): Promise<{ launches: LaunchReport[]; findings: Finding[] }> {
  const launches: LaunchReport[] = [];
  const findings: Finding[] = [];
  const intended = describeAuditSpec(ctx.audit, ctx.home);
  for (const c of clients) {
    const base = { client: c.client, file: c.file };
    const connectCmd = `gatehouse connect ${c.client}${c.scope === 'project' ? ' --scope project' : ''}`;
    for (const row of c.rows) {
      if (!row.governed || row.remote) continue; // a team gateway is not started here
      const entry = c.servers[row.name];
      const transport = launchTransport(c.client, entry, ctx.env);
      const settings = gatehouseSettingsReach(transport, ctx.env);
      const { home, auditSpec } = launchedSettings(transport, ctx.env, ctx.adminStore);
      const launchedAudit = describeAuditSpec(auditSpec, resolve(ctx.cwd, home));
      const sqlite = !/^postgres(ql)?:\/\//i.test(launchedAudit);
      const before = sqlite ? mtimeMs(launchedAudit) : null;
      const probe = await probeServer(serverWithDefaults(row.name, transport, []), {
        env: ctx.env,
        timeoutMs,
      });
      const ready = probe.state === 'ready' || probe.state === 'no_tools';
      const written =
        ready && sqlite && existsSync(resolve(launchedAudit, '..'))
          ? await changedSince(launchedAudit, before, 3000)
          : null;
      launches.push({
        ...base,
        server: row.name,
        state: probe.state,
        tools: probe.toolCount,
        detail: probe.detail,
        settings,
        home,
        audit: { intended, launched: launchedAudit, written },
      });
      if (!ready)
        findings.push({
          severity: 'error',
          code: 'launch_failed',
          ...base,
          server: row.name,
          message: `'${row.name}': the gateway ${c.client} starts is ${probe.state}: ${probe.detail}`,
          fix: `run \`gatehouse mcp list --probe\` with GATEHOUSE_HOME=${home} to see why; \`gatehouse requirements explain ${row.name}\` if it is disabled`,
        });
      if (probe.state === 'no_tools')
        findings.push({
          severity: 'warning',
          code: 'launch_no_tools',
          ...base,
          server: row.name,
          message: `'${row.name}': the gateway ${c.client} starts lists no tools (${probe.detail})`,
          fix: `a schema lock that cannot be used, or drift, hides every tool: \`gatehouse schema diff ${row.name}\` (with the same GATEHOUSE_LOCK); else \`gatehouse mcp list --probe\``,
        });
      for (const s of settings) {
        if (s.reach !== 'dropped') continue;
        const known = reported.some(
          (f) => f.server === row.name && f.file === c.file && f.message.startsWith(`${s.name} `),
        );
        if (known) continue;
        findings.push({
          severity: 'error',
          code: 'setting_not_passed',
          ...base,
          server: row.name,
          message: `${s.name} is set here but the gateway ${c.client} launches for '${row.name}' does not get it`,
          fix:
            c.client === 'codex'
              ? `add "${s.name}" to env_vars of [mcp_servers.${row.name}] in ${c.file}`
              : `add it to the entry's "env" in ${c.file}`,
        });
      }
      if (launchedAudit !== intended)
        findings.push({
          severity: 'error',
          code: 'audit_elsewhere',
          ...base,
          server: row.name,
          message: `'${row.name}': the gateway ${c.client} launches records to ${launchedAudit}, not to ${intended} (the store set here)`,
          fix:
            c.client === 'codex'
              ? `pass GATEHOUSE_AUDIT through (env_vars of [mcp_servers.${row.name}]; ${connectCmd} writes it), or set the store for everyone with [gatehouse_audit] store in the requirements`
              : `set GATEHOUSE_AUDIT in the environment ${c.client} starts with, or [gatehouse_audit] store in the requirements`,
        });
      else if (written === false)
        findings.push({
          severity: 'warning',
          code: 'audit_not_written',
          ...base,
          server: row.name,
          message: `'${row.name}' served a session but nothing new reached ${launchedAudit} within 3 s`,
          fix: '`gatehouse audit tail` shows what was recorded; an admin [gatehouse_audit] store may send records elsewhere',
        });
    }
  }
  return { launches, findings };
}
