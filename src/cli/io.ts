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
}

export function processIo(): CliIo {
  return {
    stdout: (t) => process.stdout.write(t),
    stdoutBytes: (b) => process.stdout.write(b),
    stderr: (t) => process.stderr.write(t),
    isTTY: Boolean(process.stderr.isTTY),
    env: process.env,
    cwd: process.cwd(),
  };
}
