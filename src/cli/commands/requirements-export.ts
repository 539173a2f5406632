import { join, resolve } from 'node:path';
import { readSnapshot, writeIfUnchanged } from '../../connect/config-files.js';
import {
  claudeManagedMcpJson,
  claudeManagedSettingsJson,
  codexRequirementsToml,
} from '../../connect/requirements-export.js';
import type { DirectDefinition } from '../../connect/requirements-export.js';
import { ExitCode } from '../exit-codes.js';
import type { ExitCodeValue } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { configFailure } from '../report.js';
import type { GlobalOptions } from '../world.js';
import { loadWorld } from '../world.js';
import { defaultGatehouseCommand, reportWriteError } from './connect.js';

export interface ExportOptions {
  for?: string;
  /** With --for claude-code: the managed-settings.json allow/deny lists, not managed-mcp.json. */
  managedSettings?: boolean;
  gatehouseCommand?: string;
  output?: string;
}

/**
 * `gatehouse requirements export --for codex|claude-code`: the admin file that pins every server
 * in Gatehouse's config to `gatehouse run NAME` on the client side.
 */
export function runRequirementsExport(
  globals: GlobalOptions,
  opts: ExportOptions,
  io: CliIo,
): ExitCodeValue {
  if (opts.for !== 'codex' && opts.for !== 'claude-code') {
    io.stderr(`gatehouse: --for must be codex or claude-code\n`);
    return ExitCode.usage;
  }
  const world = loadWorld(globals, io);
  const failed = configFailure(io, world);
  if (failed !== null) return failed;
  const names = [
    ...new Set(world.config.servers.filter((s) => s.pluginId === null).map((s) => s.name)),
  ].sort();
  if (!names.length) {
    io.stderr(
      `gatehouse: no servers in Gatehouse's configuration (${join(world.gatehouseHome, 'config.toml')}) to pin\n` +
        `  an empty pin list would disable every server; connect a client first (gatehouse connect codex)\n`,
    );
    return ExitCode.notFound;
  }
  if (opts.managedSettings && opts.for !== 'claude-code') {
    io.stderr('gatehouse: --managed-settings goes with --for claude-code\n');
    return ExitCode.usage;
  }
  const command = opts.gatehouseCommand ?? defaultGatehouseCommand();
  const direct: DirectDefinition[] = world.config.servers
    .filter((s) => s.pluginId === null)
    .map((s) =>
      s.transport.type === 'stdio'
        ? { name: s.name, command: s.transport.command, args: s.transport.args }
        : { name: s.name, url: s.transport.url },
    );
  const text =
    opts.for === 'codex'
      ? codexRequirementsToml(names, command, new Date())
      : opts.managedSettings
        ? claudeManagedSettingsJson(names, command, direct)
        : claudeManagedMcpJson(names, command);
  if (opts.output) {
    const file = resolve(io.cwd, opts.output);
    try {
      writeIfUnchanged(readSnapshot(file), text, { backup: true, now: new Date() });
    } catch (err) {
      return reportWriteError(err, io);
    }
    io.stderr(`wrote ${file} (${names.length} server(s): ${names.join(', ')})\n`);
  } else io.stdout(text);
  return ExitCode.ok;
}
