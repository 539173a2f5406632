import type { Command } from 'commander';
import { runConsole } from '../commands/console.js';
import type { ConsoleOptions } from '../commands/console.js';
import type { CommandWiring } from './wiring.js';

/**
 * `console`: the web console (approvals, servers, audit, schema drift, inventory).
 * Declarations only (names, options, help texts): the work is in ../commands/console.ts.
 */
export function addConsoleCommand(
  program: Command,
  { io, setExit, globals, wire }: CommandWiring,
): void {
  wire(
    program
      .command('console')
      .description(
        'serve the web console on loopback and print a one-time login link: approve calls, see servers, search and verify the audit, review schema drift',
      )
      .option('--host <address>', 'listen address (default 127.0.0.1; loopback only)')
      .option('--port <n>', 'listen port (default 0: any free port)')
      .option(
        '--key <file>',
        'your approver key (`gatehouse approvals keygen`): approvals made here are signed with it',
      )
      .option(
        '--allow-remote',
        'allow a non-loopback --host (put an HTTPS proxy in front: the console itself speaks plain HTTP)',
      )
      .option('--json', 'print the address and the login link as JSON')
      .action(async (opts: ConsoleOptions, cmd: Command) =>
        setExit(await runConsole(globals(cmd), opts, io)),
      ),
  );
}
