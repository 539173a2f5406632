import { describe, expect, test } from 'vitest';
import { parseLayer } from '../../test/support/requirements-layer.js';
import { resolveHttpSettings } from '../gateway/downstream/http-settings.js';
import { composeRequirementLayers } from './load-requirements.js';
import { tightenRequirements } from './tighten-requirements.js';

const ADMIN = { kind: 'system_file', path: '/etc/gatehouse/requirements.toml' } as const;
const USER = { kind: 'env', name: 'GATEHOUSE_REQUIREMENTS_TOML_BASE64' } as const;

describe('[gatehouse_http]', () => {
  test('parses every key; relative TLS paths are relative to the file', () => {
    const { layer, diagnostics } = parseLayer(
      `[gatehouse_http]
allowed_hosts = ["GW.example.com", "gw.example.com:8443", "[::1]:80"]
allowed_origins = ["https://app.example.com"]
trusted_proxies = ["10.0.0.0/8", "::1"]
tls_cert = "tls/cert.pem"
tls_key = "/abs/key.pem"
idle_session_seconds = 120
max_sessions_per_user = 4
max_processes_per_user = 16
drain_seconds = 5
`,
      { kind: 'flag_file', path: '/srv/gh/r.toml' },
    );
    expect(diagnostics).toEqual([]);
    expect(layer.http).toEqual({
      allowed_hosts: ['gw.example.com', 'gw.example.com:8443', '[::1]:80'],
      allowed_origins: ['https://app.example.com'],
      trusted_proxies: ['10.0.0.0/8', '::1'],
      tls_cert: '/srv/gh/tls/cert.pem',
      tls_key: '/abs/key.pem',
      idle_session_seconds: 120,
      max_sessions_per_user: 4,
      max_processes_per_user: 16,
      drain_seconds: 5,
    });
  });

  test.each([
    ['allowed_hosts = ["*.example.com"]', 'gatehouse_http.allowed_hosts', 'not an exact host name'],
    ['allowed_hosts = "gw"', 'gatehouse_http.allowed_hosts', 'expected an array of strings'],
    [
      'allowed_origins = ["https://a.example/path"]',
      'gatehouse_http.allowed_origins',
      'not an exact origin',
    ],
    ['trusted_proxies = ["10.0.0.0/99"]', 'gatehouse_http.trusted_proxies', 'prefix length'],
    ['max_sessions_per_user = 0', 'gatehouse_http.max_sessions_per_user', 'whole number > 0'],
    ['tls_cert = "/c.pem"', 'gatehouse_http', 'tls_cert and tls_key go together'],
    [
      'idle_sesion_seconds = 5',
      'gatehouse_http.idle_sesion_seconds',
      'did you mean `idle_session_seconds`',
    ],
  ])('%s → a diagnostic at %s', (line, key, message) => {
    const { diagnostics } = parseLayer(`[gatehouse_http]\n${line}\n`);
    const d = diagnostics.find((x) => x.key === key);
    expect(d).toBeDefined();
    expect(`${d?.message} ${d?.hint ?? ''}`).toContain(message);
  });

  test('a user layer over the admin: lists only narrow, TLS files stay, limits only go down', () => {
    const admin = composeRequirementLayers([
      parseLayer(
        '[gatehouse_http]\nallowed_hosts = ["gw.example.com"]\ntrusted_proxies = ["10.0.0.0/8"]\ntls_cert = "/etc/c.pem"\ntls_key = "/etc/k.pem"\nmax_sessions_per_user = 4\n',
        ADMIN,
      ).layer,
    ]);
    const { requirements, ignored } = tightenRequirements(
      admin,
      parseLayer(
        '[gatehouse_http]\nallowed_hosts = ["gw.example.com", "evil.example"]\ntrusted_proxies = ["0.0.0.0/0"]\ntls_cert = "/tmp/c.pem"\ntls_key = "/tmp/k.pem"\nmax_sessions_per_user = 100\nidle_session_seconds = 60\n',
        USER,
      ).layer,
    );
    expect(requirements.http.allowed_hosts?.value).toEqual(['gw.example.com']);
    expect(requirements.http.trusted_proxies?.value).toEqual([]);
    expect(requirements.http.tls_cert?.value).toBe('/etc/c.pem');
    expect(requirements.http.max_sessions_per_user?.value).toBe(4);
    expect(requirements.http.idle_session_seconds?.value).toBe(60);
    expect(ignored.join('\n')).toContain('gatehouse_http.allowed_hosts evil.example');
    expect(ignored.join('\n')).toContain('gatehouse_http.trusted_proxies 0.0.0.0/0');
    expect(ignored.join('\n')).toContain("gatehouse_http.tls_cert: the admin's TLS files stay");
    expect(ignored.join('\n')).toContain('gatehouse_http.max_sessions_per_user: only a value ≤ 4');
  });

  test('flags under requirements: narrower lists and smaller numbers apply; wider ones are errors', () => {
    const req = composeRequirementLayers([
      parseLayer(
        '[gatehouse_http]\nallowed_hosts = ["gw.example.com", "gw2.example.com"]\ntls_cert = "/etc/c.pem"\ntls_key = "/etc/k.pem"\nmax_sessions_per_user = 4\n',
        ADMIN,
      ).layer,
    ]).http;
    const ok = resolveHttpSettings(
      { allowedHost: ['GW.example.com'], maxSessionsPerUser: '9', idleSessionSeconds: '30' },
      req,
      '/cwd',
    );
    expect(ok).toMatchObject({
      settings: {
        allowedHosts: ['gw.example.com'],
        tls: { cert: '/etc/c.pem', key: '/etc/k.pem' },
        maxSessionsPerUser: 4,
        idleSessionSeconds: 30,
        maxProcessesPerUser: 100,
      },
    });
    expect(resolveHttpSettings({ allowedHost: ['evil.example'] }, req, '/cwd')).toEqual({
      error: `--allowed-host evil.example: not in [gatehouse_http] allowed_hosts (${ADMIN.path}), which only an admin can widen`,
    });
    expect(resolveHttpSettings({ tlsCert: 'c.pem', tlsKey: 'k.pem' }, req, '/cwd')).toMatchObject({
      error: expect.stringContaining('fix the TLS files'),
    });
    expect(resolveHttpSettings({ tlsCert: 'c.pem' }, {}, '/cwd')).toMatchObject({
      error: expect.stringContaining('go together'),
    });
    expect(resolveHttpSettings({ drainSeconds: 'soon' }, {}, '/cwd')).toEqual({
      error: '--drain-seconds soon: expected a whole number > 0',
    });
    expect(resolveHttpSettings({ tlsCert: 'c.pem', tlsKey: 'k.pem' }, {}, '/cwd')).toMatchObject({
      settings: { tls: { cert: '/cwd/c.pem', key: '/cwd/k.pem' } },
    });
  });
});
