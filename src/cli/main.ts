#!/usr/bin/env node
import { killAllGroups } from '../gateway/upstream/process-groups.js';
import { endQuietlyOnClosedPipe } from './closed-pipe.js';
import { processIo } from './io.js';
import { runCli } from './program.js';
import { handleSignal, runShutdownHooks } from './shutdown.js';

// Servers started by --probe run in their own process groups, out of reach of the terminal's
// Ctrl-C: kill them whenever this process goes away.
process.once('exit', () => killAllGroups());
for (const [signal, code] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
] as const) {
  process.on(signal, () => {
    if (handleSignal(signal)) return;
    const killed = killAllGroups();
    process.stderr.write(
      `\ngatehouse: ${signal}: stopped${killed > 0 ? ` (killed ${killed} server process group(s))` : ''}\n`,
    );
    void runShutdownHooks().finally(() => process.exit(code));
  });
}

endQuietlyOnClosedPipe(
  process,
  () => runShutdownHooks(),
  (code) => process.exit(code),
);

const code = await runCli(process.argv.slice(2), processIo(), {
  stdin: process.stdin,
  stdout: process.stdout,
  selfPath: process.argv[1],
});
process.exitCode = code;
