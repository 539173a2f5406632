import type { Command } from 'commander';
import { runTokensCreate, runTokensList, runTokensRevoke } from '../commands/tokens.js';
import type { TokensOptions } from '../commands/tokens.js';
import type { CommandWiring } from './wiring.js';
import { collect } from './wiring.js';

/**
 * `tokens create`, `list`, `revoke`: named service tokens for bots and CI.
 * Declarations only (names, options, help texts): the work is in ../commands/tokens.ts.
 */
export function addTokensCommands(program: Command, { io, setExit, globals, wire }: CommandWiring) {
  const tokens = wire(
    program
      .command('tokens')
      .description(
        'named service tokens for bots and CI ([gatehouse_identity] service_tokens): create, list, revoke',
      ),
  );
  const storeOption = (cmd: Command) =>
    cmd
      .option('--store <file>', 'the token store (default: [gatehouse_identity] service_tokens)')
      .option('--json', 'print JSON');
  wire(
    storeOption(tokens.command('create'))
      .description('mint a token, print it ONCE, store only its SHA-256')
      .argument('<name>', 'a name for the token (1–64 letters, digits, . _ -)')
      .option(
        '--subject <subject>',
        'who the token is, as audit and policy see it (default bot:NAME)',
      )
      .option('--group <group>', 'a group the token belongs to (repeatable)', collect, [])
      .action(
        (
          name: string,
          opts: TokensOptions & { subject?: string; group?: string[] },
          cmd: Command,
        ) => setExit(runTokensCreate(globals(cmd), name, opts, io)),
      ),
  );
  wire(
    storeOption(tokens.command('list'))
      .description('every service token: name, subject, groups, state (never the token)')
      .action((opts: TokensOptions, cmd: Command) =>
        setExit(runTokensList(globals(cmd), opts, io)),
      ),
  );
  wire(
    storeOption(tokens.command('revoke'))
      .description('revoke a token: the next request with it is refused')
      .argument('<name>', 'the token name')
      .action((name: string, opts: TokensOptions, cmd: Command) =>
        setExit(runTokensRevoke(globals(cmd), name, opts, io)),
      ),
  );
}
