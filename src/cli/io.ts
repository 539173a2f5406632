/** Where the CLI writes: injected so tests run commands in-process and read exactly what a user sees. */
export interface CliIo {
  stdout(text: string): void;
  /** Raw bytes to stdout (output that is not UTF-8 text); absent: written as latin1 text. */
  stdoutBytes?(data: Buffer): void;
  stderr(text: string): void;
  /** stderr is a terminal: progress output is shown. */
  isTTY: boolean;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** The Node runtime options this process was started with (`process.execArgv`; none in tests). */
  execArgv?: readonly string[];
  /**
   * Test seams, never set by `processIo`: another system requirements file than
   * /etc/gatehouse/requirements.toml, and how its ownership is judged.
   */
  systemRequirementsFile?: string;
  requirementsOwnership?: (path: string) => { adminOwned: boolean; why: string };
}

export function processIo(): CliIo {
  return {
    stdout: (t) => process.stdout.write(t),
    stdoutBytes: (b) => process.stdout.write(b),
    stderr: (t) => process.stderr.write(t),
    isTTY: Boolean(process.stderr.isTTY),
    env: process.env,
    cwd: process.cwd(),
    execArgv: process.execArgv,
  };
}
