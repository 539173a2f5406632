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
      'require Authorization: Bearer <value of VAR> (required off 127.0.0.1)',
    );
}
