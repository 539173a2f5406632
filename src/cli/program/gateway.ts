import type { Command } from 'commander';
import { runRun } from '../commands/run.js';
import { runServe } from '../commands/serve.js';
import type { HttpOptions } from '../commands/run.js';
import { withHttpOptions } from './wiring.js';
import type { CommandWiring } from './wiring.js';

/**
 * `run` and `serve`: the governed gateway over stdio or HTTP.
 * Declarations only (names, options, help texts): the work is in ../commands/.
 */
export function addGatewayCommands(
  program: Command,
  { io, setExit, globals, wire, streams }: CommandWiring,
): void {
  wire(
    withHttpOptions(program.command('run'))
      .description(
        'serve ONE configured server over stdio, governed, tools under their original names (how Codex uses Gatehouse)',
      )
      .argument('<name>', "server name in Gatehouse's configuration")
      .action(async (name: string, opts: HttpOptions, cmd: Command) =>
        setExit(await runRun(globals(cmd), name, io, streams, opts)),
      ),
  );
  wire(
    withHttpOptions(program.command('serve'))
      .description(
        'serve EVERY allowed server over stdio behind one endpoint, tools named server__tool',
      )
      .action(async (opts: HttpOptions, cmd: Command) =>
        setExit(await runServe(globals(cmd), io, streams, opts)),
      ),
  );
}
