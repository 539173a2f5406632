import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { tempDir } from '../support/fixtures.js';

const BIN = join(import.meta.dirname, '..', '..', 'dist', 'bin', 'gatehouse.js');

/** Runs `gatehouse ARGS | head -1` in a real shell pipeline; returns gatehouse's status and stderr. */
function pipedToHead(args: string[]): { status: string; stderr: string; firstLine: string } {
  const home = tempDir();
  const quoted = args.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  const script = `"${process.execPath}" "${BIN}" ${quoted} 2>"${home}/stderr" | head -1; echo "status=\${PIPESTATUS[0]}"; cat "${home}/stderr"`;
  const run = spawnSync('bash', ['-c', script], {
    env: { ...process.env, GATEHOUSE_HOME: home },
    encoding: 'utf8',
  });
  const lines = run.stdout.split('\n');
  const at = lines.findIndex((l) => l.startsWith('status='));
  return {
    firstLine: lines[0] ?? '',
    status: lines[at]?.slice('status='.length) ?? '?',
    stderr: lines.slice(at + 1).join('\n'),
  };
}

describe('a reader that closes the pipe early', () => {
  // Output far larger than a pipe's buffer, so gatehouse is still writing when `head` exits.
  const big = join(tempDir(), 'big.txt');
  writeFileSync(big, `${'plain line of text without anything to mask\n'.repeat(200_000)}`);

  test('`gatehouse mask FILE | head -1` ends quietly: status 0, no stack trace', () => {
    const run = pipedToHead(['mask', big]);
    expect(run.firstLine).toBe('plain line of text without anything to mask');
    expect(run.stderr).not.toMatch(/EPIPE|at .*\.js|Unhandled/);
    expect(run.status).toBe('0');
  });

  test('`gatehouse mask --json FILE | head -1` ends quietly as well', () => {
    const withFindings = join(tempDir(), 'findings.txt');
    writeFileSync(withFindings, 'mail jane.doe@example.com here\n'.repeat(50_000));
    const run = pipedToHead(['mask', '--json', withFindings]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe('0');
  });
});
