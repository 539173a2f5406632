import { createInterface } from 'node:readline';

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
  /**
   * Asks a person a yes/no question; present only when one can answer (stdin and stderr are a
   * terminal). Commands that change trust anchors ask before writing unless given `--yes`.
   */
  confirm?(question: string): Promise<boolean>;
}

/** A y/N question on the terminal; anything but y/yes (or a closed stdin) is no. */
async function askOnTerminal(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.once('close', () => resolve(''));
      rl.question(`${question} [y/N] `, resolve);
    });
    return /^(y|yes)$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

export function processIo(): CliIo {
  const interactive = Boolean(process.stdin.isTTY && process.stderr.isTTY);
  return {
    ...(interactive ? { confirm: askOnTerminal } : {}),
    stdout: (t) => process.stdout.write(t),
    stdoutBytes: (b) => process.stdout.write(b),
    stderr: (t) => process.stderr.write(t),
    isTTY: Boolean(process.stderr.isTTY),
    env: process.env,
    cwd: process.cwd(),
  };
}
