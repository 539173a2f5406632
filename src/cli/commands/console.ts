import { resolve } from 'node:path';
import { readApproverKey } from '../../approval/approver-key-file.js';
import type { ApprovalRow } from '../../approval/queue.js';
import type { ApproverKey } from '../../approval/signed-grant.js';
import { isSamePerson } from '../../approval/signed-grant.js';
import { AUDIT_DECISIONS, AUDIT_EVENT_TYPES } from '../../audit/filter-values.js';
import { openAuditStore } from '../../audit/open-store.js';
import type { AuditStore } from '../../audit/store.js';
import { defaultGatehouseHome } from '../../config/load-config.js';
import type { ApprovalView, CommandAnswer, ConsoleData } from '../../console/data.js';
import { isLoopbackHost, startConsoleServer } from '../../console/server.js';
import { ExitCode } from '../exit-codes.js';
import type { ExitCodeValue } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { onShutdown } from '../shutdown.js';
import type { GlobalOptions, World } from '../world.js';
import { loadWorld } from '../world.js';
import { approverIdentity, maskerForPeople, rowJson, runApprovalsDecide } from './approvals.js';
import { runAuditExport, runAuditQuery, storeSpec } from './audit.js';
import { runAuditVerify } from './audit-verify.js';
import { runConsoleTools } from './console-tools.js';
import { runInventoryCheck } from './inventory.js';
import { runMcpList } from './mcp-list.js';
import { runSchemaApprove, runSchemaLog } from './schema.js';
import { runSchemaDiff } from './schema-diff.js';

export interface ConsoleOptions {
  host?: string;
  port?: string;
  json?: boolean;
  key?: string;
  allowRemote?: boolean;
}

/**
 * Runs a CLI command with --json into a buffer: the console reads and changes everything through
 * the very functions `gatehouse …` runs, so a page and the command cannot disagree.
 */
export async function commandAnswer(
  io: CliIo,
  run: (io: CliIo) => Promise<ExitCodeValue> | ExitCodeValue,
  /** The command prints text (JSONL), not one JSON value: passed on as a string. */
  text = false,
): Promise<CommandAnswer> {
  let out = '';
  let err = '';
  const captured: CliIo = {
    stdout: (t) => (out += t),
    stdoutBytes: (b) => (out += b.toString('utf8')),
    stderr: (t) => (err += t),
    isTTY: false,
    env: io.env,
    cwd: io.cwd,
    ...(io.systemRequirementsFile ? { systemRequirementsFile: io.systemRequirementsFile } : {}),
    ...(io.requirementsOwnership ? { requirementsOwnership: io.requirementsOwnership } : {}),
  };
  const code = await run(captured);
  let json: unknown = text ? out : null;
  if (!text && out.trim()) {
    try {
      json = JSON.parse(out) as unknown;
    } catch {
      json = out; // JSONL (export) or text: passed on as is
    }
  }
  return { code, json, message: err.trim().replace(/^error: /, '') || null };
}

const param = (p: URLSearchParams, name: string) => p.get(name)?.trim() || undefined;

/** The approver key given with --key, as listed in requirements (null: none, or not listed). */
function listedKey(world: World | null, file: string | undefined, io: CliIo): ApproverKey | null {
  if (!file || !world) return null;
  try {
    const { fingerprint } = readApproverKey(resolve(io.cwd, file));
    return (
      world.requirements.requirements.approvals.approvers.find(
        (a) => a.fingerprint === fingerprint,
      ) ?? null
    );
  } catch {
    return null;
  }
}

/** Why this console's person cannot approve a row (shown on a disabled button), or null. */
export function approveBlocked(
  row: ApprovalRow,
  own: boolean,
  signs: boolean,
  keysListed: boolean,
): string | null {
  if (row.twoPerson && own) return 'You requested this call: a second person must approve it.';
  if ((row.twoPerson || keysListed) && !signs)
    return 'Approving needs a signed grant: start the console with --key FILE (your approver key).';
  return null;
}

/** The pages' views and actions: each the CLI command of the same name, run with --json. */
function pagesData(global: GlobalOptions, io: CliIo): Pick<ConsoleData, 'views' | 'actions'> {
  const run = (fn: (io: CliIo) => Promise<ExitCodeValue> | ExitCodeValue) => commandAnswer(io, fn);
  return {
    views: {
      servers: (p) => run((c) => runMcpList(global, { json: true, probe: p.has('probe') }, c)),
      tools: () => run((c) => runConsoleTools(global, c)),
      audit: (p) =>
        run((c) =>
          runAuditQuery(
            global,
            {
              json: true,
              server: param(p, 'server'),
              tool: param(p, 'tool'),
              decision: param(p, 'decision'),
              user: param(p, 'user'),
              type: param(p, 'type'),
              since: param(p, 'since'),
              until: param(p, 'until'),
              limit: param(p, 'limit') ?? '200',
            },
            c,
          ),
        ),
      'audit-export': () =>
        commandAnswer(io, (c) => runAuditExport(global, { format: 'jsonl' }, c), true),
      'audit-choices': () =>
        Promise.resolve({
          code: ExitCode.ok,
          json: { decision: AUDIT_DECISIONS, type: AUDIT_EVENT_TYPES },
          message: null,
        }),
      schema: () => run((c) => runSchemaDiff(global, [], { format: 'json' }, c)),
      'schema-log': () => run((c) => runSchemaLog(global, undefined, { json: true }, c)),
      inventory: () => run((c) => runInventoryCheck(global, { json: true }, c)),
    },
    actions: {
      verify: () => run((c) => runAuditVerify(global, { json: true, publicKey: [] }, c)),
      'schema-approve': (body) =>
        typeof body.target === 'string' && body.target
          ? run((c) => runSchemaApprove(global, String(body.target), { json: true, yes: true }, c))
          : Promise.resolve({
              code: 2,
              json: null,
              message: 'expected {"target": "SERVER[/TOOL]"}',
            }),
    },
  };
}

/** The console's data: the CLI's own commands, with the options this console was started with. */
function consoleData(
  global: GlobalOptions,
  opts: ConsoleOptions,
  io: CliIo,
  store: AuditStore,
  world: World | null,
  key: ApproverKey | null,
): ConsoleData {
  const mask = maskerForPeople(world);
  const me = approverIdentity();
  const keysListed = (world?.requirements.requirements.approvals.approvers.length ?? 0) > 0;
  const run = (fn: (io: CliIo) => Promise<ExitCodeValue> | ExitCodeValue) => commandAnswer(io, fn);
  return {
    viewer: { name: key?.name ?? me, signs: Boolean(opts.key) },
    approvals: async (all) =>
      (await store.approvals().list({ all })).map((row): ApprovalView => {
        const own = row.requester === me || (key !== null && isSamePerson(key, row.requester));
        return {
          ...rowJson(row, mask),
          id: row.id,
          status: row.status,
          own,
          approve_blocked: approveBlocked(row, own, Boolean(opts.key), keysListed),
        };
      }),
    decide: (id, decision, reason) =>
      run((c) =>
        runApprovalsDecide(
          global,
          id,
          decision,
          { json: true, ...(reason ? { reason } : {}), ...(opts.key ? { key: opts.key } : {}) },
          c,
        ),
      ),
    ...pagesData(global, io),
  };
}

/** `gatehouse console`: the web console on loopback, until stopped; prints a one-time login link. */
export async function runConsole(
  global: GlobalOptions,
  opts: ConsoleOptions,
  io: CliIo,
): Promise<ExitCodeValue> {
  const host = opts.host ?? '127.0.0.1';
  const port = Number(opts.port ?? '0');
  if (!/^\d{1,5}$/.test(opts.port ?? '0') || port > 65535) {
    io.stderr(`error: --port ${opts.port}: expected a port number 0–65535 (0: any free port)\n`);
    return ExitCode.usage;
  }
  if (!isLoopbackHost(host) && !opts.allowRemote) {
    io.stderr(
      `error: --host ${host} is not a loopback address: the console would be reachable from the network over plain HTTP. Use 127.0.0.1 (the default), or put it behind an HTTPS proxy and pass --allow-remote\n`,
    );
    return ExitCode.consoleRefused;
  }
  let world: World | null = null;
  try {
    world = loadWorld(global, io);
  } catch {
    world = null; // each page's command reports it
  }
  const key = listedKey(world, opts.key, io);
  if (opts.key && !key) {
    io.stderr(
      `error: --key ${opts.key}: not a readable approver key listed in [gatehouse_approvals] approvers (create one with \`gatehouse approvals keygen\` and ask the admin to list its public key)\n`,
    );
    return ExitCode.usage;
  }
  let store: AuditStore;
  try {
    store = await openAuditStore(storeSpec(global, io), defaultGatehouseHome(io.env));
  } catch (err) {
    io.stderr(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return ExitCode.auditUnavailable;
  }
  try {
    const server = await startConsoleServer({
      host,
      port,
      data: consoleData(global, opts, io, store, world, key),
    });
    onShutdown(async () => {
      await server.close();
      await store.close();
    });
    const link = server.loginLink();
    if (opts.json)
      io.stdout(
        `${JSON.stringify({ url: server.url, host, port: server.port, login_url: link })}\n`,
      );
    else
      io.stdout(
        `Gatehouse console at ${server.url}\nOpen this link to sign in (it works once, within 60 minutes):\n\n  ${link}\n\nStop with Ctrl-C.\n`,
      );
    return await new Promise<never>(() => undefined);
  } catch (err) {
    io.stderr(
      `error: cannot serve the console on ${host}:${port}: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    await store.close();
    return ExitCode.consoleRefused;
  }
}
