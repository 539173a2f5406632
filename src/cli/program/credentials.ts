import type { Command } from 'commander';
import { runCredentialsList, runCredentialsRevoke, runLogin } from '../commands/credentials.js';
import type { LoginOptions } from '../commands/credentials.js';
import type { CommandWiring } from './wiring.js';

/**
 * `login NAME` and `credentials list|revoke`: each user's own OAuth grant to an upstream
 * (`user` credential model), stored encrypted. Declarations only: the work is in
 * ../commands/credentials.ts.
 */
export function addCredentialsCommands(
  program: Command,
  { io, setExit, globals, wire }: CommandWiring,
) {
  const forOption = (cmd: Command) =>
    cmd.option(
      '--for <principal>',
      "whose grant (default: you, os:USER); on a team gateway host, a caller's user:SUB",
    );
  wire(
    forOption(program.command('login'))
      .description(
        "authorize Gatehouse at a user-model server's authorization server (OAuth code + PKCE): prints the URL, waits for the loopback redirect, stores the grant encrypted",
      )
      .argument('<name>', 'the server, as in [mcp_servers.NAME]')
      .option('--timeout <seconds>', 'how long to wait for the redirect (default 300)')
      .option('--json', 'print JSON')
      .action(async (name: string, opts: LoginOptions, cmd: Command) =>
        setExit(await runLogin(globals(cmd), name, opts, io)),
      ),
  );
  const credentials = wire(
    program
      .command('credentials')
      .description("stored upstream grants (each user's own OAuth tokens): list, revoke"),
  );
  wire(
    credentials
      .command('list')
      .description('every stored grant: server, principal, issuer, expiry (never a token)')
      .option('--json', 'print JSON')
      .action((opts: { json?: boolean }, cmd: Command) =>
        setExit(runCredentialsList(globals(cmd), opts, io)),
      ),
  );
  wire(
    forOption(credentials.command('revoke'))
      .description(
        'remove a grant (and revoke it at the authorization server): the next call asks for a login again',
      )
      .argument('<name>', 'the server')
      .option('--all', "every principal's grant for the server")
      .option('--json', 'print JSON')
      .action(
        async (name: string, opts: { for?: string; all?: boolean; json?: boolean }, cmd: Command) =>
          setExit(await runCredentialsRevoke(globals(cmd), name, opts, io)),
      ),
  );
}
