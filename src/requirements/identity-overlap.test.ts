import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { http, stdio } from '../../test/support/fixtures.js';
import { parseLayer } from '../../test/support/requirements-layer.js';
import {
  identitiesOverlap,
  identityAliases,
  overlappingIdentityRules,
} from './identity-overlap.js';
import { composeRequirementLayers } from './load-requirements.js';
import { matchServerIdentity } from './match-server-identity.js';
import type { ServerIdentityRule, StringMatcher } from './model.js';
import { compileRustRegex } from './rust-regex.js';

const requirements = (text: string) => composeRequirementLayers([parseLayer(text).layer]);

const TWO_BY_COMMAND = `
[mcp_servers.payments.identity]
command = "node"
[mcp_servers.sandbox.identity]
command = "node"
[mcp_servers.docs.identity]
url = "https://docs.example.com/mcp"
`;

describe('identityAliases', () => {
  test.each<[string, string, ReturnType<typeof stdio> | ReturnType<typeof http>, string[]]>([
    [
      'same command: each name stands for the other',
      'sandbox',
      stdio('node', ['x.mjs']),
      ['payments'],
    ],
    ['the own name is never an alias', 'payments', stdio('node'), ['sandbox']],
    ['another command matches nothing', 'sandbox', stdio('python3'), []],
    ['a URL server matches the URL rule', 'mine', http('https://docs.example.com/mcp'), ['docs']],
  ])('%s', (_name, own, transport, aliases) => {
    expect(identityAliases(own, transport, requirements(TWO_BY_COMMAND))).toEqual(aliases);
  });

  test('a sha256 pin does not separate names (the stricter reading)', () => {
    const r = requirements(`
[mcp_servers.payments.identity]
command = "node"
sha256 = "${'a'.repeat(64)}"
[mcp_servers.sandbox.identity]
command = "node"
`);
    expect(identityAliases('sandbox', stdio('node'), r)).toEqual(['payments']);
  });

  test('args matchers keep distinct servers apart', () => {
    const r = requirements(`
[mcp_servers.payments.identity.command]
executable = "npx"
args = [{ match = "exact", value = "-y" }, { match = "exact", value = "@acme/payments-mcp" }]
[mcp_servers.sandbox.identity.command]
executable = "npx"
args = [{ match = "exact", value = "-y" }, { match = "exact", value = "@acme/sandbox-mcp" }]
`);
    expect(identityAliases('sandbox', stdio('npx', ['-y', '@acme/sandbox-mcp']), r)).toEqual([]);
    expect(identityAliases('sandbox', stdio('npx', ['-y', '@acme/payments-mcp']), r)).toEqual([
      'payments',
    ]);
  });

  test('plugin-scoped rules count too (tool rules are keyed by name across scopes)', () => {
    const r = requirements(`
[mcp_servers.sandbox.identity]
command = "node"
[plugins."acme@market".mcp_servers.billing.identity]
command = "node"
`);
    expect(identityAliases('sandbox', stdio('node'), r)).toEqual(['billing']);
  });
});

const exact = (value: string): StringMatcher => ({ match: 'exact', value });
const prefix = (value: string): StringMatcher => ({ match: 'prefix', value });
const re = (expression: string): StringMatcher => ({
  match: 'regex',
  expression,
  regex: compileRustRegex(expression),
});
const cmd = (executable: string, args: StringMatcher[]): ServerIdentityRule => ({
  transport: 'stdio',
  form: 'matcher',
  executable,
  args,
  sha256: null,
});
const url = (m: StringMatcher): ServerIdentityRule => ({ transport: 'streamable_http', url: m });

describe('identitiesOverlap', () => {
  test.each<[string, ServerIdentityRule, ServerIdentityRule, boolean | 'maybe']>([
    [
      'exact command vs any args',
      { transport: 'stdio', form: 'exact', command: 'npx', sha256: null },
      cmd('npx', [exact('a')]),
      true,
    ],
    ['different commands', cmd('npx', []), cmd('uvx', []), false],
    ['different arg counts', cmd('npx', [exact('a')]), cmd('npx', []), false],
    ['exact args differ', cmd('npx', [exact('a')]), cmd('npx', [exact('b')]), false],
    [
      'prefix admits the exact arg',
      cmd('npx', [prefix('@acme/')]),
      cmd('npx', [exact('@acme/pay')]),
      true,
    ],
    [
      'two arg prefixes, one extends the other',
      cmd('npx', [prefix('@a')]),
      cmd('npx', [prefix('@acme')]),
      true,
    ],
    ['two disjoint arg prefixes', cmd('npx', [prefix('@a')]), cmd('npx', [prefix('@b')]), false],
    [
      'regex admits the exact arg',
      cmd('npx', [re('@acme/.*')]),
      cmd('npx', [exact('@acme/pay')]),
      true,
    ],
    [
      'regex rejects the exact arg',
      cmd('npx', [re('@acme/.*')]),
      cmd('npx', [exact('@other/x')]),
      false,
    ],
    [
      'regex vs prefix: cannot be ruled out',
      cmd('npx', [re('x.*')]),
      cmd('npx', [prefix('y')]),
      'maybe',
    ],
    [
      'URL prefix admits a URL below it',
      url(prefix('https://a.example.com')),
      url(exact('https://a.example.com/mcp')),
      true,
    ],
    [
      'URL prefix vs another host',
      url(prefix('https://a.example.com')),
      url(prefix('https://b.example.com')),
      false,
    ],
    ['stdio vs URL', cmd('npx', []), url(exact('https://a.example.com')), false],
  ])('%s', (_name, a, b, expected) => {
    const r = identitiesOverlap(a, b);
    const got = !r.overlap ? false : r.certain ? true : 'maybe';
    expect(got).toBe(expected);
    const back = identitiesOverlap(b, a);
    expect(!back.overlap ? false : back.certain ? true : 'maybe').toBe(expected);
  });

  test('property: a server both rules admit means the rules overlap', () => {
    const arg = fc.string({ unit: fc.constantFrom('a', 'b', '-', '@'), maxLength: 4 });
    const m = fc.oneof(arg.map(exact), arg.map(prefix));
    fc.assert(
      fc.property(
        fc.array(m, { maxLength: 3 }),
        fc.array(m, { maxLength: 3 }),
        fc.array(arg, { maxLength: 3 }),
        (a, b, args) => {
          const ra = cmd('npx', a);
          const rb = cmd('npx', b);
          const server = stdio('npx', args);
          const both =
            matchServerIdentity(server, ra, 'gatehouse').matched &&
            matchServerIdentity(server, rb, 'gatehouse').matched;
          if (both) expect(identitiesOverlap(ra, rb).overlap).toBe(true);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('overlappingIdentityRules', () => {
  test('names each pair once, with why', () => {
    const found = overlappingIdentityRules(requirements(TWO_BY_COMMAND));
    expect(found).toHaveLength(1);
    expect(found[0]?.why).toContain("'payments'");
    expect(found[0]?.why).toContain("'sandbox'");
    expect(found[0]?.certain).toBe(true);
  });
});
