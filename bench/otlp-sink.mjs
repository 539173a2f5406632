// An OTLP/HTTP receiver for benches, in its own process so it does not share the measuring
// client's event loop: it accepts every export with 200 and keeps nothing.
import { spawn } from 'node:child_process';

export async function startOtlpSink(port) {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `require('node:http').createServer((q, s) => { q.resume(); q.on('end', () => s.end('{}')); }).listen(${port}, '127.0.0.1')`,
    ],
    { stdio: 'ignore' },
  );
  await new Promise((r) => setTimeout(r, 300));
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}
