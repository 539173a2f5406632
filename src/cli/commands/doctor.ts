import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { describeAuditSpec, openAuditStore } from '../../audit/open-store.js';
import { defaultGatehouseHome } from '../../config/load-config.js';
import { parseTomlText } from '../../connect/codex-config.js';
import { diagnoseClient } from '../../connect/doctor.js';
import { readConnectState } from '../../connect/connect-state.js';
import type { ClientConfig, ClientReport, Finding } from '../../connect/doctor.js';
import { JSON_CLIENTS, parseJsonText } from '../../connect/json-config.js';
import { ExitCode } from '../exit-codes.js';
import { adminAuditStore, chosenStore } from '../audit-store.js';
import type { ExitCodeValue } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import type { GlobalOptions } from '../world.js';
import { codexHomeDir } from '../world.js';
import { gatehouseVersion } from '../../version.js';
import { launchGoverned } from './doctor-launch.js';
import type { LaunchReport } from './doctor-launch.js';

function launchLines(l: LaunchReport): string[] {
  const ok = l.state === 'ready' || l.state === 'no_tools';
  const reach = l.settings.map(
    (s) =>
      `${s.name} ${s.reach === 'passed' ? '✔' : s.reach === 'pinned' ? '(pinned by the entry)' : '✘ dropped'}`,
  );
  return [
    `  launched ${l.server} as ${l.client} would: ${ok ? `${l.state}, ${l.tools ?? 0} tool(s)` : `${l.state.toUpperCase()}: ${l.detail}`}`,
    `    home ${l.home}; audit ${l.audit.launched}${l.audit.written === true ? ' (this session recorded there)' : l.audit.written === false ? ' (nothing new recorded)' : ''}`,
    ...(reach.length ? [`    GATEHOUSE_* set here: ${reach.join(', ')}`] : []),
  ];
}

export interface DoctorOptions {
  json?: boolean;
  codex?: string;
  /** Start each governed entry as its client would and check what reaches it. */
  launch?: boolean;
}

/** Bound for one launched gateway's initialize + tools/list (it starts the real server too). */
const LAUNCH_TIMEOUT_MS = 30_000;

function asObject(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : {};
}

/** Every client config file doctor looks at, in a stable order. */
function candidateFiles(globals: GlobalOptions, io: CliIo) {
  const home = io.env.HOME ?? homedir();
  const files: { client: ClientConfig['client']; scope: ClientConfig['scope']; file: string }[] = [
    { client: 'codex', scope: 'user', file: join(codexHomeDir(globals, io), 'config.toml') },
    { client: 'codex', scope: 'project', file: join(io.cwd, '.codex', 'config.toml') },
  ];
  for (const spec of Object.values(JSON_CLIENTS)) {
    if (spec.userFile)
      files.push({ client: spec.id, scope: 'user', file: join(home, spec.userFile) });
    files.push({ client: spec.id, scope: 'project', file: join(io.cwd, spec.projectFile) });
  }
  return files;
}

function onPath(command: string, env: NodeJS.ProcessEnv): boolean {
  const runnable = (f: string) => {
    try {
      accessSync(f, constants.X_OK);
      return statSync(f).isFile();
    } catch {
      return false;
    }
  };
  if (isAbsolute(command) || command.includes('/')) return runnable(command);
  return (env.PATH ?? '')
    .split(delimiter)
    .some((dir) => dir !== '' && runnable(join(dir, command)));
}

/**
 * `gatehouse doctor`: proves the wiring on this machine — per client found, which servers go
 * through Gatehouse and which bypass it, whether settings reach the gateway, the audit store,
 * versions. Exit 19 when any finding is an error (for CI and fleet checks).
 */
export async function runDoctor(
  globals: GlobalOptions,
  opts: DoctorOptions,
  io: CliIo,
): Promise<ExitCodeValue> {
  const findings: Finding[] = [];
  const clients: ClientReport[] = [];
  // What `gatehouse run` falls back to when nothing pins or passes GATEHOUSE_HOME (HOME passes).
  const defaultHome = join(io.env.HOME ?? homedir(), '.gatehouse');
  const cache = new Map<string, ReadonlySet<string> | null>();
  const serversIn = (home: string) => {
    if (!cache.has(home)) {
      const file = join(home, 'config.toml');
      if (!existsSync(file)) cache.set(home, new Set());
      else {
        const parsed = parseTomlText(readFileSync(file, 'utf8'), file);
        cache.set(
          home,
          parsed.ok ? new Set(Object.keys(asObject(parsed.doc.value.mcp_servers))) : null,
        );
      }
    }
    return cache.get(home) ?? null;
  };
  // Entries `connect --remote` pointed at a team gateway go through Gatehouse, remotely.
  const remotes = new Set(
    readConnectState(resolve(io.cwd, defaultGatehouseHome(io.env))).flatMap((r) =>
      r.remote ? [r.remote] : [],
    ),
  );
  for (const c of candidateFiles(globals, io)) {
    if (!existsSync(c.file)) continue;
    const text = readFileSync(c.file, 'utf8');
    const parsed = c.client === 'codex' ? parseTomlText(text, c.file) : parseJsonText(text, c.file);
    if (!parsed.ok) {
      const e = parsed.error;
      findings.push({
        severity: 'error',
        code: 'config_syntax',
        client: c.client,
        file: c.file,
        message: `${e.file}:${e.line}:${e.column}: ${e.message}: ${c.client} cannot load it either`,
        fix: 'fix the syntax at that position',
      });
      continue;
    }
    const value = asObject(parsed.doc.value);
    const servers = asObject(
      c.client === 'codex' ? value.mcp_servers : value[JSON_CLIENTS[c.client].serversKey],
    );
    const result = diagnoseClient(
      { ...c, servers },
      { env: io.env, defaultHome, serversIn, executable: (cmd) => onPath(cmd, io.env), remotes },
    );
    clients.push(result.report);
    findings.push(...result.findings);
  }
  // The audit store the gateway would use.
  const home = resolve(io.cwd, defaultGatehouseHome(io.env));
  const adminStore = adminAuditStore(globals, io);
  // As every gateway and reading command chooses it.
  const spec = chosenStore(adminStore, globals.audit, io, defaultGatehouseHome(io.env));
  const launched = opts.launch
    ? await launchGoverned(
        clients,
        { env: io.env, cwd: io.cwd, audit: spec, adminStore, home },
        findings,
        LAUNCH_TIMEOUT_MS,
      )
    : null;
  if (launched) findings.push(...launched.findings);
  const shown = describeAuditSpec(spec, home);
  const sqlitePath = spec && /^postgres(ql)?:\/\//i.test(spec) ? null : shown;
  let store: Record<string, unknown>;
  if (sqlitePath !== null && !existsSync(sqlitePath)) {
    store = {
      store: shown,
      reachable: null,
      note: 'not created yet (the first gateway session creates it)',
    };
  } else {
    try {
      const opened = await openAuditStore(spec, home, { mustExist: true });
      await opened.close();
      store = { store: shown, reachable: true };
    } catch (err) {
      store = { store: shown, reachable: false };
      findings.push({
        severity: 'error',
        code: 'audit_store_unreachable',
        message: `the audit store ${shown} cannot be opened: ${err instanceof Error ? err.message.replace(spec ?? '\u0000', shown) : String(err)}`,
        fix: 'check GATEHOUSE_AUDIT / --audit, that the database is up, and `gatehouse audit verify`',
      });
    }
  }
  const codexBin = opts.codex ?? 'codex';
  const codexRun = spawnSync(codexBin, ['--version'], {
    encoding: 'utf8',
    timeout: 10000,
    env: io.env,
  });
  const codexVersion = codexRun.status === 0 ? codexRun.stdout.trim() : null;
  const versions = {
    gatehouse: gatehouseVersion(),
    codex: codexVersion,
    node: process.versions.node,
  };
  const errors = findings.filter((f) => f.severity === 'error').length;
  if (opts.json) {
    io.stdout(
      JSON.stringify(
        {
          ok: errors === 0,
          clients: clients.map((c) => ({
            client: c.client,
            scope: c.scope,
            file: c.file,
            servers: c.rows,
          })),
          audit: store,
          ...(launched ? { launches: launched.launches } : {}),
          versions,
          findings,
        },
        null,
        2,
      ) + '\n',
    );
  } else {
    const out: string[] = [];
    if (!clients.length) out.push('no client config found (Codex, Claude Code, Cursor, VS Code)');
    for (const c of clients) {
      out.push(`${c.client} (${c.scope}) ${c.file}`);
      if (!c.rows.length) out.push('  no MCP servers');
      for (const r of c.rows)
        out.push(
          `  ${r.governed ? '✔' : '✘'} ${r.name}: ${r.governed ? 'through Gatehouse' : 'BYPASSES Gatehouse'} (${r.target})`,
        );
    }
    for (const l of launched?.launches ?? []) out.push(...launchLines(l));
    out.push(
      `audit store: ${shown} — ${store.reachable === true ? 'reachable' : store.reachable === false ? 'NOT reachable' : String(store.note)}`,
      `versions: gatehouse ${versions.gatehouse}, ${codexVersion ?? 'codex not found'}, node ${versions.node}`,
    );
    for (const f of findings.filter((x) => x.severity !== 'ok')) {
      out.push(`${f.severity}: ${f.message}`);
      if (f.fix) out.push(`  fix: ${f.fix}`);
    }
    out.push(errors ? `${errors} problem(s) found` : 'no problems found');
    io.stdout(out.join('\n') + '\n');
  }
  return errors ? ExitCode.doctorProblems : ExitCode.ok;
}
