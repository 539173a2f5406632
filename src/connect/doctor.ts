import { GATEHOUSE_PASS_THROUGH, isGatehouseWrapper } from './codex-config.js';

/**
 * `gatehouse doctor`, the pure part: given each client config found and what Gatehouse's
 * configs define, which servers go through Gatehouse, which bypass it, and whether the
 * settings would reach a gateway the client launches — each finding with its fix.
 */
export type Severity = 'error' | 'warning' | 'ok';

export interface Finding {
  severity: Severity;
  code: string;
  client?: string;
  file?: string;
  server?: string;
  message: string;
  fix?: string;
}

export interface ClientConfig {
  client: 'codex' | 'claude-code' | 'cursor' | 'vscode';
  scope: 'user' | 'project';
  file: string;
  /** The parsed servers table (`mcp_servers`, `mcpServers` or `servers`). */
  servers: Record<string, unknown>;
}

export interface ServerRow {
  name: string;
  governed: boolean;
  /** The entry points at a team gateway `connect --remote` wrote (nothing local to check). */
  remote?: boolean;
  /** For a governed entry: the executable it starts. Otherwise the real command or URL. */
  target: string;
}

export interface ClientReport extends ClientConfig {
  rows: ServerRow[];
}

function obj(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : {};
}

function envVarNames(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  return v.flatMap((x) =>
    typeof x === 'string' ? [x] : typeof obj(x).name === 'string' ? [obj(x).name as string] : [],
  );
}

export function diagnoseClient(
  config: ClientConfig,
  ctx: {
    env: NodeJS.ProcessEnv;
    /** The home `gatehouse run` uses when nothing pins one ($GATEHOUSE_HOME unset: ~/.gatehouse). */
    defaultHome: string;
    /** Server names defined in `HOME/config.toml` (null: that config is unreadable). */
    serversIn: (home: string) => ReadonlySet<string> | null;
    /** Does this executable exist and may it be run? */
    executable: (command: string) => boolean;
    /** Team gateway URLs `connect --remote` recorded: entries pointing there are governed. */
    remotes?: ReadonlySet<string>;
  },
): { report: ClientReport; findings: Finding[] } {
  const findings: Finding[] = [];
  const rows: ServerRow[] = [];
  const base = { client: config.client, file: config.file };
  const connectCmd = `gatehouse connect ${config.client}${config.scope === 'project' ? ' --scope project' : ''}`;
  for (const [name, entry] of Object.entries(config.servers)) {
    const e = obj(entry);
    if (typeof e.url === 'string' && ctx.remotes?.has(e.url)) {
      rows.push({ name, governed: true, remote: true, target: `team gateway ${e.url}` });
      continue;
    }
    if (!isGatehouseWrapper(entry, name)) {
      const target =
        typeof e.command === 'string'
          ? [e.command, ...(Array.isArray(e.args) ? e.args.map(String) : [])].join(' ')
          : typeof e.url === 'string'
            ? e.url
            : '?';
      rows.push({ name, governed: false, target });
      if (e.enabled === false) continue;
      findings.push({
        severity: 'error',
        code: 'bypass',
        ...base,
        server: name,
        message: `'${name}' bypasses Gatehouse: ${config.client} starts ${target} directly`,
        fix: `${connectCmd} ${name}`,
      });
      continue;
    }
    const command = e.command as string;
    rows.push({ name, governed: true, target: `${command} run ${name}` });
    if (!ctx.executable(command))
      findings.push({
        severity: 'error',
        code: 'gatehouse_not_found',
        ...base,
        server: name,
        message: `'${name}' starts ${command}, which is not an executable file here`,
        fix: `${connectCmd} ${name} --gatehouse-command "$(command -v gatehouse)"`,
      });
    const pinnedHome = obj(e.env).GATEHOUSE_HOME;
    const forwarded = new Set(envVarNames(e.env_vars));
    // JSON clients pass their whole environment; Codex only its allow-list, env and env_vars.
    const passes = (v: string) => config.client !== 'codex' || forwarded.has(v);
    let home: string;
    if (typeof pinnedHome === 'string') home = pinnedHome;
    else if (passes('GATEHOUSE_HOME') && ctx.env.GATEHOUSE_HOME) home = ctx.env.GATEHOUSE_HOME;
    else {
      home = ctx.defaultHome;
      if (ctx.env.GATEHOUSE_HOME && ctx.env.GATEHOUSE_HOME !== ctx.defaultHome)
        findings.push({
          severity: 'error',
          code: 'setting_not_passed',
          ...base,
          server: name,
          message: `GATEHOUSE_HOME is set here (${ctx.env.GATEHOUSE_HOME}) but ${config.client} does not pass it: the gateway would read ${ctx.defaultHome}`,
          fix: `${connectCmd} (pins GATEHOUSE_HOME with env), or add env = { GATEHOUSE_HOME = "…" } to the entry`,
        });
    }
    const defined = ctx.serversIn(home);
    if (defined === null)
      findings.push({
        severity: 'error',
        code: 'gatehouse_config_invalid',
        ...base,
        server: name,
        message: `${home}/config.toml cannot be read or parsed: \`gatehouse run ${name}\` would fail`,
        fix: `gatehouse mcp list (with GATEHOUSE_HOME=${home}) names the error`,
      });
    else if (!defined.has(name))
      findings.push({
        severity: 'error',
        code: 'definition_missing',
        ...base,
        server: name,
        message: `'${name}' runs \`gatehouse run ${name}\`, but ${home}/config.toml defines no '${name}'`,
        fix: `add [mcp_servers.${name}] to ${home}/config.toml (or gatehouse disconnect ${config.client} and connect again)`,
      });
    if (config.client === 'codex')
      for (const v of GATEHOUSE_PASS_THROUGH) {
        if (forwarded.has(v)) continue;
        const set = ctx.env[v] !== undefined;
        findings.push({
          severity: set ? 'error' : 'warning',
          code: 'setting_not_passed',
          ...base,
          server: name,
          message: set
            ? `${v} is set here but Codex does not pass it to '${name}' (not in env_vars): the gateway runs without it`
            : `${v} is not in env_vars of '${name}': if you set it for Codex, the gateway will not see it`,
          fix: `add "${v}" to env_vars of [mcp_servers.${name}] in ${config.file} (${connectCmd} writes it)`,
        });
      }
  }
  return { report: { ...config, rows }, findings };
}
