import type { Readable, Writable } from 'node:stream';
import { ExitCode } from '../exit-codes.js';
import type { ExitCodeValue } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { configFailure, reportLoadProblems } from '../report.js';
import type { GlobalOptions } from '../world.js';
import { loadWorld } from '../world.js';

/** Where `run` speaks MCP: the process's own stdin/stdout (tests pass pipes). */
export interface RunStreams {
  stdin: NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  selfPath?: string;
}

/**
 * `gatehouse run NAME`: serve one governed server over stdio. Diagnostics and one JSON line per
 * state change go to stderr; stdout carries only the protocol.
 */
export async function runRun(
  global: GlobalOptions,
  name: string,
  io: CliIo,
  streams: RunStreams,
): Promise<ExitCodeValue> {
  const world = loadWorld(global, io);
  const failed = configFailure(io, world);
  const gateway = await import('../../gateway/run-gateway.js');
  const stdin = streams.stdin as Readable;
  const stdout = streams.stdout as Writable;
  if (failed !== null) {
    await gateway.refuseSession(
      stdin,
      stdout,
      `Gatehouse configuration is invalid (see its stderr); server '${name}' was not started`,
    );
    return failed;
  }
  reportLoadProblems(io, world);
  const decision = world.decisions.find((d) => d.server.name === name);
  if (!decision) {
    const known = world.decisions.map((d) => d.server.name).join(', ') || 'none';
    const message = `No MCP server named '${name}' in Gatehouse's configuration (configured: ${known})`;
    io.stderr(`Error: ${message}\n`);
    await gateway.refuseSession(stdin, stdout, message);
    return ExitCode.notFound;
  }
  const outcome = await gateway.runGateway({
    decision,
    env: io.env,
    stdin,
    stdout,
    stateLine: (line) => io.stderr(`${JSON.stringify(line)}\n`),
    ...(streams.selfPath ? { selfPath: streams.selfPath } : {}),
  });
  return outcome === 'served' ? ExitCode.ok : ExitCode.serverUnavailable;
}
