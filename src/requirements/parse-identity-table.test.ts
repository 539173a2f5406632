import { describe, expect, test } from 'vitest';
import { parseLayer } from '../../test/support/requirements-layer.js';
import { composeRequirementLayers } from './load-requirements.js';
import type { RequirementSource } from './model.js';
import { NO_REQUIREMENTS } from './model.js';
import { secureUrlProblem } from './parse-identity-table.js';
import { tightenRequirements } from './tighten-requirements.js';

const SYSTEM: RequirementSource = { kind: 'system_file', path: '/etc/gatehouse/requirements.toml' };
const USER: RequirementSource = { kind: 'flag_file', path: '/home/u/r.toml' };

describe('[gatehouse_identity]', () => {
  test('every key, as docs/requirements.md shows them', () => {
    const { layer, diagnostics } = parseLayer(`[gatehouse_identity]
issuer = "https://login.example.com"
resource = "https://gatehouse.example.com/mcp"
jwks_url = "https://login.example.com/keys"
algorithms = ["RS256", "ES256"]
jwks_cooldown_seconds = 10
required_scopes = ["mcp:tools"]
clock_skew_seconds = 60
groups_claim = "roles"
introspection_endpoint = "https://login.example.com/introspect"
introspection_client_id = "gatehouse"
introspection_client_secret_env = "GATEHOUSE_INTROSPECTION_SECRET"
introspection_cache_seconds = 10
service_tokens = "/etc/gatehouse/service-tokens.json"
`);
    expect(diagnostics).toEqual([]);
    expect(composeRequirementLayers([layer]).identity).toEqual({
      issuer: 'https://login.example.com',
      resource: 'https://gatehouse.example.com/mcp',
      jwksUrl: 'https://login.example.com/keys',
      algorithms: ['RS256', 'ES256'],
      jwksCooldownSeconds: 10,
      requiredScopes: ['mcp:tools'],
      clockSkewSeconds: 60,
      groupsClaim: 'roles',
      introspection: {
        endpoint: 'https://login.example.com/introspect',
        clientId: 'gatehouse',
        clientSecretEnv: 'GATEHOUSE_INTROSPECTION_SECRET',
      },
      introspectionCacheSeconds: 10,
      serviceTokens: '/etc/gatehouse/service-tokens.json',
      sources: [{ kind: 'flag_file', path: '/r.toml' }],
    });
  });

  test.each([
    ['issuer = "http://idp.example.com"', 'gatehouse_identity.issuer', /https/],
    ['algorithms = ["HS256"]', 'gatehouse_identity.algorithms', /HS256.*asymmetric/],
    ['algorithms = ["none"]', 'gatehouse_identity.algorithms', /none/],
    ['algorithms = []', 'gatehouse_identity.algorithms', /refuse every token/],
    ['clock_skew_seconds = 3600', 'gatehouse_identity.clock_skew_seconds', /0 to 300/],
    [
      'introspection_cache_seconds = 301',
      'gatehouse_identity.introspection_cache_seconds',
      /0 to 300/,
    ],
    ['required_scopes = ["a b"]', 'gatehouse_identity.required_scopes', /scopes/],
    ['service_tokens = "tokens.json"', 'gatehouse_identity.service_tokens', /absolute/],
    [
      'introspection_client_secret_env = "s3cr3t value"',
      'gatehouse_identity.introspection_client_secret_env',
      /environment variable/,
    ],
    ['introspection_endpoint = "https://i.example/x"', 'gatehouse_identity', /needs all of/],
    ['resource = "https://user:pw@gw.example/mcp"', 'gatehouse_identity.resource', /credentials/],
  ])('%s → an error at %s (the layer fails closed)', (line, key, message) => {
    const { diagnostics } = parseLayer(`[gatehouse_identity]\n${line}\n`);
    const errors = diagnostics.filter((d) => d.severity === 'error');
    expect(errors.length, JSON.stringify(diagnostics)).toBeGreaterThan(0);
    expect(JSON.stringify(errors)).toContain(key);
    expect(errors.map((e) => e.message).join(' ')).toMatch(message);
  });

  test('an unknown key is a warning with a suggestion', () => {
    const { diagnostics } = parseLayer('[gatehouse_identity]\nisuer = "https://x.example"\n');
    expect(diagnostics[0]).toMatchObject({ severity: 'warning' });
    expect(diagnostics[0]?.hint).toContain('issuer');
  });

  test('a user layer over an admin floor cannot change who vouches for callers', () => {
    const admin = parseLayer(
      '[gatehouse_identity]\nissuer = "https://login.example.com"\nrequired_scopes = ["mcp:tools"]\n',
      SYSTEM,
    ).layer;
    const user = parseLayer(
      '[gatehouse_identity]\nissuer = "https://evil.example"\nrequired_scopes = []\n',
      USER,
    ).layer;
    const base = composeRequirementLayers([admin]);
    const out = tightenRequirements(base, user);
    expect(out.requirements.identity.issuer).toBe('https://login.example.com');
    expect(out.requirements.identity.requiredScopes).toEqual(['mcp:tools']);
    expect(out.ignored.join('\n')).toContain('[gatehouse_identity]');
    // composed together (e.g. a system file exists): only the admin's layers count
    expect(composeRequirementLayers([admin, user]).identity.issuer).toBe(
      'https://login.example.com',
    );
  });

  test('without an admin layer, the user is their own admin; absent: nothing configured', () => {
    const user = parseLayer('[gatehouse_identity]\nservice_tokens = "/tmp/t.json"\n', USER).layer;
    expect(composeRequirementLayers([user]).identity.serviceTokens).toBe('/tmp/t.json');
    expect(NO_REQUIREMENTS.identity.issuer).toBeNull();
  });

  test.each([
    ['https://idp.example.com', null],
    ['http://127.0.0.1:8080', null],
    ['http://[::1]:8080/x', null],
    ['http://localhost/x', null],
    ['http://10.0.0.1/x', /https/],
    ['ftp://idp.example.com', /https/],
    ['not a url', /expected a URL/],
    ['https://idp.example.com/#frag', /fragment/],
  ])('secureUrlProblem(%s)', (url, problem) => {
    const out = secureUrlProblem(url);
    if (problem === null) expect(out).toBeNull();
    else expect(out).toMatch(problem);
  });
});
