import { resolve } from 'node:path';
import { ExitCode } from '../exit-codes.js';
import type { ExitCodeValue } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import type { GlobalOptions } from '../world.js';
import { requirementsLocation } from '../world.js';
import { loadRequirements } from '../../requirements/load-requirements.js';
import type { ServiceTokenEntry } from '../../identity/service-tokens.js';
import {
  hashServiceToken,
  mintServiceToken,
  readServiceTokens,
  serviceTokenFieldProblem,
  ServiceTokenStoreError,
  writeServiceTokens,
} from '../../identity/service-tokens.js';
import { renderTable } from '../format/table.js';

/**
 * `gatehouse tokens create|list|revoke`: named service tokens for bots and CI. The store is the
 * admin's `[gatehouse_identity] service_tokens` file (or `--store FILE`); it holds hashes only,
 * so a token is printed once, at creation, and never again.
 */
export interface TokensOptions {
  store?: string;
  json?: boolean;
}

/** The store file: `--store`, else the admin's `[gatehouse_identity] service_tokens`; null: none. */
function storePath(global: GlobalOptions, opts: TokensOptions, io: CliIo): string | null {
  if (opts.store) return resolve(io.cwd, opts.store);
  const loaded = loadRequirements({
    requirementFiles: global.requirements.map((f) => resolve(io.cwd, f)),
    env: io.env,
    ...requirementsLocation(io),
  });
  return loaded.requirements.identity.serviceTokens;
}

function withStore(
  global: GlobalOptions,
  opts: TokensOptions,
  io: CliIo,
  fn: (path: string, entries: ServiceTokenEntry[]) => ExitCodeValue,
): ExitCodeValue {
  const path = storePath(global, opts, io);
  if (!path) {
    io.stderr(
      'error: no service token store: set service_tokens = "/ABSOLUTE/PATH" in [gatehouse_identity] (requirements), or pass --store FILE\n',
    );
    return ExitCode.usage;
  }
  try {
    return fn(path, readServiceTokens(path));
  } catch (err) {
    if (err instanceof ServiceTokenStoreError || (err as NodeJS.ErrnoException).code) {
      io.stderr(`error: ${(err as Error).message}\n`);
      return ExitCode.configInvalid;
    }
    throw err;
  }
}

export function runTokensCreate(
  global: GlobalOptions,
  name: string,
  opts: TokensOptions & { subject?: string; group?: string[] },
  io: CliIo,
): ExitCodeValue {
  const subject = opts.subject ?? `bot:${name}`;
  const groups = opts.group ?? [];
  const problems = [
    serviceTokenFieldProblem('name', name),
    serviceTokenFieldProblem('subject', subject),
    ...groups.map((g) => serviceTokenFieldProblem('group', g)),
  ].filter((p): p is string => p !== null);
  if (problems.length > 0) {
    io.stderr(`error: ${problems.join('; ')}\n`);
    return ExitCode.usage;
  }
  return withStore(global, opts, io, (path, entries) => {
    if (entries.some((e) => e.name === name)) {
      io.stderr(
        `error: a service token named '${name}' already exists in ${path} (revoke it, or choose another name)\n`,
      );
      return ExitCode.usage;
    }
    const token = mintServiceToken();
    const entry: ServiceTokenEntry = {
      name,
      subject,
      groups,
      sha256: hashServiceToken(token),
      created_at: new Date().toISOString(),
      revoked_at: null,
    };
    writeServiceTokens(path, [...entries, entry]);
    if (opts.json) io.stdout(`${JSON.stringify({ name, subject, groups, store: path, token })}\n`);
    else
      io.stdout(
        `service token '${name}' created (subject ${subject}${groups.length ? `, groups ${groups.join(', ')}` : ''}) in ${path}\n` +
          `token (shown once, never again; only its hash is stored):\n${token}\n`,
      );
    return ExitCode.ok;
  });
}

export function runTokensList(
  global: GlobalOptions,
  opts: TokensOptions,
  io: CliIo,
): ExitCodeValue {
  return withStore(global, opts, io, (_path, entries) => {
    const rows = entries.map((e) => ({
      name: e.name,
      subject: e.subject,
      groups: e.groups,
      created_at: e.created_at,
      revoked_at: e.revoked_at,
    }));
    if (opts.json) io.stdout(`${JSON.stringify({ tokens: rows })}\n`);
    else if (rows.length === 0) io.stdout('no service tokens\n');
    else
      io.stdout(
        renderTable(
          ['NAME', 'SUBJECT', 'GROUPS', 'CREATED', 'STATE'],
          rows.map((r) => [
            r.name,
            r.subject,
            r.groups.join(',') || '-',
            r.created_at,
            r.revoked_at ? `revoked ${r.revoked_at}` : 'active',
          ]),
        ),
      );
    return ExitCode.ok;
  });
}

export function runTokensRevoke(
  global: GlobalOptions,
  name: string,
  opts: TokensOptions,
  io: CliIo,
): ExitCodeValue {
  return withStore(global, opts, io, (path, entries) => {
    const entry = entries.find((e) => e.name === name);
    if (!entry) {
      io.stderr(
        `error: no service token named '${name}' in ${path} (see \`gatehouse tokens list\`)\n`,
      );
      return ExitCode.notFound;
    }
    if (entry.revoked_at === null) {
      entry.revoked_at = new Date().toISOString();
      writeServiceTokens(path, entries);
    }
    if (opts.json) io.stdout(`${JSON.stringify({ name, revoked_at: entry.revoked_at })}\n`);
    else
      io.stdout(
        `service token '${name}' revoked (${entry.revoked_at}); the next request with it is refused\n`,
      );
    return ExitCode.ok;
  });
}
