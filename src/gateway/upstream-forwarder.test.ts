import { describe, expect, test } from 'vitest';
import type { ConnectionInfo } from '../pipeline/context.js';
import { withCallerEnvelope } from './upstream-forwarder.js';

const CAPS = 'io.modelcontextprotocol/clientCapabilities';
const INFO = 'io.modelcontextprotocol/clientInfo';

const connection = (over: Partial<ConnectionInfo>): ConnectionInfo => ({
  transport: 'http',
  headers: {},
  authSubject: null,
  clientInfo: { name: 'this-request', version: '2' },
  ...over,
});

describe('withCallerEnvelope: a modern request carries its own envelope claims upstream', () => {
  test('modern: this request’s capabilities and clientInfo, next to the other _meta keys', () => {
    const params = { name: 't', _meta: { progressToken: 7, [CAPS]: { stale: {} } } };
    const sent = withCallerEnvelope(
      params,
      connection({ era: 'modern', clientCapabilities: { sampling: {} } }),
    );
    expect(sent).toEqual({
      name: 't',
      _meta: {
        progressToken: 7,
        [CAPS]: { sampling: {} },
        [INFO]: { name: 'this-request', version: '2' },
      },
    });
    expect(params._meta[CAPS]).toEqual({ stale: {} }); // the client's params are not changed
  });

  test('modern with no clientInfo: the capabilities only (the upstream connection’s name stands)', () => {
    const sent = withCallerEnvelope(
      undefined,
      connection({ era: 'modern', clientCapabilities: {}, clientInfo: null }),
    );
    expect(sent).toEqual({ _meta: { [CAPS]: {} } });
  });

  test('legacy client: params as they were (its capabilities are fixed at initialize)', () => {
    const params = { name: 't' };
    expect(withCallerEnvelope(params, connection({ era: 'legacy' }))).toBe(params);
    expect(withCallerEnvelope(params, connection({}))).toBe(params);
  });
});
