import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { renderDiagnostic } from '../diagnostics/diagnostic.js';
import type { CliIo } from './io.js';
import { ExitCode } from './exit-codes.js';
import { describeSource } from '../requirements/model.js';
import type { ExitCodeValue } from './exit-codes.js';
import type { GlobalOptions, World } from './world.js';
import { loadWorld } from './world.js';
import type { ServerDecision } from '../requirements/apply-requirements.js';

/** Writes diagnostics to stderr (never stdout: that is for data and --json). */
export function printDiagnostics(io: CliIo, diagnostics: readonly Diagnostic[]): void {
  for (const d of diagnostics) io.stderr(`${renderDiagnostic(d)}\n`);
}

/** Config errors stop a command (as Codex does): nothing can be listed from a broken file. */
export function configFailure(io: CliIo, world: World): ExitCodeValue | null {
  const errors = world.config.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length === 0) return null;
  printDiagnostics(io, world.config.diagnostics);
  io.stderr(`gatehouse: configuration has ${errors.length} error(s); nothing was changed\n`);
  return ExitCode.configInvalid;
}

/** Prints warnings and requirement errors; the exit code a listing command should end with. */
export function reportLoadProblems(io: CliIo, world: World): ExitCodeValue {
  printDiagnostics(io, world.config.diagnostics);
  printDiagnostics(io, world.requirements.diagnostics);
  for (const layer of world.requirements.layers) {
    if (layer.status === 'skipped' && layer.note?.includes('EXISTS')) {
      io.stderr(`note: ${describeSource(layer.source)}: ${layer.note}\n`);
    }
  }
  if (world.codex) printDiagnostics(io, world.codex.requirements.diagnostics);
  if (world.requirements.invalid) {
    io.stderr(
      'gatehouse: requirements are invalid: every server is disabled until they are fixed (fail closed)\n',
    );
    return ExitCode.requirementsInvalid;
  }
  return ExitCode.ok;
}

/** The decision for one server, or a Codex-worded "not found" on stderr (exit 6). */
export function findServer(io: CliIo, world: World, name: string): ServerDecision | null {
  const decision = world.decisions.find((d) => d.server.name === name);
  if (decision) return decision;
  io.stderr(`Error: No MCP server named '${name}' found.\n`);
  const known = world.decisions.map((d) => d.server.name);
  if (known.length > 0) io.stderr(`  hint: configured servers: ${known.join(', ')}\n`);
  return null;
}

export type OneServer =
  | { exit: ExitCodeValue }
  | {
      world: World;
      decision: ServerDecision;
      codex: ServerDecision | undefined;
      code: ExitCodeValue;
    };

/** Loads everything and picks one server: the common start of `mcp get` and `requirements explain`. */
export function loadOneServer(global: GlobalOptions, name: string, io: CliIo): OneServer {
  const world = loadWorld(global, io);
  const failed = configFailure(io, world);
  if (failed !== null) return { exit: failed };
  const code = reportLoadProblems(io, world);
  const decision = findServer(io, world, name);
  if (!decision) return { exit: ExitCode.notFound };
  const codex = world.codex?.decisions.find((d) => d.server.name === name);
  return { world, decision, codex, code };
}
