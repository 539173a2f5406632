import { expect, test } from 'vitest';
import { suggestKey } from './suggest.js';

const KEYS = [
  'env',
  'env_vars',
  'mcp_servers',
  'plugins',
  'allowed_sandbox_modes',
  'identity',
  'command',
  'url',
];

test.each([
  ['env_var', 'env_vars'],
  ['mcp_server', 'mcp_servers'],
  ['mcp_servres', 'mcp_servers'],
  ['MCP_SERVERS', 'mcp_servers'],
  ['plugin', 'plugins'],
  ['identiy', 'identity'],
  ['comand', 'command'],
  ['allowed_sandbox_mode', 'allowed_sandbox_modes'],
  ['totally_unrelated', undefined],
  ['x', undefined],
])('%s → %s', (typo, expected) => {
  expect(suggestKey(typo, KEYS)).toBe(expected);
});
