import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { checkPrivateFile, UnsafePermissionsError } from '../audit/file-permissions.js';
import { maskTokens } from '../masking/mask-text.js';
import type { SecretRef } from './model.js';
import { describeSecretRef } from './model.js';

/**
 * A secret that could not be read. The message names the reference and the fix, never the
 * value (nor a command's output, which may hold it). Exit code 23 in the CLI.
 */
export class SecretUnavailable extends Error {}

/** A provider command's budget: a hung password manager must not hang a server's start. */
const COMMAND_TIMEOUT_MS = 10_000;
/** Header values and tokens are small; a provider printing more is misconfigured. */
const MAX_SECRET_BYTES = 64 * 1024;

/**
 * Whether a reference can be read, without reading or running it: an env variable is set, a
 * file exists and no one else can read it. A command is only run when the value is needed.
 */
export function checkSecretRef(ref: SecretRef, env: NodeJS.ProcessEnv): string | null {
  try {
    if (ref.kind === 'env') {
      if (!env[ref.name]) return `environment variable ${ref.name} is not set`;
    } else if (ref.kind === 'file') {
      secretFileProblem(ref.path);
    }
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** Throws SecretUnavailable when the file is missing, not a file, or others can read it. */
function secretFileProblem(path: string): void {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SecretUnavailable(
      code === 'ENOENT'
        ? `secret file ${path} does not exist. Fix: create it (mode 0600) or correct the path`
        : `secret file ${path} cannot be read (${code ?? 'error'})`,
    );
  }
  if (!isFile) throw new SecretUnavailable(`secret file ${path} is not a regular file`);
  try {
    checkPrivateFile(path, 'secret file');
  } catch (err) {
    if (err instanceof UnsafePermissionsError) throw new SecretUnavailable(err.message);
    throw err;
  }
}

/**
 * The value behind a reference, read now (so a rotated secret is picked up at the next start).
 * Trailing newlines are dropped (files and commands end lines); an empty value is refused.
 */
export async function readSecret(ref: SecretRef, env: NodeJS.ProcessEnv): Promise<string> {
  const value = await readRaw(ref, env);
  const trimmed = value.replace(/[\r\n]+$/, '');
  if (trimmed === '') throw new SecretUnavailable(`${describeSecretRef(ref)} is empty`);
  if (/[\r\n]/.test(trimmed))
    throw new SecretUnavailable(
      `${describeSecretRef(ref)} has more than one line; a token or header value is one line`,
    );
  return trimmed;
}

async function readRaw(ref: SecretRef, env: NodeJS.ProcessEnv): Promise<string> {
  switch (ref.kind) {
    case 'env': {
      const v = env[ref.name];
      if (!v)
        throw new SecretUnavailable(
          `environment variable ${ref.name} is not set. Fix: export ${ref.name} in the environment that starts Gatehouse`,
        );
      return v;
    }
    case 'file': {
      secretFileProblem(ref.path);
      const buf = readFileSync(ref.path);
      if (buf.length > MAX_SECRET_BYTES)
        throw new SecretUnavailable(`secret file ${ref.path} is larger than 64 KiB`);
      return buf.toString('utf8');
    }
    case 'command':
      return runProvider(ref.argv, env);
  }
}

/** Runs a provider (no shell); its stdout is the secret. Failures never echo stdout. */
function runProvider(argv: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const [program, ...args] = argv as [string, ...string[]];
  return new Promise((resolve, reject) => {
    execFile(
      program,
      args,
      { env, timeout: COMMAND_TIMEOUT_MS, maxBuffer: MAX_SECRET_BYTES, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: unknown };
        const tail = maskTokens((stderr ?? '').trim().split('\n').pop()?.slice(0, 200) ?? '');
        const why =
          e.code === 'ENOENT'
            ? 'it was not found'
            : e.killed
              ? `it did not finish within ${COMMAND_TIMEOUT_MS / 1000}s`
              : typeof e.code === 'number'
                ? `it exited with code ${e.code}`
                : `it failed (${String(e.code ?? e.message)})`;
        reject(
          new SecretUnavailable(
            `secret command ${program} failed: ${why}${tail ? ` (stderr: ${tail})` : ''}`,
          ),
        );
      },
    );
  });
}
