import type { Command } from 'commander';
import type { ExitCodeValue } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import type { RunStreams } from '../commands/run.js';
import type { GlobalOptions } from '../world.js';

/** What every command group needs from the top-level program: output, the exit code, streams. */
export interface CommandWiring {
  io: CliIo;
  setExit: (code: ExitCodeValue) => void;
  streams: RunStreams;
  /** The command's options merged with the global ones (--config, --requirements, --audit …). */
  globals: (cmd: Command) => GlobalOptions;
  /** Same error handling and output for every (sub)command as for the program itself. */
  wire: (cmd: Command) => Command;
}

/** Commander accumulator for repeatable options (`--config a --config b`). */
export const collect = (value: string, previous: string[]) => [...previous, value];

/** `--http` and `--http-token-env`, shared by `run` and `serve`. */
export function withHttpOptions(cmd: Command): Command {
  return cmd
    .option(
      '--http <host:port>',
      'serve streamable HTTP at http://HOST:PORT/mcp instead of stdio (port 0: any free port)',
    )
    .option(
      '--http-token-env <var>',
      'require Authorization: Bearer <value of VAR> (required off 127.0.0.1 unless requirements have [gatehouse_identity])',
    )
    .option(
      '--allowed-host <name>',
      'a Host name clients may use besides the listen address (exact; NAME or NAME:PORT; repeatable)',
      collect,
      [],
    )
    .option(
      '--allowed-origin <origin>',
      'a browser Origin allowed to call (exact; repeatable)',
      collect,
      [],
    )
    .option(
      '--trusted-proxy <cidr>',
      'believe X-Forwarded-For/Proto/Host only from this proxy address or CIDR block (repeatable)',
      collect,
      [],
    )
    .option(
      '--tls-cert <file>',
      'serve HTTPS with this PEM certificate (chain); reloaded on SIGHUP',
    )
    .option('--tls-key <file>', 'the PEM private key of --tls-cert')
    .option(
      '--idle-session-seconds <n>',
      'end sessions unused this long, and their servers (default 300)',
    )
    .option('--max-sessions-per-user <n>', 'most live sessions per authenticated user (default 20)')
    .option(
      '--max-processes-per-user <n>',
      "most upstream processes one user's sessions may hold (default 100)",
    )
    .option('--drain-seconds <n>', 'on SIGTERM, longest wait for requests in flight (default 10)')
    .option(
      '--replica-id <name>',
      'this replica of a team gateway: session ids start with NAME. so a reverse proxy routes each session to it',
    )
    .option(
      '--approvals-key <file>',
      'serve /approvals for signed-in people, signing their grants with this gateway approver key (listed with gateway = true; needs [gatehouse_identity])',
    )
    .option(
      '--metrics-listen <host:port>',
      'serve Prometheus metrics at http://HOST:PORT/metrics (loopback only, no auth; stdio or HTTP mode)',
    );
}
