import type { Command } from 'commander';
import {
  runApprovalsDecide,
  runApprovalsKeygen,
  runApprovalsList,
  runApprovalsPublicKey,
  runApprovalsServe,
  runApprovalsShow,
  runApprovalsSign,
} from '../commands/approvals.js';
import type { CommandWiring } from './wiring.js';
import { collect } from './wiring.js';

/**
 * `approvals list`, `show`, `approve`, `keygen`, `sign`, `deny`, `serve`: calls waiting for a human.
 * Declarations only (names, options, help texts): the work is in ../commands/.
 */
export function addApprovalsCommands(program: Command, cli: CommandWiring): void {
  const approvals = cli.wire(
    program
      .command('approvals')
      .description('calls waiting for a human: list, show, approve, deny'),
  );
  addApprovalsQueueCommands(approvals, cli);
  addApprovalsGrantCommands(approvals, cli);
  addApprovalsKeyCommands(approvals, cli);
}

/** public-key: the approvers line for a key that exists (a team gateway's). */
function addApprovalsKeyCommands(approvals: Command, { io, setExit, wire }: CommandWiring) {
  wire(
    approvals
      .command('public-key')
      .description(
        "print the approvers line for an existing key (a team gateway's --approvals-key: with --gateway --group G)",
      )
      .option(
        '--key <file>',
        'the private key file (default: $GATEHOUSE_HOME/approver/approver-key.pem)',
      )
      .option('--name <name>', 'the approver name to list (default with --gateway: team-gateway)')
      .option('--gateway', 'a team gateway key: it signs for signed-in people of --group')
      .option('--group <group>', 'who may approve through the gateway (repeatable)', collect, [])
      .option('--json', 'print JSON')
      .action(
        (opts: {
          key?: string;
          name?: string;
          gateway?: boolean;
          group?: string[];
          json?: boolean;
        }) => setExit(runApprovalsPublicKey(opts, io)),
      ),
  );
}

/** list, show, approve: the queue as its approver sees it. */
function addApprovalsQueueCommands(
  approvals: Command,
  { io, setExit, globals, wire }: CommandWiring,
) {
  wire(
    approvals
      .command('list')
      .description('pending approvals (--all: every state)')
      .option('--all', 'also approved, denied, used and expired ones')
      .option('--json', 'print JSON')
      .action(async (opts: { all?: boolean; json?: boolean }, cmd: Command) =>
        setExit(await runApprovalsList(globals(cmd), opts, io)),
      ),
  );
  wire(
    approvals
      .command('show')
      .description('one approval: the call, its masked arguments, the rule, who asked')
      .argument('<id>', 'approval id')
      .option('--json', 'print JSON')
      .action(async (id: string, opts: { json?: boolean }, cmd: Command) =>
        setExit(await runApprovalsShow(globals(cmd), id, opts, io)),
      ),
  );
  wire(
    approvals
      .command('approve')
      .description(
        'approve one call, once: signed with --key (required for two_person, and for every call once approver keys are listed), else as the OS user running this command',
      )
      .argument('<id>', 'approval id')
      .option('--key <file>', 'your approver key (`gatehouse approvals keygen`): signs the grant')
      .option('--reason <text>', 'why (recorded)')
      .option('--json', 'print JSON')
      .action(
        async (id: string, opts: { reason?: string; json?: boolean; key?: string }, cmd: Command) =>
          setExit(await runApprovalsDecide(globals(cmd), id, 'approved', opts, io)),
      ),
  );
}

/** keygen, sign, deny, serve: approver keys, signed grants, refusals and the HTTP API. */
function addApprovalsGrantCommands(
  approvals: Command,
  { io, setExit, globals, wire }: CommandWiring,
) {
  wire(
    approvals
      .command('keygen')
      .description(
        'create an approver key (private file 0600 in a 0700 directory) and print the public key line for [gatehouse_approvals] approvers',
      )
      .option('--name <name>', 'the approver name the admin lists (default: your OS user name)')
      .option(
        '--out <file>',
        'where to write the private key (default: $GATEHOUSE_HOME/approver/approver-key.pem); never overwritten',
      )
      .option('--json', 'print JSON')
      .action((opts: { name?: string; out?: string; json?: boolean }) =>
        setExit(runApprovalsKeygen(opts, io)),
      ),
  );
  wire(
    approvals
      .command('sign')
      .description(
        'sign an approval as the HTTP API shows it (GET /approvals/ID) and print the grant to POST to /approvals/ID/approve',
      )
      .requiredOption('--key <file>', 'your approver key')
      .option('--approval <file>', 'the approval JSON (default: - for stdin)')
      .option('--reason <text>', 'why (signed and recorded)')
      .option('--json', 'print JSON (the grant is always JSON)')
      .action((opts: { key?: string; approval?: string; reason?: string }, cmd: Command) =>
        setExit(runApprovalsSign(globals(cmd), opts, io)),
      ),
  );
  wire(
    approvals
      .command('deny')
      .description('deny one call; the caller is told the reason')
      .argument('<id>', 'approval id')
      .requiredOption('--reason <text>', 'why (the caller is told, and it is recorded)')
      .option('--json', 'print JSON')
      .action(async (id: string, opts: { reason?: string; json?: boolean }, cmd: Command) =>
        setExit(await runApprovalsDecide(globals(cmd), id, 'denied', opts, io)),
      ),
  );
  wire(
    approvals
      .command('serve')
      .description(
        'the approvals HTTP API (GET /approvals, POST /approvals/ID/approve|deny) for a dashboard',
      )
      .requiredOption('--http <host:port>', 'listen on HOST:PORT (port 0: any free port)')
      .requiredOption(
        '--approver-tokens-env <var>',
        'a variable holding NAME:TOKEN[,NAME:TOKEN…]: each bearer token gives access; approving needs a signed grant',
      )
      .action(async (opts: { http?: string; approverTokensEnv?: string }, cmd: Command) =>
        setExit(await runApprovalsServe(globals(cmd), opts, io)),
      ),
  );
}
