import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import type { ErrorKind } from './error-table.js';
import { ERROR_TABLE, kindOfCode, outcomeOfCode } from './error-table.js';

const KINDS = Object.keys(ERROR_TABLE) as ErrorKind[];

describe('the error table', () => {
  test('each code means exactly one kind', () => {
    const codes = KINDS.map((k) => ERROR_TABLE[k].code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const kind of KINDS) expect(kindOfCode(ERROR_TABLE[kind].code)).toBe(kind);
  });

  test('a timeout, an unavailable server and a refusal are told apart in the audit', () => {
    expect(outcomeOfCode(ERROR_TABLE.request_timeout.code)).toBe('timeout');
    expect(outcomeOfCode(ERROR_TABLE.server_unavailable.code)).toBe('unavailable');
    expect(outcomeOfCode(ERROR_TABLE.policy_denied.code)).toBe('denied');
    expect(outcomeOfCode(-31999)).toBe('protocol_error'); // an upstream's own code
  });

  test('docs/cli.md lists every code with its kind, HTTP status and audit outcome', () => {
    const docs = readFileSync(new URL('../../docs/cli.md', import.meta.url), 'utf8');
    for (const kind of KINDS) {
      const { code, httpStatus, outcome, meaning } = ERROR_TABLE[kind];
      expect(docs).toContain(
        `| \`${code}\` | \`${kind}\` | ${httpStatus} | \`${outcome}\` | ${meaning} |`,
      );
    }
  });
});
