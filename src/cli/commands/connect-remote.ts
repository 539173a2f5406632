import { unlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { defaultGatehouseHome } from '../../config/load-config.js';
import { parseTomlText } from '../../connect/codex-config.js';
import { readSnapshot, sha256, writeIfUnchanged } from '../../connect/config-files.js';
import type { ConnectRecord } from '../../connect/connect-state.js';
import { saveConnectState } from '../../connect/connect-state.js';
import { JSON_CLIENTS, parseJsonText } from '../../connect/json-config.js';
import type { RemotePlan } from '../../connect/remote.js';
import {
  checkRemoteUrl,
  checkTokenEnv,
  codexRemoteEntry,
  jsonRemoteEntry,
  planCodexRemote,
  planJsonRemote,
  verifyRemoteEdit,
} from '../../connect/remote.js';
import { ExitCode } from '../exit-codes.js';
import type { ExitCodeValue } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import type { GlobalOptions } from '../world.js';
import type { ConnectClient, ConnectOptions, DisconnectOptions } from './connect.js';
import { reportSyntax, reportWriteError, resolveFile, showDiff } from './connect.js';

/** The entry's name when none is given: one entry stands for the whole team gateway. */
export const DEFAULT_REMOTE_NAME = 'gatehouse';

function loginHint(client: ConnectClient, name: string): string {
  switch (client) {
    case 'codex':
      return `no --token-env: if the gateway asks for a login, run \`codex mcp login ${name}\` (OAuth)`;
    case 'claude-code':
      return 'no --token-env: if the gateway asks for a login, use /mcp in Claude Code (OAuth)';
    default:
      return `no --token-env: if the gateway asks for a login, ${client === 'cursor' ? 'Cursor' : 'VS Code'} offers it when it starts the server (OAuth)`;
  }
}

/**
 * `gatehouse connect CLIENT --remote URL [NAME]`: one entry (default `gatehouse`) pointing at the
 * team gateway, with the same diff, dry run, backup, concurrent-edit check, idempotence and
 * `disconnect` as the local mode. The client's other entries are left as they are (`doctor`
 * lists the ones that still bypass Gatehouse).
 */
export async function runConnectRemote(
  globals: GlobalOptions,
  id: ConnectClient,
  scope: string,
  names: string[],
  opts: ConnectOptions,
  io: CliIo,
): Promise<ExitCodeValue> {
  if (names.length > 1) {
    io.stderr(
      `gatehouse: with --remote give at most one NAME, the name of the team gateway's entry (default ${DEFAULT_REMOTE_NAME})\n`,
    );
    return ExitCode.usage;
  }
  const name = names[0] ?? DEFAULT_REMOTE_NAME;
  const url = checkRemoteUrl(opts.remote ?? '');
  const badToken = checkTokenEnv(opts.tokenEnv);
  if (!url.ok || badToken) {
    io.stderr(url.ok ? `gatehouse: ${badToken}\n` : `gatehouse: ${url.message}\n  ${url.hint}\n`);
    return ExitCode.usage;
  }
  const file = resolveFile(globals, id, scope, io);
  if (!file) return ExitCode.usage;
  const now = new Date();
  const home = resolve(io.cwd, defaultGatehouseHome(io.env));
  const snap = readSnapshot(file);
  let plan: RemotePlan;
  let check: (text: string) => boolean;
  if (id === 'codex') {
    const parsed = parseTomlText(snap.text, file);
    if (!parsed.ok) {
      reportSyntax(parsed.error, io);
      return ExitCode.configInvalid;
    }
    plan = planCodexRemote(parsed.doc, file, name, url.url, opts.tokenEnv);
    const wanted = codexRemoteEntry(url.url, opts.tokenEnv);
    check = (text) => {
      const after = parseTomlText(text, file);
      return (
        after.ok && verifyRemoteEdit(parsed.doc.value, after.doc.value, 'mcp_servers', name, wanted)
      );
    };
  } else {
    const spec = JSON_CLIENTS[id];
    const parsed = parseJsonText(snap.text, file);
    if (!parsed.ok) {
      reportSyntax(parsed.error, io);
      return ExitCode.configInvalid;
    }
    plan = planJsonRemote(spec, parsed.doc, file, name, url.url, opts.tokenEnv);
    const wanted = jsonRemoteEntry(spec, url.url, opts.tokenEnv);
    check = (text) => {
      const after = parseJsonText(text, file);
      return (
        after.ok &&
        verifyRemoteEdit(parsed.doc.value, after.doc.value, spec.serversKey, name, wanted)
      );
    };
  }
  if (!plan.ok) {
    io.stderr(`gatehouse: ${plan.message}\n  ${plan.hint}\n  nothing was changed\n`);
    return ExitCode.connectRefused;
  }
  const changed = plan.action === 'connect';
  if (changed && !check(plan.text)) {
    io.stderr(
      `gatehouse: ${file} defines its servers in a form an entry cannot be added to exactly (an inline table or dotted keys)\n` +
        `  nothing was changed; rewrite them as [mcp_servers.NAME] tables, or add the entry by hand\n`,
    );
    return ExitCode.connectRefused;
  }
  const diff = changed ? showDiff(snap, plan.text) : '';
  const result: Record<string, unknown> = {
    client: id,
    scope,
    file,
    remote: url.url,
    token_env: opts.tokenEnv ?? null,
    dry_run: Boolean(opts.dryRun),
    changed: changed && !opts.dryRun,
    servers: [{ name, action: plan.action }],
    diff,
    backup: null,
  };
  const done = (note: string | null): ExitCodeValue => {
    if (opts.json) io.stdout(JSON.stringify(result, null, 2) + '\n');
    else
      io.stdout(
        (plan.action === 'connect'
          ? `${name}: points at the team gateway ${url.url}\n`
          : `${name}: already points at ${url.url} (nothing to do)\n`) +
          (opts.tokenEnv
            ? `the token is read from $${opts.tokenEnv} when ${id} starts; it is not in the file\n`
            : `${loginHint(id, name)}\n`) +
          (note ? `${note}\n` : ''),
      );
    return ExitCode.ok;
  };
  if (!opts.json && diff) io.stdout(diff);
  if (!changed) return done(null);
  if (opts.dryRun) return done('dry run: nothing was written');
  if (io.confirm && !opts.yes && !opts.json) {
    if (!(await io.confirm(`write this change to ${file}?`))) {
      io.stderr('gatehouse: nothing was changed\n');
      return ExitCode.ok;
    }
  }
  let backup: string | null;
  try {
    backup = writeIfUnchanged(snap, plan.text, { backup: true, now });
  } catch (err) {
    return reportWriteError(err, io);
  }
  saveConnectState(home, (records) => [
    ...records,
    {
      client: id,
      file,
      backup,
      written_sha256: sha256(plan.text),
      servers: [name],
      gatehouse_config: resolve(home, 'config.toml'),
      at: now.toISOString(),
      remote: url.url,
      ...(snap.exists ? {} : { created: true }),
    },
  ]);
  result.backup = backup;
  return done(
    (backup ? `backup: ${backup}\n` : `created ${file}\n`) +
      `undo: gatehouse disconnect ${id}${scope === 'project' ? ' --scope project' : ''}`,
  );
}

/** `disconnect` of a connect that created the client file: remove it, if unchanged since. */
export function removeCreatedFile(
  home: string,
  record: ConnectRecord,
  opts: DisconnectOptions,
  io: CliIo,
): ExitCodeValue {
  const current = readSnapshot(record.file);
  if (current.exists && current.sha256 !== record.written_sha256 && !opts.force) {
    io.stderr(
      `gatehouse: ${record.file} was edited after connect (${record.at}), which created it; removing it would drop those edits\n` +
        `  nothing was changed; --force removes it anyway\n`,
    );
    return ExitCode.connectRefused;
  }
  if (opts.json)
    io.stdout(
      JSON.stringify(
        {
          client: record.client,
          file: record.file,
          removed: current.exists && !opts.dryRun,
          dry_run: Boolean(opts.dryRun),
          servers: record.servers,
        },
        null,
        2,
      ) + '\n',
    );
  else
    io.stdout(
      opts.dryRun
        ? `dry run: ${record.file} (created by connect) would be removed\n`
        : `${record.file} removed (connect created it)\n`,
    );
  if (opts.dryRun) return ExitCode.ok;
  if (current.exists) unlinkSync(record.file);
  saveConnectState(home, (records) =>
    records.filter(
      (r) => !(r.client === record.client && r.file === record.file && r.at === record.at),
    ),
  );
  return ExitCode.ok;
}
