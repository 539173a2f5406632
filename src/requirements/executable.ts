import { createHash } from 'node:crypto';
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  fstatSync,
  openSync,
  readSync,
  realpathSync,
  statSync,
} from 'node:fs';
import type { Stats } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { StdioTransport } from '../config/mcp-server.js';
import { childEnvironment } from '../config/child-environment.js';
import type { ExecutableFacts, ExecutablePin, InterpreterFacts } from './executable-pin.js';
import { environmentShape, pinMismatch } from './executable-pin.js';

/** PATH when the child's environment has none (POSIX `_PATH_DEFPATH`, as libc's execvp). */
const DEFAULT_SEARCH_PATH = '/usr/bin:/bin';
/** Linux reads at most this much of a `#!` line (BINPRM_BUF_SIZE). */
const SHEBANG_MAX = 256;

/**
 * THE resolution rule, used for hashing and for spawning alike (so they can never disagree):
 * execvp's. A command with a slash is a path from the server's cwd; a bare name is looked up
 * in each PATH entry in order, where an empty entry means the cwd and a relative entry is
 * taken from the cwd. The first regular, executable file wins.
 */
export function resolveCommandPath(
  command: string,
  cwd: string,
  pathVar: string | undefined,
): string | null {
  if (command === '') return null;
  if (command.includes('/')) {
    const full = resolve(cwd, command);
    return isExecutableFile(full) ? full : null;
  }
  for (const dir of (pathVar ?? DEFAULT_SEARCH_PATH).split(':')) {
    const candidate = resolve(cwd, dir === '' ? '.' : dir, command);
    if (isExecutableFile(candidate)) return candidate;
  }
  return null;
}

/** The cwd a stdio server starts in (and that its command and PATH are resolved from). */
export function serverCwd(transport: StdioTransport): string {
  return resolve(process.cwd(), transport.cwd ?? '.');
}

/**
 * Finds the file a stdio server's `command` runs: the resolution rule above, on the PATH the
 * child will see (its environment as Gatehouse builds it). Gatehouse spawns exactly this file.
 */
export function findExecutable(
  transport: StdioTransport,
  env: NodeJS.ProcessEnv = process.env,
): string | null {
  return resolveCommandPath(
    transport.command,
    serverCwd(transport),
    childEnvironment(transport, env).PATH,
  );
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

/** A file opened, hashed through its descriptor, and held open until the child runs. */
export interface HeldFile {
  /** The path as resolved (before symlinks are followed). */
  path: string;
  real: string;
  fd: number;
  stat: Stats;
  sha256: string;
  head: Buffer;
}

/** The executable cannot be resolved, read or followed as a pin requires (message says why). */
export class ExecutableError extends Error {}

function openAndHash(path: string): HeldFile {
  let real: string;
  try {
    real = realpathSync(path);
  } catch (err) {
    throw new ExecutableError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code}`);
  }
  let fd: number;
  try {
    fd = openSync(real, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    throw new ExecutableError(`cannot read ${real}: ${(err as NodeJS.ErrnoException).code}`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new ExecutableError(`${real} is not a regular file`);
    const hash = createHash('sha256');
    const chunk = Buffer.allocUnsafe(1 << 16);
    let head = Buffer.alloc(0);
    let position = 0;
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, position);
      if (n === 0) break;
      if (position === 0) head = Buffer.from(chunk.subarray(0, Math.min(n, SHEBANG_MAX)));
      hash.update(chunk.subarray(0, n));
      position += n;
    }
    return { path, real, fd, stat, sha256: hash.digest('hex'), head };
  } catch (err) {
    closeSync(fd);
    if (err instanceof ExecutableError) throw err;
    throw new ExecutableError(`cannot read ${real}: ${(err as NodeJS.ErrnoException).code}`);
  }
}

/** `#!` line as Linux splits it: the interpreter, then the rest as ONE optional argument. */
export function parseShebang(
  head: Buffer,
): { line: string; interpreter: string; arg: string | null } | null {
  if (head[0] !== 0x23 || head[1] !== 0x21) return null;
  const end = head.indexOf(0x0a);
  const line = head
    .subarray(2, end === -1 ? head.length : end)
    .toString('utf8')
    .replace(/\r$/, '');
  const trimmed = line.replace(/^[ \t]+/, '').replace(/[ \t]+$/, '');
  const gap = trimmed.search(/[ \t]/);
  if (trimmed === '') return null;
  if (gap === -1) return { line: line.trim(), interpreter: trimmed, arg: null };
  return {
    line: line.trim(),
    interpreter: trimmed.slice(0, gap),
    arg: trimmed.slice(gap).replace(/^[ \t]+/, ''),
  };
}

/** A planned exec: what to spawn, with which argv, holding the hashed files open. */
export interface LaunchPlan {
  /** What to pass to spawn: an absolute path, never a bare name. */
  file: string;
  argv0: string;
  args: string[];
  /** The child's whole environment (values included: for the spawn only, never printed). */
  environment: Record<string, string>;
  /** Extra descriptor to hand the child as fd 3 (the hashed binary, executed through /proc). */
  execFd: number | null;
  held: HeldFile[];
  facts: ExecutableFacts & { resolved: true };
}

/**
 * What a `#!/usr/bin/env …` line runs. `env NAME` and `env -S "NAME ARGS"` are understood;
 * any other `env` option (or a VAR=value) fails closed, since Gatehouse could not say what runs.
 */
function envProgram(arg: string | null, shebang: string): string[] {
  if (arg === null) throw new ExecutableError(`\`#!${shebang}\` names no program`);
  let words: string[];
  if (arg.startsWith('-S'))
    words = arg
      .slice(2)
      .trim()
      .split(/[ \t]+/);
  else if (/[ \t]/.test(arg) || arg.startsWith('-'))
    throw new ExecutableError(
      `\`#!${shebang}\` uses env options Gatehouse does not follow; use \`#!/usr/bin/env NAME\`, \`env -S\` or an absolute interpreter`,
    );
  else words = [arg];
  const first = words[0] ?? '';
  if (first === '' || first.startsWith('-') || first.includes('='))
    throw new ExecutableError(
      `\`#!${shebang}\` sets variables or options before the program; Gatehouse does not follow that, use an absolute interpreter`,
    );
  return words;
}

/** Closes what a plan holds (idempotent). */
export function releaseLaunch(plan: LaunchPlan): void {
  for (const h of plan.held.splice(0)) {
    try {
      closeSync(h.fd);
    } catch {
      // already closed
    }
  }
}

const canExecThroughProc = process.platform === 'linux' && existsSync('/proc/self/fd');

/**
 * Resolves a stdio server's command with the one rule, opens and hashes it (and its `#!`
 * interpreter, resolved the same way for `env NAME`) through held descriptors, and plans the
 * exec of exactly those files: on Linux the binary is executed through `/proc/self/fd/3`, the
 * descriptor that was hashed, so a rename between the hash and the exec cannot change what runs.
 * Unpinned servers get the resolved absolute path (no hashing). Throws a plain Error whose
 * ExecutableError saying what is wrong, or an ENOENT-coded Error when the command does not exist.
 */
export function planLaunch(
  transport: StdioTransport,
  parentEnv: NodeJS.ProcessEnv,
  pinned: boolean,
): LaunchPlan {
  const cwd = serverCwd(transport);
  const environment = childEnvironment(transport, parentEnv);
  const found = resolveCommandPath(transport.command, cwd, environment.PATH);
  if (!found) {
    const err = new Error(
      `executable \`${transport.command}\` was not found${transport.command.includes('/') ? '' : ' on PATH'}`,
    ) as NodeJS.ErrnoException;
    err.code = 'ENOENT';
    throw err;
  }
  if (!pinned) {
    return {
      file: found,
      argv0: transport.command,
      args: transport.args,
      execFd: null,
      held: [],
      environment,
      facts: {
        resolved: true,
        path: found,
        sha256: '',
        environment: environmentShape(environment),
      },
    };
  }
  const held: HeldFile[] = [];
  try {
    const main = openAndHash(found);
    held.push(main);
    const shebang = parseShebang(main.head);
    let interpreter: InterpreterFacts | null = null;
    let elf = main;
    let argv0 = transport.command;
    let args = transport.args;
    if (shebang) {
      let interpPath: string | null;
      let interpArgs: string[];
      if (basename(shebang.interpreter) === 'env') {
        const words = envProgram(shebang.arg, shebang.line);
        const name = words[0] as string;
        interpPath = resolveCommandPath(name, cwd, environment.PATH);
        if (!interpPath)
          throw new ExecutableError(
            `\`#!${shebang.line}\` of ${main.real}: \`${name}\` was not found on the server's PATH`,
          );
        argv0 = name;
        interpArgs = words.slice(1);
      } else {
        interpPath = resolve(cwd, shebang.interpreter);
        if (!isExecutableFile(interpPath))
          throw new ExecutableError(
            `\`#!${shebang.line}\` of ${main.real}: ${interpPath} is not an executable file`,
          );
        argv0 = shebang.interpreter;
        interpArgs = shebang.arg === null ? [] : [shebang.arg];
      }
      const interp = openAndHash(interpPath);
      held.push(interp);
      if (parseShebang(interp.head))
        throw new ExecutableError(
          `the interpreter ${interp.real} of ${main.real} is itself a #! script; Gatehouse pins one interpreter level only: point the #! line (or the server's PATH) at a binary interpreter`,
        );
      interpreter = { shebang: shebang.line, path: interp.real, sha256: interp.sha256 };
      elf = interp;
      args = [...interpArgs, main.real, ...transport.args];
    }
    return {
      file: canExecThroughProc ? '/proc/self/fd/3' : elf.real,
      argv0,
      args,
      environment,
      execFd: canExecThroughProc ? elf.fd : null,
      held,
      facts: {
        resolved: true,
        path: main.real,
        sha256: main.sha256,
        interpreter,
        environment: environmentShape(environment),
      },
    };
  } catch (err) {
    for (const h of held) closeSync(h.fd);
    throw err;
  }
}

/** Why the plan cannot run under this pin (hash, interpreter, environment), or null. */
export function planMismatch(plan: LaunchPlan, pin: ExecutablePin): string | null {
  return pinMismatch(pin, plan.facts);
}

/**
 * After the child started: were the hashed files changed in place, or (for a script, which the
 * interpreter opens by path) replaced at their path, between the hash and the exec? Returns why,
 * or null when what ran is what was hashed.
 */
export function changedSinceHash(plan: LaunchPlan): string | null {
  for (const h of plan.held) {
    let now: Stats;
    try {
      now = fstatSync(h.fd);
    } catch {
      return `${h.real} could not be re-checked after the start`;
    }
    const same = (a: Stats, b: Stats) =>
      a.dev === b.dev &&
      a.ino === b.ino &&
      a.size === b.size &&
      a.mtimeMs === b.mtimeMs &&
      a.ctimeMs === b.ctimeMs;
    if (!same(now, h.stat)) return `${h.real} changed while the server was starting`;
    try {
      const atPath = statSync(h.real);
      if (atPath.dev !== h.stat.dev || atPath.ino !== h.stat.ino)
        return `${h.real} was replaced while the server was starting`;
    } catch {
      return `${h.real} was removed while the server was starting`;
    }
  }
  return null;
}

/** Resolves, follows symlinks and hashes the executable (and its interpreter), for `sha256` pins. */
export function inspectExecutable(
  transport: StdioTransport,
  env: NodeJS.ProcessEnv = process.env,
): ExecutableFacts {
  let plan: LaunchPlan;
  try {
    plan = planLaunch(transport, env, true);
  } catch (err) {
    return { resolved: false, error: (err as Error).message };
  }
  releaseLaunch(plan);
  return plan.facts;
}
