import { GrantVault } from '../../credentials/grant-vault.js';
import type { GrantSummary } from '../../credentials/grant-vault.js';
import { localPrincipal } from '../../credentials/server-model.js';
import { credentialModelOf } from '../../credentials/server-model.js';
import { ExitCode } from '../exit-codes.js';
import type { ExitCodeValue } from '../exit-codes.js';
import { renderTable } from '../format/table.js';
import type { CliIo } from '../io.js';
import { loadOneServer } from '../report.js';
import type { GlobalOptions } from '../world.js';
import { loadWorld } from '../world.js';

export interface LoginOptions {
  /** Store the grant for this principal (a team gateway's caller, `user:SUB`); default: you. */
  for?: string;
  timeout?: string;
  json?: boolean;
}

const PRINCIPAL = /^(user|service|os):\S+$/;

function principalFrom(opts: { for?: string }, io: CliIo): string | null {
  const p = opts.for ?? localPrincipal();
  if (!p || !PRINCIPAL.test(p)) {
    io.stderr(
      `error: --for ${opts.for ?? ''}: expected a principal such as user:alice or os:alice\n`,
    );
    return null;
  }
  return p;
}

const expiry = (g: { expires_at: number | null }) =>
  g.expires_at === null ? '-' : new Date(g.expires_at * 1000).toISOString();

/** Why a vault or login failed, as one line with exit 23 (never a token). */
function credentialFailure(io: CliIo, err: unknown): ExitCodeValue {
  io.stderr(`error: ${err instanceof Error ? err.message : String(err)}\n`);
  return ExitCode.credentialUnavailable;
}

/** `gatehouse login NAME`: the caller's own OAuth grant for a `user`-model upstream. */
export async function runLogin(
  global: GlobalOptions,
  name: string,
  opts: LoginOptions,
  io: CliIo,
): Promise<ExitCodeValue> {
  const loaded = loadOneServer(global, name, io);
  if ('exit' in loaded) return loaded.exit;
  const server = loaded.decision.server;
  const t = server.transport;
  const { model } = credentialModelOf(server);
  if (t.type !== 'streamable_http' || model !== 'user') {
    io.stderr(
      `error: ${name} does not use each user's own OAuth grant (its credential model is "${model}"); login applies to servers with [mcp_servers.${name}.gatehouse_credentials] model = "user"\n`,
    );
    return ExitCode.usage;
  }
  const principal = principalFrom(opts, io);
  if (!principal) return ExitCode.usage;
  const timeoutSec = opts.timeout === undefined ? 300 : Number(opts.timeout);
  if (!Number.isFinite(timeoutSec) || timeoutSec <= 0) {
    io.stderr(`error: --timeout ${opts.timeout}: expected a positive number of seconds\n`);
    return ExitCode.usage;
  }
  const vault = new GrantVault(loaded.world.gatehouseHome);
  const { loginToUpstream } = await import('../../credentials/login.js');
  try {
    const result = await loginToUpstream(server, t, {
      vault,
      principal,
      timeoutMs: timeoutSec * 1000,
      showUrl: (url) =>
        io.stderr(
          `Open this URL in a browser to authorize Gatehouse for ${name} (as ${principal}):\n  ${url}\nWaiting for the redirect to 127.0.0.1…\n`,
        ),
    });
    if (opts.json)
      io.stdout(
        `${JSON.stringify({ server: name, principal, issuer: result.issuer, resource: result.resource, expires_at: result.expiresAt, refreshable: result.refreshable }, null, 2)}\n`,
      );
    else
      io.stdout(
        `logged in: ${principal} → ${name} at ${result.issuer}${result.expiresAt ? ` (token expires ${new Date(result.expiresAt * 1000).toISOString()}${result.refreshable ? ', refreshed automatically' : ''})` : ''}\n`,
      );
    return loaded.code;
  } catch (err) {
    return credentialFailure(io, err);
  }
}

/** `gatehouse credentials list`: every stored grant, never a token. */
export function runCredentialsList(
  global: GlobalOptions,
  opts: { json?: boolean },
  io: CliIo,
): ExitCodeValue {
  const world = loadWorld(global, io);
  let grants: GrantSummary[];
  try {
    grants = new GrantVault(world.gatehouseHome).list();
  } catch (err) {
    return credentialFailure(io, err);
  }
  if (opts.json) {
    io.stdout(`${JSON.stringify(grants, null, 2)}\n`);
    return ExitCode.ok;
  }
  if (grants.length === 0) {
    io.stdout('No upstream grants stored. `gatehouse login NAME` adds one.\n');
    return ExitCode.ok;
  }
  io.stdout(
    renderTable(
      ['Server', 'Principal', 'Issuer', 'Expires', 'Refreshable', 'Updated'],
      grants.map((g) => [
        g.server,
        g.principal,
        g.issuer,
        expiry(g),
        g.has_refresh_token ? 'yes' : 'no',
        g.updated_at,
      ]),
    ),
  );
  return ExitCode.ok;
}

/**
 * `gatehouse credentials revoke NAME`: removes the grant (yours, or `--for`'s, or `--all`) and
 * asks the authorization server to revoke its refresh token too (RFC 7009) when it can.
 */
export async function runCredentialsRevoke(
  global: GlobalOptions,
  name: string,
  opts: { for?: string; all?: boolean; json?: boolean },
  io: CliIo,
): Promise<ExitCodeValue> {
  const world = loadWorld(global, io);
  const principal = opts.all ? null : principalFrom(opts, io);
  if (!opts.all && !principal) return ExitCode.usage;
  const vault = new GrantVault(world.gatehouseHome);
  const match = (g: GrantSummary) => g.server === name && (opts.all || g.principal === principal);
  try {
    const targets = vault.list().filter(match);
    const { revokeAtServer } = await import('../../credentials/revoke.js');
    const atServer = await Promise.all(targets.map((g) => revokeAtServer(vault, g)));
    const removed = vault.remove(match);
    if (opts.json)
      io.stdout(
        `${JSON.stringify(
          removed.map((g, i) => ({
            server: g.server,
            principal: g.principal,
            issuer: g.issuer,
            revoked_at_server: atServer[i] ?? null,
          })),
          null,
          2,
        )}\n`,
      );
    else if (removed.length === 0)
      io.stdout(`no grant for ${name}${opts.all ? '' : ` of ${principal}`}\n`);
    else
      for (const [i, g] of removed.entries())
        io.stdout(
          `revoked: ${g.principal} → ${g.server} (${g.issuer})${atServer[i] ? `; ${atServer[i]}` : ''}\n`,
        );
    return removed.length === 0 ? ExitCode.notFound : ExitCode.ok;
  } catch (err) {
    return credentialFailure(io, err);
  }
}
