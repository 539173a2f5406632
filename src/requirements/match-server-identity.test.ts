import { describe, expect, test } from 'vitest';
import type { McpTransport } from '../config/mcp-server.js';
import { http, stdio } from '../../test/support/fixtures.js';
import { matchServerIdentity } from './match-server-identity.js';
import type { ExecutableFacts, MatchMode } from './match-server-identity.js';
import type { ServerIdentityRule, StringMatcher } from './model.js';
import { compileRustRegex } from './rust-regex.js';

const exact = (command: string, sha256: string | null = null): ServerIdentityRule => ({
  transport: 'stdio',
  form: 'exact',
  command,
  sha256,
});
const matcher = (executable: string, args: StringMatcher[]): ServerIdentityRule => ({
  transport: 'stdio',
  form: 'matcher',
  executable,
  args,
  sha256: null,
});
const url = (m: StringMatcher): ServerIdentityRule => ({ transport: 'streamable_http', url: m });
const re = (expression: string): StringMatcher => ({
  match: 'regex',
  expression,
  regex: compileRustRegex(expression),
});
const PIN = 'a'.repeat(64);
const facts = (sha256: string): ExecutableFacts => ({
  resolved: true,
  path: '/usr/bin/npx',
  sha256,
});

type Row = [
  string,
  McpTransport,
  ServerIdentityRule,
  MatchMode,
  ExecutableFacts | undefined,
  string,
];

/** Expected outcome: 'match' or the mismatch code. Codex rows are from the codex-compat reference. */
const ROWS: Row[] = [
  [
    'exact command allows any args',
    stdio('npx', ['-y', 'anything']),
    exact('npx'),
    'gatehouse',
    undefined,
    'match',
  ],
  [
    'exact command: /usr/bin/npx is not npx',
    stdio('/usr/bin/npx'),
    exact('npx'),
    'gatehouse',
    undefined,
    'identity_mismatch',
  ],
  [
    'command rule vs HTTP server',
    http('http://127.0.0.1:8765/mcp'),
    exact('npx'),
    'gatehouse',
    undefined,
    'transport_mismatch',
  ],
  [
    'URL rule vs a stdio command that looks like a URL',
    stdio('http://127.0.0.1:8765/mcp'),
    url({ match: 'exact', value: 'http://127.0.0.1:8765/mcp' }),
    'gatehouse',
    undefined,
    'transport_mismatch',
  ],
  [
    'exact URL',
    http('https://mcp.linear.app/mcp'),
    url({ match: 'exact', value: 'https://mcp.linear.app/mcp' }),
    'gatehouse',
    undefined,
    'match',
  ],
  [
    'exact URL: trailing slash matters',
    http('https://mcp.linear.app/mcp/'),
    url({ match: 'exact', value: 'https://mcp.linear.app/mcp' }),
    'gatehouse',
    undefined,
    'identity_mismatch',
  ],
  [
    'matcher: equal arg count, positional',
    stdio('npx', ['-y', '@modelcontextprotocol/server-everything']),
    matcher('npx', [{ match: 'exact', value: '-y' }, re('@modelcontextprotocol/.*')]),
    'gatehouse',
    undefined,
    'match',
  ],
  [
    'matcher: one extra arg',
    stdio('npx', ['-y', '@modelcontextprotocol/x', '--extra']),
    matcher('npx', [{ match: 'exact', value: '-y' }, re('@modelcontextprotocol/.*')]),
    'gatehouse',
    undefined,
    'identity_mismatch',
  ],
  [
    'matcher: one arg too few',
    stdio('npx', ['-y']),
    matcher('npx', [{ match: 'exact', value: '-y' }, re('.*')]),
    'gatehouse',
    undefined,
    'identity_mismatch',
  ],
  [
    'matcher: anchored regex rejects',
    stdio('npx', ['-y', 'evil-package']),
    matcher('npx', [{ match: 'exact', value: '-y' }, re('@modelcontextprotocol/.*')]),
    'gatehouse',
    undefined,
    'identity_mismatch',
  ],
  [
    'matcher: arg prefix is a raw string prefix',
    stdio('npx', ['@modelcontextprotocol/server-memory']),
    matcher('npx', [{ match: 'prefix', value: '@modelcontextprotocol/' }]),
    'gatehouse',
    undefined,
    'match',
  ],
  [
    'matcher: executable compared exactly',
    stdio('/usr/bin/npx', []),
    matcher('npx', []),
    'gatehouse',
    undefined,
    'identity_mismatch',
  ],
  [
    'URL regex',
    http('https://mcp.linear.app/mcp'),
    url(re('https://mcp\\.linear\\.app/.*')),
    'gatehouse',
    undefined,
    'match',
  ],
  [
    'prefix: same host, deeper path',
    http('https://mcp.linear.app/mcp'),
    url({ match: 'prefix', value: 'https://mcp.linear.app' }),
    'gatehouse',
    undefined,
    'match',
  ],
  [
    'prefix: host suffix trap (Gatehouse)',
    http('https://mcp.linear.app.evil.com/mcp'),
    url({ match: 'prefix', value: 'https://mcp.linear.app' }),
    'gatehouse',
    undefined,
    'identity_mismatch',
  ],
  [
    'prefix: host suffix trap (Codex mode allows it)',
    http('https://mcp.linear.app.evil.com/mcp'),
    url({ match: 'prefix', value: 'https://mcp.linear.app' }),
    'codex',
    undefined,
    'match',
  ],
  [
    'prefix: userinfo trap',
    http('https://mcp.linear.app@evil.com/'),
    url({ match: 'prefix', value: 'https://mcp.linear.app' }),
    'gatehouse',
    undefined,
    'identity_mismatch',
  ],
  [
    'prefix: port trap',
    http('https://mcp.linear.app:8443/mcp'),
    url({ match: 'prefix', value: 'https://mcp.linear.app' }),
    'gatehouse',
    undefined,
    'identity_mismatch',
  ],
  [
    'prefix: path segment boundary',
    http('https://h.example/mcpx'),
    url({ match: 'prefix', value: 'https://h.example/mcp' }),
    'gatehouse',
    undefined,
    'identity_mismatch',
  ],
  [
    'prefix: path below',
    http('https://h.example/mcp/v2'),
    url({ match: 'prefix', value: 'https://h.example/mcp' }),
    'gatehouse',
    undefined,
    'match',
  ],
  [
    'prefix: dot segments are resolved first',
    http('https://h.example/mcp/../admin'),
    url({ match: 'prefix', value: 'https://h.example/mcp' }),
    'gatehouse',
    undefined,
    'identity_mismatch',
  ],
  ['pin: matching hash', stdio('npx'), exact('npx', PIN), 'gatehouse', facts(PIN), 'match'],
  [
    'pin: binary changed',
    stdio('npx'),
    exact('npx', PIN),
    'gatehouse',
    facts('b'.repeat(64)),
    'pin_mismatch',
  ],
  [
    'pin: executable not found',
    stdio('npx'),
    exact('npx', PIN),
    'gatehouse',
    { resolved: false, error: 'not found' },
    'pin_mismatch',
  ],
  [
    'pin: not checked fails closed',
    stdio('npx'),
    exact('npx', PIN),
    'gatehouse',
    undefined,
    'pin_mismatch',
  ],
  [
    'pin: Codex mode ignores it',
    stdio('npx'),
    exact('npx', PIN),
    'codex',
    facts('b'.repeat(64)),
    'match',
  ],
];

describe('matchServerIdentity', () => {
  test.each(ROWS)('%s', (_name, transport, rule, mode, executable, expected) => {
    const verdict = matchServerIdentity(transport, rule, mode, executable);
    expect(verdict.matched ? 'match' : verdict.code).toBe(expected);
  });

  test('mismatch details never echo URL credentials', () => {
    const verdict = matchServerIdentity(
      http('https://u:s3cr3t-pw@evil.example/mcp'),
      url({ match: 'exact', value: 'https://x.example/mcp' }),
      'gatehouse',
    );
    expect(verdict.matched).toBe(false);
    expect(JSON.stringify(verdict)).not.toContain('s3cr3t-pw');
  });
});
