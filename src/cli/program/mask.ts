import type { Command } from 'commander';
import type { Readable } from 'node:stream';
import { runMask } from '../commands/mask.js';
import type { MaskOptions } from '../commands/mask.js';
import type { CommandWiring } from './wiring.js';

/**
 * `mask`: the masking engine on a file or stdin.
 * Declarations only (names, options, help texts): the work is in ../commands/.
 */
export function addMaskCommand(
  program: Command,
  { io, setExit, globals, wire, streams }: CommandWiring,
): void {
  wire(
    program
      .command('mask')
      .description(
        'mask secrets and personal data in a file or stdin with the gateway engine and the effective [gatehouse_masking] rules',
      )
      .argument('[file]', 'file to mask; - or nothing reads stdin')
      .option('--json', 'print the findings (kind, rule, offsets, line, column), never the values')
      .option('--check', 'print a summary only; exit 16 when anything would be masked')
      .option('--server <name>', "apply this server's exemptions")
      .option('--tool <name>', "apply this tool's exemptions (with --server)")
      .option('--list-detectors', 'list every detector, its kind and whether it is on')
      .action(async (file: string | undefined, opts: MaskOptions, cmd: Command) =>
        setExit(await runMask(globals(cmd), file, opts, io, streams.stdin as Readable)),
      ),
  );
}
