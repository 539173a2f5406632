import { describe, expect, test } from 'vitest';
import type { StdioTransport } from '../config/mcp-server.js';
import { serverWithDefaults } from '../config/mcp-server.js';
import { approvalBinding } from '../pipeline/stages/approval.js';
import { bindingIdentity } from './binding-identity.js';

const KEY = Buffer.alloc(32, 7);
const stdio = (over: Partial<StdioTransport> = {}): StdioTransport => ({
  type: 'stdio',
  command: 'npx',
  args: ['-y', 'payments-mcp', '--token', 'sk-live-aaaa'],
  env: { API_KEY: 'secret-1' },
  envVars: [],
  cwd: null,
  ...over,
});
const id = (name: string, t: StdioTransport, env: NodeJS.ProcessEnv = {}) =>
  bindingIdentity(serverWithDefaults(name, t, []), env);
const binding = (over: Partial<Parameters<typeof approvalBinding>[1]> = {}) =>
  approvalBinding(KEY, {
    requester: 'os:alice',
    serverName: 'prod',
    serverIdentity: id('prod', stdio()),
    tool: 'refund',
    args: { amount: 10 },
    policyRevision: 'pol-1',
    level: 'two_person',
    ...over,
  });

describe('approval binding', () => {
  test('covers the server name: the same process under another name is another call', () => {
    expect(binding()).not.toBe(
      binding({ serverName: 'sandbox', serverIdentity: id('sandbox', stdio()) }),
    );
  });

  test('covers the level: a pending request is never shared across levels', () => {
    expect(binding()).not.toBe(binding({ level: 'always' }));
    expect(binding({ level: 'prompt' })).not.toBe(binding({ level: 'always' }));
  });

  test('servers differing only in a secret (env value, a masked arg, a forwarded env var) differ', () => {
    const base = binding();
    expect(
      binding({ serverIdentity: id('prod', stdio({ env: { API_KEY: 'secret-2' } })) }),
    ).not.toBe(base);
    expect(
      binding({
        serverIdentity: id(
          'prod',
          stdio({ args: ['-y', 'payments-mcp', '--token', 'sk-live-bbbb'] }),
        ),
      }),
    ).not.toBe(base);
    const fwd = stdio({ envVars: ['PAY_TOKEN'] });
    expect(binding({ serverIdentity: id('prod', fwd, { PAY_TOKEN: 'a' }) })).not.toBe(
      binding({ serverIdentity: id('prod', fwd, { PAY_TOKEN: 'b' }) }),
    );
    // …and the same server, the same call, binds the same.
    expect(binding()).toBe(base);
  });

  test('the identity keeps env keys but never a raw secret value', () => {
    const text = JSON.stringify(id('prod', stdio()));
    expect(text).toContain('API_KEY');
    expect(text).not.toContain('secret-1');
    expect(text).not.toContain('sk-live-aaaa');
  });
});
