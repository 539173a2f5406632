import { readFileSync } from 'node:fs';
import type { Diagnostic } from '../diagnostics/diagnostic.js';

export type ReadResult =
  { ok: true; text: string } | { ok: false; missing: boolean; diagnostic: Diagnostic };

/** Reads a config or requirements file, turning every OS error into a located, fixable diagnostic. */
export function readSourceFile(file: string, what: string): ReadResult {
  try {
    return { ok: true, text: readFileSync(file, 'utf8') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const missing = code === 'ENOENT' || code === 'ENOTDIR';
    const reason =
      code === 'ENOENT' || code === 'ENOTDIR'
        ? 'file not found'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory, expected a file'
            : `cannot be read (${code ?? 'unknown error'})`;
    return {
      ok: false,
      missing,
      diagnostic: {
        severity: 'error',
        code: missing ? 'file_missing' : 'file_unreadable',
        message: `${what} ${file}: ${reason}`,
        location: { file, line: 1, column: 1 },
        hint: missing ? 'check the path' : 'check the path and its permissions',
      },
    };
  }
}
