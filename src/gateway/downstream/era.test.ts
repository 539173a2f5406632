import { describe, expect, test } from 'vitest';
import { envelopeOf, logLevelAdmits, modernHeaderProblem, openingEra } from './era.js';

const V = 'io.modelcontextprotocol/protocolVersion';
const CAPS = 'io.modelcontextprotocol/clientCapabilities';
const INFO = 'io.modelcontextprotocol/clientInfo';
const envelope = {
  [V]: '2026-07-28',
  [CAPS]: { elicitation: {} },
  [INFO]: { name: 'c', version: '1' },
};
const modern = (method: string, params: Record<string, unknown> = {}) => ({
  jsonrpc: '2.0',
  id: 1,
  method,
  params: { ...params, _meta: envelope },
});

describe('the era a stdio connection opens in', () => {
  test.each([
    [
      'initialize (the 2025 handshake)',
      { jsonrpc: '2.0', id: 1, method: 'initialize', params: {} },
      'legacy',
    ],
    ['server/discover with the envelope', modern('server/discover'), 'modern'],
    ['server/discover without it', { jsonrpc: '2.0', id: 1, method: 'server/discover' }, 'modern'],
    [
      'tools/list with the envelope (a pinned client skips discover)',
      modern('tools/list'),
      'modern',
    ],
    ['initialize with an envelope claim', modern('initialize'), 'modern'],
    ['tools/list without an envelope', { jsonrpc: '2.0', id: 1, method: 'tools/list' }, 'legacy'],
    ['a notification', { jsonrpc: '2.0', method: 'notifications/initialized' }, 'legacy'],
  ])('%s → %s', (_name, message, era) => {
    expect(openingEra(message)).toBe(era);
  });

  test('the envelope gives the upstream the client’s capabilities and name', () => {
    expect(envelopeOf(modern('tools/list'))).toEqual({
      protocolVersion: '2026-07-28',
      clientCapabilities: { elicitation: {} },
      clientInfo: { name: 'c', version: '1' },
      logLevel: null,
    });
    expect(envelopeOf({ params: { _meta: { other: 1 } } })).toBeNull();
  });
});

describe('a modern request’s standard headers against its body', () => {
  const call = modern('tools/call', { name: 'echo', arguments: {} });
  const ok = { protocolVersion: '2026-07-28', method: 'tools/call', name: 'echo' };
  test.each([
    ['all present and equal', ok, call, null],
    ['Mcp-Name as base64', { ...ok, name: '=?base64?ZWNobw==?=' }, call, null],
    [
      'Mcp-Method differs',
      { ...ok, method: 'tools/list' },
      call,
      'Mcp-Method header names tools/list',
    ],
    ['Mcp-Name differs', { ...ok, name: 'delete' }, call, 'Mcp-Name header names "delete"'],
    ['Mcp-Name bad base64', { ...ok, name: '=?base64?***?=' }, call, 'invalid Base64'],
    [
      'Mcp-Method missing',
      { protocolVersion: '2026-07-28', name: 'echo' },
      call,
      'Mcp-Method header is absent',
    ],
    [
      'Mcp-Name missing',
      { protocolVersion: '2026-07-28', method: 'tools/call' },
      call,
      'Mcp-Name header is absent',
    ],
    [
      'version header missing',
      { method: 'tools/call', name: 'echo' },
      call,
      'MCP-Protocol-Version header is absent',
    ],
    [
      'version header differs',
      { ...ok, protocolVersion: '2025-11-25' },
      call,
      'MCP-Protocol-Version header names 2025-11-25',
    ],
    [
      'tools/list needs no Mcp-Name',
      { protocolVersion: '2026-07-28', method: 'tools/list' },
      modern('tools/list'),
      null,
    ],
    [
      'resources/read mirrors the uri',
      { protocolVersion: '2026-07-28', method: 'resources/read', name: 'file:///a' },
      modern('resources/read', { uri: 'file:///b' }),
      'params.uri="file:///b"',
    ],
  ])('%s', (_name, headers, body, problem) => {
    const found = modernHeaderProblem(headers, body);
    if (problem === null) expect(found).toBeNull();
    else {
      expect(found?.code).toBe(-32020);
      expect(found?.message).toContain(problem);
    }
  });

  test('a notification only has its Mcp-Method checked', () => {
    const n = { method: 'notifications/cancelled', params: { _meta: envelope } };
    expect(modernHeaderProblem({}, n)).toBeNull();
    expect(modernHeaderProblem({ method: 'tools/call' }, n)?.code).toBe(-32020);
  });
});

describe('a modern request’s log level', () => {
  test.each([
    [null, 'debug', true],
    ['warning', 'info', false],
    ['warning', 'error', true],
    ['warning', 'warning', true],
    ['nonsense', 'debug', true],
  ])('asked %s, a %s log passes: %s', (wanted, level, passes) => {
    expect(logLevelAdmits(wanted, level)).toBe(passes);
  });
});
