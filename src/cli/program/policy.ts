import type { Command } from 'commander';
import { runPolicyExplain, runPolicyTest } from '../commands/policy.js';
import type { CommandWiring } from './wiring.js';

/**
 * `policy explain` and `policy test`: what a call needs, and why.
 * Declarations only (names, options, help texts): the work is in ../commands/.
 */
export function addPolicyCommands(
  program: Command,
  { io, setExit, globals, wire }: CommandWiring,
): void {
  const policy = wire(
    program.command('policy').description('the admin tool policy: what a call needs, and why'),
  );
  wire(
    policy
      .command('explain')
      .description('the decision for one tool: allow, deny or approval (by whom), and the rule')
      .option('--server <name>', 'server name')
      .option('--tool <name>', 'raw tool name on that server')
      .option('--args <json>', 'the call arguments (an approval is bound to exactly these)')
      .option('--annotations <json>', "the tool's annotations as the server declares them")
      .option('--live', "start the server and use the tool's annotations as it lists them now")
      .option(
        '--as <principal>',
        'decide for this caller (user:SUB, service:SUB or os:NAME): scopes and rule audiences apply',
      )
      .option('--groups <a,b>', "the caller's groups (with --as)")
      .option('--json', 'print JSON')
      .action(
        async (
          opts: {
            as?: string;
            groups?: string;
            server?: string;
            tool?: string;
            args?: string;
            annotations?: string;
            live?: boolean;
            json?: boolean;
          },
          cmd: Command,
        ) => setExit(await runPolicyExplain(globals(cmd), opts, io)),
      ),
  );
  wire(
    policy
      .command('test')
      .description(
        'run admin-written expectation cases ([[case]] tables) against the effective policy',
      )
      .argument('<cases.toml>', 'the cases file')
      .option('--json', 'print JSON')
      .action((file: string, opts: { json?: boolean }, cmd: Command) =>
        setExit(runPolicyTest(globals(cmd), file, opts, io)),
      ),
  );
}
