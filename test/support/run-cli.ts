import type { CliIo } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';
import { tempDir } from './fixtures.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process with a hermetic env: empty GATEHOUSE_HOME, no env requirements. */
export async function cli(
  args: string[],
  env: Record<string, string> = {},
  /** Further CliIo fields (e.g. a test system requirements file). */
  io: Partial<CliIo> = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const base = { ...process.env };
  delete base.GATEHOUSE_REQUIREMENTS_TOML_BASE64;
  delete base.CODEX_HOME;
  const code = await runCli(args, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    isTTY: false,
    env: { ...base, GATEHOUSE_HOME: tempDir(), ...env },
    cwd: process.cwd(),
    ...io,
  });
  return { code, stdout, stderr };
}
