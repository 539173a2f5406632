import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FieldReader } from '../config/field-reader.js';
import type { Diagnostic } from '../diagnostics/diagnostic.js';
import { tempDir } from '../../test/support/fixtures.js';
import { readSecretRef } from './parse-credentials.js';
import { checkSecretRef, readSecret, SecretUnavailable } from './secret-ref.js';

const secretFile = (value: string, mode: number) => {
  const file = join(tempDir(), 'secret');
  writeFileSync(file, value, { mode });
  return file;
};

describe('secret references', () => {
  it('reads env, a private file (trailing newline dropped) and a provider command', async () => {
    expect(await readSecret({ kind: 'env', name: 'T' }, { T: 'from-env' })).toBe('from-env');
    const file = secretFile('from-file\n', 0o600);
    expect(await readSecret({ kind: 'file', path: file }, {})).toBe('from-file');
    const argv = [process.execPath, '-e', "process.stdout.write('from-command\\n')"];
    expect(await readSecret({ kind: 'command', argv }, process.env)).toBe('from-command');
  });

  it('refuses a file others can read, with the chmod that fixes it, and never its contents', async () => {
    const file = secretFile('sk-live-do-not-print', 0o644);
    const read = readSecret({ kind: 'file', path: file }, {});
    await expect(read).rejects.toBeInstanceOf(SecretUnavailable);
    await expect(read).rejects.toThrow(`can be read by other users (mode 0644)`);
    await expect(read).rejects.toThrow(`Fix: chmod 600 '${file}'`);
    expect(checkSecretRef({ kind: 'file', path: file }, {})).toContain('chmod 600');
    await expect(read).rejects.not.toThrow('sk-live-do-not-print');
  });

  it('says what is missing: an unset variable, a missing file, an empty value', async () => {
    await expect(readSecret({ kind: 'env', name: 'NOPE' }, {})).rejects.toThrow(
      'environment variable NOPE is not set. Fix: export NOPE',
    );
    await expect(readSecret({ kind: 'file', path: '/nonexistent/x' }, {})).rejects.toThrow(
      'secret file /nonexistent/x does not exist',
    );
    await expect(readSecret({ kind: 'file', path: secretFile('\n', 0o600) }, {})).rejects.toThrow(
      'is empty',
    );
  });

  it('a failing provider shows its exit status and masked stderr, never its stdout', async () => {
    const argv = [
      process.execPath,
      '-e',
      "process.stdout.write('partial-secret-value'); console.error('vault locked'); process.exit(3)",
    ];
    const read = readSecret({ kind: 'command', argv }, process.env);
    await expect(read).rejects.toThrow(/exited with code 3 \(stderr: vault locked\)/);
    await expect(read).rejects.not.toThrow('partial-secret-value');
    await expect(
      readSecret({ kind: 'command', argv: ['/nonexistent/provider'] }, process.env),
    ).rejects.toThrow('secret command /nonexistent/provider failed: it was not found');
  });

  it('property: a string where a reference belongs is refused, and never echoed', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 64 }).map((s) => `sk-${s}-Zq9`),
        (value) => {
          const diagnostics: Diagnostic[] = [];
          const r = new FieldReader(
            { bearer: value },
            'mcp_servers.x.gatehouse_credentials',
            () => ({ location: { file: 'c.toml', line: 1, column: 1 }, snippet: '' }),
            diagnostics,
          );
          expect(readSecretRef(r, ['bearer'], value)).toBeNull();
          expect(diagnostics).toHaveLength(1);
          const shown = `${diagnostics[0]?.message} ${diagnostics[0]?.hint ?? ''}`;
          expect(shown).not.toContain(value);
        },
      ),
    );
  });
});
