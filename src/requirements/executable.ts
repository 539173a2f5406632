import { createHash } from 'node:crypto';
import { accessSync, constants, readFileSync, realpathSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type { StdioTransport } from '../config/mcp-server.js';
import type { ExecutableFacts } from './match-server-identity.js';

/**
 * Finds the file a stdio server's `command` runs, the way the OS will when Gatehouse spawns
 * it: a path with a slash is taken relative to the server's cwd; a bare name is looked up on
 * the PATH the child will see (the server's own `env.PATH`, else Gatehouse's).
 */
export function findExecutable(
  transport: StdioTransport,
  env: NodeJS.ProcessEnv = process.env,
): string | null {
  const { command } = transport;
  const cwd = transport.cwd ?? process.cwd();
  if (command.includes('/')) {
    const full = isAbsolute(command) ? command : resolve(cwd, command);
    return isExecutableFile(full) ? full : null;
  }
  const pathVar = transport.env?.PATH ?? env.PATH ?? '';
  for (const dir of pathVar.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(isAbsolute(dir) ? dir : resolve(cwd, dir), command);
    if (isExecutableFile(candidate)) return candidate;
  }
  return null;
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Resolves, follows symlinks and hashes the executable, for `sha256` pins. */
export function inspectExecutable(
  transport: StdioTransport,
  env: NodeJS.ProcessEnv = process.env,
): ExecutableFacts {
  const found = findExecutable(transport, env);
  if (!found)
    return { resolved: false, error: `executable \`${transport.command}\` was not found on PATH` };
  try {
    const real = realpathSync(found);
    const sha256 = createHash('sha256').update(readFileSync(real)).digest('hex');
    return { resolved: true, path: real, sha256 };
  } catch (err) {
    return {
      resolved: false,
      error: `cannot read ${found}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
    };
  }
}
