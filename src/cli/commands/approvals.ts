import { userInfo } from 'node:os';
import { ApprovalError, decisionEvidence } from '../../approval/queue.js';
import type { ApprovalRow } from '../../approval/queue.js';
import { loadOrCreateAuditKeys } from '../../audit/keys.js';
import { openAuditStore } from '../../audit/open-store.js';
import type { AuditStore } from '../../audit/store.js';
import { AuditWriter } from '../../audit/writer.js';
import { defaultGatehouseHome } from '../../config/load-config.js';
import { ExitCode } from '../exit-codes.js';
import type { ExitCodeValue } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import type { GlobalOptions } from '../world.js';
import { storeSpec, withStore } from './audit.js';
import { parseHttpListen } from '../http-option.js';
import { onShutdown } from '../shutdown.js';
import { parseApproverTokens, startApprovalApi } from '../../approval/http-api.js';

/** Who is approving: the OS user running this command (never a name given on the command line). */
function approverIdentity(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid:${process.getuid?.() ?? 'unknown'}`;
  }
}

function withQueue(
  global: GlobalOptions,
  io: CliIo,
  fn: (store: AuditStore) => Promise<ExitCodeValue>,
): Promise<ExitCodeValue> {
  return withStore(
    global,
    io,
    (store) => fn(store),
    (err) =>
      err instanceof ApprovalError
        ? err.code === 'not_found'
          ? ExitCode.notFound
          : ExitCode.approvalRefused
        : null,
  );
}

export function rowJson(r: ApprovalRow): Record<string, unknown> {
  return {
    id: r.id,
    status: r.status,
    server: r.server,
    tool: r.tool,
    requester: r.requester,
    approval: r.twoPerson ? 'two_person' : 'user',
    arguments: r.argumentsMasked,
    rule: r.rule,
    policy_revision: r.policyRevision,
    created_at: r.createdAt,
    expires_at: r.expiresAt,
    approver: r.approver,
    decided_at: r.decidedAt,
    reason: r.reason,
    used_at: r.usedAt,
  };
}

export function runApprovalsList(
  global: GlobalOptions,
  opts: { all?: boolean; json?: boolean },
  io: CliIo,
): Promise<ExitCodeValue> {
  return withQueue(global, io, async (store) => {
    const rows = await store.approvals().list({ all: Boolean(opts.all) });
    if (opts.json) io.stdout(`${JSON.stringify(rows.map(rowJson), null, 2)}\n`);
    else if (rows.length === 0) io.stdout(opts.all ? 'no approvals\n' : 'no pending approvals\n');
    else {
      const table = [
        ['ID', 'STATUS', 'SERVER/TOOL', 'REQUESTER', 'NEEDS', 'EXPIRES'],
        ...rows.map((r) => [
          r.id,
          r.status,
          `${r.server}/${r.tool}`,
          r.requester ?? '-',
          r.twoPerson ? 'second person' : 'approval',
          r.expiresAt,
        ]),
      ];
      const w =
        table[0]?.map((_, i) => Math.max(...table.map((row) => (row[i] ?? '').length))) ?? [];
      io.stdout(
        `${table
          .map((row) =>
            row
              .map((c, i) => c.padEnd(w[i] ?? 0))
              .join('  ')
              .trimEnd(),
          )
          .join('\n')}\n`,
      );
    }
    return ExitCode.ok;
  });
}

export function runApprovalsShow(
  global: GlobalOptions,
  id: string,
  opts: { json?: boolean },
  io: CliIo,
): Promise<ExitCodeValue> {
  return withQueue(global, io, async (store) => {
    const row = await store.approvals().get(id);
    if (!row)
      throw new ApprovalError(
        `no approval with id ${id} (see \`gatehouse approvals list --all\`)`,
        'not_found',
      );
    const json = rowJson(row);
    if (opts.json) io.stdout(`${JSON.stringify(json, null, 2)}\n`);
    else
      io.stdout(
        `${Object.entries(json)
          .map(([k, v]) => `${k.padEnd(16)}${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join('\n')}\n`,
      );
    return ExitCode.ok;
  });
}

/** `approve ID` / `deny ID --reason`: decides as this OS user, and records the decision. */
export function runApprovalsDecide(
  global: GlobalOptions,
  id: string,
  decision: 'approved' | 'denied',
  opts: { reason?: string; json?: boolean },
  io: CliIo,
): Promise<ExitCodeValue> {
  if (decision === 'denied' && !opts.reason) {
    io.stderr('error: deny needs --reason "…" (the caller is told it)\n');
    return Promise.resolve(ExitCode.usage);
  }
  return withQueue(global, io, async (store) => {
    const approver = approverIdentity();
    const row = await store.approvals().decide(id, decision, approver, opts.reason ?? null);
    const keys = loadOrCreateAuditKeys(defaultGatehouseHome(io.env));
    const writer = new AuditWriter(store, { signingKey: keys.signing, checkpointEverySeconds: 0 });
    await writer.record(decisionEvidence(row, decision, approver, 'cli', row.reason));
    await writer.checkpoint().catch(() => undefined);
    if (opts.json) io.stdout(`${JSON.stringify(rowJson(row), null, 2)}\n`);
    else
      io.stdout(
        `${decision === 'approved' ? 'approved' : 'denied'} ${row.id}: ${row.server}/${row.tool} requested by ${row.requester ?? 'an unknown caller'} (by ${approver}${row.reason ? `: ${row.reason}` : ''})\n${decision === 'approved' ? `  valid once, for exactly the same call, until ${row.expiresAt}\n` : ''}`,
      );
    return ExitCode.ok;
  });
}

/** `approvals serve`: the approvals HTTP API until the process is stopped. */
export async function runApprovalsServe(
  global: GlobalOptions,
  opts: { http?: string; approverTokensEnv?: string },
  io: CliIo,
): Promise<ExitCodeValue> {
  const listen = parseHttpListen(opts.http ?? '');
  if (!listen) {
    io.stderr(
      `error: --http ${opts.http ?? '(missing)'}: expected HOST:PORT, e.g. 127.0.0.1:8787\n`,
    );
    return ExitCode.usage;
  }
  const raw = opts.approverTokensEnv ? io.env[opts.approverTokensEnv] : undefined;
  const approvers = raw ? parseApproverTokens(raw) : null;
  if (!approvers) {
    io.stderr(
      `error: --approver-tokens-env ${opts.approverTokensEnv ?? '(missing)'}: set it to a variable holding NAME:TOKEN[,NAME:TOKEN…] (tokens of 16+ characters); each token identifies one approver\n`,
    );
    return ExitCode.usage;
  }
  const home = defaultGatehouseHome(io.env);
  let store: AuditStore;
  try {
    store = await openAuditStore(storeSpec(global, io), home, { mustExist: true });
  } catch (err) {
    io.stderr(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return ExitCode.auditUnavailable;
  }
  const keys = loadOrCreateAuditKeys(home);
  const writer = new AuditWriter(store, { signingKey: keys.signing });
  try {
    const api = await startApprovalApi({
      ...listen,
      approvers,
      queue: store.approvals(),
      rowJson,
      evidence: async (event) => {
        await writer.record(event);
      },
    });
    onShutdown(async () => {
      await api.close();
      await writer.close();
    });
    io.stderr(
      `${JSON.stringify({ event: 'listening', url: api.url, approvers: approvers.map((a) => a.name) })}\n`,
    );
    return await new Promise<never>(() => undefined);
  } catch (err) {
    io.stderr(
      `error: cannot serve the approvals API on ${opts.http}: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    await writer.close();
    return ExitCode.usage;
  }
}
