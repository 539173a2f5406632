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
