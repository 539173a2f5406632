import { describe, expect, test } from 'vitest';
import { checkHttpRequest, policyFor } from './http-checks.js';

describe('checkHttpRequest', () => {
  const open = policyFor('127.0.0.1', 8080, null);
  const locked = policyFor('127.0.0.1', 8080, 's3cret-token');
  test.each([
    ['loopback Host', open, { host: '127.0.0.1:8080' }, 'ok'],
    ['localhost Host', open, { host: 'localhost:8080' }, 'ok'],
    ['rebinding: foreign Host', open, { host: 'evil.example:8080' }, 403],
    ['wrong port', open, { host: '127.0.0.1:9090' }, 403],
    ['no Host', open, {}, 403],
    [
      'browser from a foreign Origin',
      open,
      { host: '127.0.0.1:8080', origin: 'https://evil.example' },
      403,
    ],
    [
      'browser from our Origin',
      open,
      { host: '127.0.0.1:8080', origin: 'http://localhost:8080' },
      'ok',
    ],
    ['token required, none given', locked, { host: '127.0.0.1:8080' }, 401],
    [
      'token required, wrong one',
      locked,
      { host: '127.0.0.1:8080', authorization: 'Bearer nope' },
      401,
    ],
    [
      'token required, right one',
      locked,
      { host: '127.0.0.1:8080', authorization: 'Bearer s3cret-token' },
      'ok',
    ],
    [
      'token right, Host wrong: Host is checked first',
      locked,
      { host: 'evil:8080', authorization: 'Bearer s3cret-token' },
      403,
    ],
  ])('%s', (_name, policy, headers, expected) => {
    const r = checkHttpRequest(headers, policy);
    expect(r.ok ? 'ok' : r.status).toBe(expected);
    if (!r.ok) expect(r.message).not.toContain('s3cret-token');
  });
});

describe('configured names and origins', () => {
  const named = policyFor('0.0.0.0', 8443, 'tok', {
    allowedHosts: ['GW.example.com', 'other.example:9000'],
    allowedOrigins: ['https://app.example.com'],
    proto: 'https',
  });
  const auth = { authorization: 'Bearer tok' };
  test.each([
    ['a name without port matches any port', { host: 'gw.example.com:8443' }, 'ok'],
    ['and no port (behind a proxy on 443)', { host: 'gw.example.com' }, 'ok'],
    ['a name with port matches only that port', { host: 'other.example:9001' }, 403],
    ['the machine name nobody listed', { host: 'buildhost:8443' }, 403],
    ['a listed origin', { host: 'gw.example.com', origin: 'https://app.example.com' }, 'ok'],
    [
      'the gateway itself as the page',
      { host: 'gw.example.com', origin: 'https://gw.example.com' },
      'ok',
    ],
    ['its name over plain http', { host: 'gw.example.com', origin: 'http://gw.example.com' }, 403],
    ['a suffix trick', { host: 'gw.example.com.evil.test' }, 403],
  ])('%s', (_name, headers, expected) => {
    const r = checkHttpRequest({ ...headers, ...auth }, named);
    expect(r.ok ? 'ok' : r.status).toBe(expected);
  });

  test('a refused Host says which setting to change', () => {
    const r = checkHttpRequest({ host: 'buildhost:8443' }, named);
    expect(r.ok ? '' : r.message).toContain(
      'add the name with --allowed-host or [gatehouse_http] allowed_hosts',
    );
  });
});
