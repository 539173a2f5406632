import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { ApprovalError, decisionEvidence } from '../../approval/queue.js';
import type { ApprovalRow } from '../../approval/queue.js';
import type { AuditEventBody } from '../../audit/event.js';
import {
  ApproverKeyError,
  defaultApproverKeyFile,
  readApproverKey,
  writeApproverKey,
} from '../../approval/approver-key-file.js';
import type { ApproverKey, GrantSubject, SignedGrant } from '../../approval/signed-grant.js';
import {
  grantStatementFor,
  isSamePerson,
  osPrincipal,
  publicKeyText,
  signStatement,
} from '../../approval/signed-grant.js';
import { loadOrCreateAuditKeys } from '../../audit/keys.js';
import { openAuditStore } from '../../audit/open-store.js';
import type { AuditStore } from '../../audit/store.js';
import { AuditWriter } from '../../audit/writer.js';
import { defaultGatehouseHome } from '../../config/load-config.js';
import { Masker } from '../../masking/engine.js';
import { maskForAudit } from '../../masking/mask-mcp.js';
import { DEFAULT_MASKING_POLICY } from '../../masking/policy.js';
import { ExitCode } from '../exit-codes.js';
import type { ExitCodeValue } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import type { GlobalOptions, World } from '../world.js';
import { loadWorld } from '../world.js';
import { storeSpec, withStore } from './audit.js';
import { parseHttpListen } from '../../config/listen-address.js';
import { onShutdown } from '../shutdown.js';
import { parseApproverTokens, startApprovalApi } from '../../approval/http-api.js';

/** Who is approving without a key: the OS user running this command, as a principal. */
export function approverIdentity(): string {
  try {
    return osPrincipal(userInfo().username);
  } catch {
    return `uid:${process.getuid?.() ?? 'unknown'}`;
  }
}

/** The requirements the approvals commands read (approver keys, masking); null if unloadable. */
function approvalsWorld(global: GlobalOptions, io: CliIo): World | null {
  try {
    return loadWorld(global, io);
  } catch {
    return null;
  }
}

/**
 * Masks what a person or an outside system sees of a queued approval with the masking the
 * audit applies (secrets, cards, SSNs, e-mails, IBANs, phones, admin fields) — also for rows
 * written by older versions or edited in the database.
 */
export function maskerForPeople(world: World | null): (value: unknown) => unknown {
  const masker = new Masker(world?.requirements.requirements.masking ?? DEFAULT_MASKING_POLICY);
  return (value) => maskForAudit(masker, value);
}

/** The listed approver keys, or why there are none usable. */
function listedApprovers(world: World | null): ApproverKey[] | string {
  if (!world) return 'the requirements could not be loaded';
  if (world.requirements.invalid)
    return 'the requirements are invalid (see `gatehouse requirements check`), so no approver key can be trusted';
  return world.requirements.requirements.approvals.approvers;
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

/** An approval as people and outside systems see it (arguments and reason masked). */
export function rowJson(
  r: ApprovalRow,
  mask: (value: unknown) => unknown = maskerForPeople(null),
): Record<string, unknown> {
  const grant = r.grant as SignedGrant | null;
  return {
    id: r.id,
    status: r.status,
    server: r.server,
    tool: r.tool,
    category: r.category,
    requester: r.requester,
    approval: r.twoPerson ? 'two_person' : 'user',
    level: r.level,
    arguments: mask(r.argumentsMasked),
    rule: r.rule,
    policy_revision: r.policyRevision,
    binding: r.binding,
    created_at: r.createdAt,
    expires_at: r.expiresAt,
    approver: r.approver,
    signed_by: grant?.key_fingerprint ?? null,
    decided_at: r.decidedAt,
    reason: r.reason === null ? null : mask(r.reason),
    used_at: r.usedAt,
  };
}

export function runApprovalsList(
  global: GlobalOptions,
  opts: { all?: boolean; json?: boolean },
  io: CliIo,
): Promise<ExitCodeValue> {
  const mask = maskerForPeople(approvalsWorld(global, io));
  return withQueue(global, io, async (store) => {
    const rows = await store.approvals().list({ all: Boolean(opts.all) });
    if (opts.json)
      io.stdout(
        `${JSON.stringify(
          rows.map((r) => rowJson(r, mask)),
          null,
          2,
        )}\n`,
      );
    else if (rows.length === 0) io.stdout(opts.all ? 'no approvals\n' : 'no pending approvals\n');
    else {
      const table = [
        ['ID', 'STATUS', 'SERVER/TOOL', 'REQUESTER', 'NEEDS', 'EXPIRES'],
        ...rows.map((r) => [
          r.id,
          r.status,
          `${r.server}/${r.tool}`,
          r.requester ?? '-',
          r.twoPerson ? 'second person' : r.level === 'prompt' ? 'approval' : 'a person',
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

function showText(json: Record<string, unknown>): string {
  return `${Object.entries(json)
    .map(([k, v]) => `${k.padEnd(16)}${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join('\n')}\n`;
}

export function runApprovalsShow(
  global: GlobalOptions,
  id: string,
  opts: { json?: boolean },
  io: CliIo,
): Promise<ExitCodeValue> {
  const mask = maskerForPeople(approvalsWorld(global, io));
  return withQueue(global, io, async (store) => {
    const row = await store.approvals().get(id);
    if (!row)
      throw new ApprovalError(
        `no approval with id ${id} (see \`gatehouse approvals list --all\`)`,
        'not_found',
      );
    const json = rowJson(row, mask);
    io.stdout(opts.json ? `${JSON.stringify(json, null, 2)}\n` : showText(json));
    return ExitCode.ok;
  });
}

/** A statement's subject from a row. */
function subjectOf(row: ApprovalRow): GrantSubject {
  return {
    id: row.id,
    binding: row.binding,
    server: row.server,
    tool: row.tool,
    level: row.level,
    requester: row.requester,
    policyRevision: row.policyRevision,
    expiresAt: row.expiresAt,
  };
}

/** What the approver is about to sign, in clear, before it is signed. */
function describeForSigning(subject: GrantSubject, args: unknown, approver: ApproverKey): string {
  return [
    `signing as ${approver.name} (key ${approver.fingerprint}):`,
    `  approval   ${subject.id}`,
    `  call       ${subject.server}/${subject.tool}`,
    `  level      ${subject.level}`,
    `  requester  ${subject.requester ?? 'unknown'}`,
    `  arguments  ${JSON.stringify(args)} (masked; the signature binds the exact arguments the requester sent)`,
    `  expires    ${subject.expiresAt}`,
    '',
  ].join('\n');
}

/** Loads the approver's key and finds it among the listed approvers, or says why not. */
function approverFromKey(
  keyFile: string,
  world: World | null,
): { approver: ApproverKey; privateKey: KeyObject } | { error: string } {
  const listed = listedApprovers(world);
  if (typeof listed === 'string') return { error: listed };
  let key;
  try {
    key = readApproverKey(keyFile);
  } catch (err) {
    return { error: err instanceof ApproverKeyError ? err.message : String(err) };
  }
  const approver = listed.find((a) => a.fingerprint === key.fingerprint);
  if (!approver)
    return {
      error: `the key in ${keyFile} (${key.fingerprint}) is not listed in [gatehouse_approvals] approvers; ask the admin to add the line \`gatehouse approvals keygen\` printed`,
    };
  return { approver, privateKey: key.privateKey };
}

/** `approve ID [--key FILE]` / `deny ID --reason`: decides, and records the decision. */
export function runApprovalsDecide(
  global: GlobalOptions,
  id: string,
  decision: 'approved' | 'denied',
  opts: { reason?: string; json?: boolean; key?: string },
  io: CliIo,
): Promise<ExitCodeValue> {
  if (decision === 'denied' && !opts.reason) {
    io.stderr('error: deny needs --reason "…" (the caller is told it)\n');
    return Promise.resolve(ExitCode.usage);
  }
  const world = approvalsWorld(global, io);
  const mask = maskerForPeople(world);
  return withQueue(global, io, async (store) => {
    const keys = loadOrCreateAuditKeys(defaultGatehouseHome(io.env));
    const writer = new AuditWriter(store, { signingKey: keys.signing, checkpointEverySeconds: 0 });
    const record = async (event: AuditEventBody) => {
      await writer.record(event);
      await writer.checkpoint().catch(() => undefined);
    };
    const queue = store.approvals();
    const row = await queue.get(id);
    if (!row)
      throw new ApprovalError(
        `no approval with id ${id} (see \`gatehouse approvals list --all\`)`,
        'not_found',
      );
    /** A refused approval: stated, and recorded in the audit trail. */
    const refuse = async (reason: string, code: ApprovalError['code']) => {
      await record({
        type: 'approval.rejected',
        approval_id: row.id,
        channel: 'cli',
        server: row.server,
        tool: row.tool,
        requester: row.requester,
        approver: approverIdentity(),
        binding_sha256: row.binding,
        policy_revision: row.policyRevision,
        level: row.level,
        reason,
      });
      throw new ApprovalError(`approval ${row.id} not approved: ${reason}`, code);
    };
    const listed = listedApprovers(world);
    const keysListed = typeof listed !== 'string' && listed.length > 0;
    let approver = approverIdentity();
    let grant: SignedGrant | null = null;
    if (decision === 'approved') {
      if (row.level === 'two_person' && row.requester === null)
        await refuse(
          'it needs a second person, but its requester is unknown, so nobody can be told apart from them',
          'unknown_requester',
        );
      if (opts.key) {
        const found = approverFromKey(resolve(io.cwd, opts.key), world);
        if ('error' in found) return refuse(found.error, 'signature_required');
        if (row.level === 'two_person' && isSamePerson(found.approver, row.requester))
          await refuse(
            `needs a second person: ${found.approver.name}'s key is listed for the requester (${row.requester ?? 'unknown'}), who cannot approve their own two_person call`,
            'same_person',
          );
        const subject = subjectOf(row);
        if (!opts.json)
          io.stdout(describeForSigning(subject, mask(row.argumentsMasked), found.approver));
        grant = signStatement(
          grantStatementFor(subject, found.approver, opts.reason ?? null, new Date().toISOString()),
          found.privateKey,
        );
        approver = found.approver.name;
      } else if (row.level === 'two_person' || keysListed) {
        await refuse(
          row.level === 'two_person'
            ? 'a two_person call needs a grant signed by a listed approver key that is not the requester’s: approve with --key FILE (see `gatehouse approvals keygen`)'
            : 'approver keys are listed in requirements, so every approval must be signed: approve with --key FILE',
          'signature_required',
        );
      }
    }
    const decided = await queue.decide(id, decision, approver, opts.reason ?? null, grant);
    await record(decisionEvidence(decided, decision, approver, 'cli', decided.reason, grant));
    await writer.close().catch(() => undefined);
    if (opts.json) io.stdout(`${JSON.stringify(rowJson(decided, mask), null, 2)}\n`);
    else
      io.stdout(
        `${decision === 'approved' ? 'approved' : 'denied'} ${decided.id}: ${decided.server}/${decided.tool} requested by ${decided.requester ?? 'an unknown caller'} (by ${approver}${grant ? `, signed with ${grant.key_fingerprint}` : ''}${decided.reason ? `: ${String(mask(decided.reason))}` : ''})\n${decision === 'approved' ? `  valid once, for exactly the same call, until ${decided.expiresAt}\n` : ''}`,
      );
    return ExitCode.ok;
  });
}

/** `approvals keygen`: a new approver key (private 0600 in a 0700 directory); prints the public line. */
export function runApprovalsKeygen(
  opts: { name?: string; out?: string; json?: boolean },
  io: CliIo,
): ExitCodeValue {
  let name = opts.name;
  if (name === undefined) {
    try {
      name = userInfo().username;
    } catch {
      io.stderr('error: this account has no user name; pass --name NAME\n');
      return ExitCode.usage;
    }
  }
  if (!/^[A-Za-z0-9._@-]{1,64}$/.test(name)) {
    io.stderr(`error: --name ${JSON.stringify(name)}: use 1–64 letters, digits, . _ @ -\n`);
    return ExitCode.usage;
  }
  const file = opts.out
    ? resolve(io.cwd, opts.out)
    : defaultApproverKeyFile(defaultGatehouseHome(io.env));
  let made;
  try {
    made = writeApproverKey(file);
  } catch (err) {
    io.stderr(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return ExitCode.usage;
  }
  const line = `{ name = "${name}", public_key = "${made.publicKey}" }`;
  if (opts.json)
    io.stdout(
      `${JSON.stringify({ name, key_file: file, public_key: made.publicKey, fingerprint: made.fingerprint, requirements_line: line }, null, 2)}\n`,
    );
  else
    io.stdout(
      `wrote the private key ${file} (mode 0600; keep it to yourself)\nfingerprint ${made.fingerprint}\nask the admin to list it in requirements.toml:\n\n[gatehouse_approvals]\napprovers = [\n  ${line},\n]\n`,
    );
  return ExitCode.ok;
}

/**
 * `approvals public-key --key FILE [--gateway --group G…]`: the line an admin pastes into
 * `[gatehouse_approvals] approvers` for an existing key — how the admin gets a team gateway's
 * public key (its private key stays with the gateway's replicas).
 */
export function runApprovalsPublicKey(
  opts: { key?: string; name?: string; gateway?: boolean; group?: string[]; json?: boolean },
  io: CliIo,
): ExitCodeValue {
  const file = opts.key
    ? resolve(io.cwd, opts.key)
    : defaultApproverKeyFile(defaultGatehouseHome(io.env));
  let key;
  try {
    key = readApproverKey(file);
  } catch (err) {
    io.stderr(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    return ExitCode.approvalRefused;
  }
  const name = opts.name ?? (opts.gateway ? 'team-gateway' : null);
  if (name === null || !/^[A-Za-z0-9._@-]{1,64}$/.test(name)) {
    io.stderr(
      `error: --name ${JSON.stringify(name ?? '(missing)')}: the approver name the admin lists (1–64 letters, digits, . _ @ -)\n`,
    );
    return ExitCode.usage;
  }
  const groups = opts.group ?? [];
  if (opts.gateway && groups.length === 0) {
    io.stderr(
      'error: --gateway needs --group GROUP (repeatable): who may approve through the gateway\n',
    );
    return ExitCode.usage;
  }
  const publicKey = publicKeyText(key.publicKey);
  const line = opts.gateway
    ? `{ name = "${name}", public_key = "${publicKey}", gateway = true, groups = ${JSON.stringify(groups)} }`
    : `{ name = "${name}", public_key = "${publicKey}" }`;
  if (opts.json)
    io.stdout(
      `${JSON.stringify({ name, key_file: file, public_key: publicKey, fingerprint: key.fingerprint, gateway: Boolean(opts.gateway), requirements_line: line }, null, 2)}\n`,
    );
  else
    io.stdout(
      `fingerprint ${key.fingerprint}\nlist it in the admin's requirements.toml:\n\n[gatehouse_approvals]\napprovers = [\n  ${line},\n]\n`,
    );
  return ExitCode.ok;
}

/**
 * `approvals sign --key FILE [--approval FILE|-]`: signs an approval as the HTTP API shows it
 * (`GET /approvals/ID`), printing the grant to POST to `/approvals/ID/approve` — for approvers
 * who reach the queue only through the API.
 */
export function runApprovalsSign(
  global: GlobalOptions,
  opts: { key?: string; approval?: string; reason?: string },
  io: CliIo,
  readInput: (file: string) => string = (file) => readFileSync(file === '-' ? 0 : file, 'utf8'),
): ExitCodeValue {
  if (!opts.key) {
    io.stderr('error: sign needs --key FILE (your approver key)\n');
    return ExitCode.usage;
  }
  let row: Record<string, unknown>;
  try {
    row = JSON.parse(readInput(opts.approval ?? '-')) as Record<string, unknown>;
  } catch (err) {
    io.stderr(`error: --approval: not the JSON of one approval (${(err as Error).message})\n`);
    return ExitCode.usage;
  }
  const str = (k: string) => (typeof row[k] === 'string' ? (row[k] as string) : null);
  const level = str('level');
  const fields = ['id', 'binding', 'server', 'tool', 'policy_revision', 'expires_at'];
  const missing = fields.filter((k) => str(k) === null);
  if (missing.length > 0 || !['prompt', 'always', 'two_person'].includes(level ?? '')) {
    io.stderr(
      `error: --approval: expected an approval as \`GET /approvals/ID\` returns it (missing or wrong: ${[...missing, ...(level ? [] : ['level'])].join(', ')})\n`,
    );
    return ExitCode.usage;
  }
  const world = approvalsWorld(global, io);
  const found = approverFromKey(resolve(io.cwd, opts.key), world);
  if ('error' in found) {
    io.stderr(`error: ${found.error}\n`);
    return ExitCode.approvalRefused;
  }
  const subject: GrantSubject = {
    id: str('id') as string,
    binding: str('binding') as string,
    server: str('server') as string,
    tool: str('tool') as string,
    level: level as GrantSubject['level'],
    requester: str('requester'),
    policyRevision: str('policy_revision') as string,
    expiresAt: str('expires_at') as string,
  };
  if (subject.level === 'two_person' && isSamePerson(found.approver, subject.requester)) {
    io.stderr(
      `error: needs a second person: ${found.approver.name}'s key is listed for the requester (${subject.requester ?? 'unknown'})\n`,
    );
    return ExitCode.approvalRefused;
  }
  io.stderr(describeForSigning(subject, maskerForPeople(world)(row.arguments), found.approver));
  const grant = signStatement(
    grantStatementFor(subject, found.approver, opts.reason ?? null, new Date().toISOString()),
    found.privateKey,
  );
  io.stdout(`${JSON.stringify({ grant, reason: opts.reason ?? null })}\n`);
  return ExitCode.ok;
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
  const tokens = raw ? parseApproverTokens(raw) : null;
  if (!tokens) {
    io.stderr(
      `error: --approver-tokens-env ${opts.approverTokensEnv ?? '(missing)'}: set it to a variable holding NAME:TOKEN[,NAME:TOKEN…] (tokens of 16+ characters); each token gives access to the API\n`,
    );
    return ExitCode.usage;
  }
  const world = approvalsWorld(global, io);
  const listed = listedApprovers(world);
  const approvers = typeof listed === 'string' ? [] : listed;
  const mask = maskerForPeople(world);
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
      approvers: tokens,
      approverKeys: approvers,
      queue: store.approvals(),
      rowJson: (row) => rowJson(row, mask),
      evidence: async (event) => {
        await writer.record(event);
      },
    });
    onShutdown(async () => {
      await api.close();
      await writer.close();
    });
    io.stderr(
      `${JSON.stringify({ event: 'listening', url: api.url, tokens: tokens.map((a) => a.name), approver_keys: approvers.map((a) => a.name) })}\n`,
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
